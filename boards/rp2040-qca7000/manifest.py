# The Raspberry Pi Pico board's image: MicroPython's rp2 port with one role's
# app frozen (in flash: the RP2040's 264 KB of RAM keep the heap for the
# session), for the upstream build (`make -C ports/rp2 submodules` done; an
# absolute path):
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=$PWD/boards/rp2040-qca7000/manifest.py
# The role: vehicle, as board.json says ("role": "pev"); a manifest that
# includes this one with role="charger" freezes the charger's app.
# On the board: /board.json and /main.py (`micro15118 deploy --frozen`).
options.defaults(role="vehicle")
# the port's own first: _boot.py mounts (and on first boot makes) the flash
# file system, rp2 (PIO), asyncio
include("$(PORT_DIR)/boards/manifest.py")
include("../manifests/%s.py" % options.role)
