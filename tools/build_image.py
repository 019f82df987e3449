"""Build a MicroPython image with one role's manifest frozen: a front end of
``micro15118 firmware build`` (host/cli/firmware.py, host/firmware/).

    python tools/build_image.py charger|vehicle|link|all [--port unix32|unix64|qemu-m3|qemu-m7]
        [--micropython DIR] [--manifest FILE] [--bare] [--jobs N] [--no-check]
"""
import sys

from host.cli import main

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    sys.exit(main(["firmware", "build", "--role", sys.argv[1]] + sys.argv[2:]))
