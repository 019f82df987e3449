# The emulated board's file system: littlefs on a RAM disk.
#
# MicroPython's qemu port (MPS2-AN385) keeps its code, data, heap and stack
# in the 4 MiB SSRAM1 at 0x00000000 and leaves SSRAM2/3 (4 MiB at
# 0x20000000) unused: the disk lives there, outside the heap, so it survives
# a soft reset (which mpremote does before every command) and is lost when
# the emulator stops.  The port mounts nothing and runs no boot.py: the host
# calls mount() after each soft reset, as a real port's _boot.py mounts its
# flash at boot; `micro15118 deploy` calls mount(format=True) first.
# A real board keeps its files in flash and needs none of this.
import sys

import uctypes
import vfs

BASE = 0x20000000
SIZE = 2 * 1024 * 1024
BLOCK = 1024


class RamDisk:
    """A block device (the extended interface littlefs uses) over RAM."""

    def __init__(self, base=BASE, size=SIZE, block=BLOCK):
        self.mem = memoryview(uctypes.bytearray_at(base, size))
        self.block = block
        self.count = size // block

    def readblocks(self, n, buf, off=0):
        a = n * self.block + off
        buf[:] = self.mem[a:a + len(buf)]

    def writeblocks(self, n, buf, off=0):
        a = n * self.block + off
        self.mem[a:a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:         # block count
            return self.count
        if op == 5:         # block size
            return self.block
        return 0            # init, deinit, sync; erase: nothing to do in RAM


def mount(format=False):
    """Mount the disk at / (formatted first when asked) and put /lib on
    sys.path, where a real port has it."""
    disk = RamDisk()
    if format:
        vfs.VfsLfs2.mkfs(disk)
    vfs.mount(vfs.VfsLfs2(disk), "/")
    import os
    os.chdir("/")
    if "/lib" not in sys.path:
        sys.path.append("/lib")
