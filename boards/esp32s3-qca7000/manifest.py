# The ESP32-S3 board's image: MicroPython's esp32 port with one role's app
# frozen (in flash: no heap for the code, nothing to copy), for the upstream
# build (ESP-IDF set up, `make submodules` done; an absolute path):
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=$PWD/boards/esp32s3-qca7000/manifest.py
# The role: charger, as board.json says ("role": "evse"); a manifest that
# includes this one with role="vehicle" freezes the vehicle's app.
# On the board: /board.json and /main.py (`micro15118 deploy --frozen`).
options.defaults(role="charger")
# the port's own first: _boot.py and inisetup.py mount (and on first boot
# make) the flash file system, asyncio, the networking bundle
include("$(PORT_DIR)/boards/manifest.py")
include("../manifests/%s.py" % options.role)
