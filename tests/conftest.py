"""Make firmware modules and firmware tests importable on CPython.

Firmware code imports its modules top-level (``import exi``), exactly as on
the board, so ``<repo>/firmware`` and ``tests/firmware`` go on sys.path.
"""

import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS_DIR)

for _path in (os.path.join(TESTS_DIR, "firmware"), os.path.join(REPO, "firmware")):
    if _path in sys.path:
        sys.path.remove(_path)
    sys.path.insert(0, _path)


def pytest_sessionstart(session):
    # The MicroPython codec tests compare against messages decoded here.
    import vectors
    vectors.write_fixture()
