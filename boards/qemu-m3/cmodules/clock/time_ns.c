// littlefs (extmod/vfs_lfs.c) stamps each file it writes with
// mp_hal_time_ns(); MicroPython's qemu port has no wall clock and so no such
// function.  The emulated board's files carry the port's uptime instead: its
// clock starts at the Epoch when the emulator starts.
#include "py/mphal.h"

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_ms() * 1000000ULL;
}
