# The emulated board's image (boards/qemu-m3, port qemu-m3-fs in
# host/firmware/ports.py): stock MicroPython with none of our firmware
# frozen, plus the RAM-disk driver its file system lives on (a real port
# freezes its flash driver the same way).  `micro15118 deploy` copies the
# firmware onto that file system as .mpy files.
module("ramdisk.py")
