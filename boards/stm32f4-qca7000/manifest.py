# An STM32F4 board's image: MicroPython's stm32 port with one role's app
# frozen, for the upstream build (`make -C ports/stm32 submodules` done; an
# absolute path), e.g. the NUCLEO-F429ZI (2 MB flash, 192 KB RAM):
#   make -C ports/stm32 BOARD=NUCLEO_F429ZI FROZEN_MANIFEST=$PWD/boards/stm32f4-qca7000/manifest.py
# Any STM32F4 board with 1 MB of flash or more takes it (the app adds about
# 150 KB to the image); the port's default manifest is included, which is
# also what NUCLEO_F429ZI's own manifest starts with (it adds the networking
# bundle; include "$(BOARD_DIR)/manifest.py" instead to keep that).
# The role: charger; a manifest that includes this one with role="vehicle"
# freezes the vehicle's app.  No pin map (board.json) yet: write one from
# your schematic (boards/README.md, keys as the other MCU boards).
options.defaults(role="charger")
# the port's own first (asyncio; the stm32 port mounts its flash file system in C)
include("$(PORT_DIR)/boards/manifest.py")
include("../manifests/%s.py" % options.role)
