"""micro15118 host tools (CPython side).

Firmware modules (``firmware/exi`` and friends) are written for MicroPython
and import each other as top-level modules (``import exi``).  To share that
code on CPython, importing ``host`` puts ``<repo>/firmware`` at the front of
``sys.path``.  This relies on the repository checkout being present, i.e. an
editable install (``pip install -e .``).
"""

import os
import sys

__version__ = "0.1.0"

FIRMWARE_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware"
)

if FIRMWARE_DIR in sys.path:
    sys.path.remove(FIRMWARE_DIR)
sys.path.insert(0, FIRMWARE_DIR)
