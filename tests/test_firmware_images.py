# The images micro15118 firmware build makes: the charger app imports from
# the 32-bit unix image's frozen modules alone, and the Cortex-M3 image boots
# under qemu and runs the frozen EXI codec with its frozen grammar tables.  A
# missing or stale image is built first (a few seconds once the MicroPython
# tree is built: .ci/run does that); a build that fails fails the test.
import os
import pathlib
import subprocess
import sys

import pytest

from host.firmware import build, check, qemu, source
from host.firmware.ports import PORTS

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "firmware" / "micro15118", ROOT / "boards" / "manifests"]



def newest_source():
    # the simulation is in no image: its changes leave the images current
    sim = ROOT / "firmware" / "micro15118" / "sim"
    return max(p.stat().st_mtime for d in SOURCES for p in d.rglob("*.py") if sim not in p.parents)


def require_source():
    """The MicroPython source the builds need.  Where there is none and the
    upstream release cannot be fetched (a machine without network to it), the
    image tests cannot run at all: they say so as skipped, with the reason;
    every other build failure fails them."""
    try:
        source.source_tree(str(ROOT), None, lambda *words: None)
    except source.SourceUnavailable as e:
        pytest.skip(str(e))


def image(port_name, role="charger"):
    """The image's path, built first when it is missing or older than the
    firmware or the manifests."""
    path = PORTS[port_name].image(str(ROOT), role)
    if os.path.isfile(path) and os.path.getmtime(path) >= newest_source():
        return path
    require_source()
    command = ["firmware", "build", "--port", port_name, "--role", role, "--no-check"]
    r = subprocess.run([sys.executable, "-m", "host.cli"] + command, cwd=ROOT, timeout=1200,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not os.path.isfile(path):
        pytest.fail("`micro15118 %s` failed (%d):\n%s" % (" ".join(command), r.returncode,
                                                           r.stdout[-4000:]))
    return path


def test_unix32_charger_app_imports_frozen_only():
    ok, out = check.run_unix(image("unix32"), "import micro15118.secc_main\n"
                                               "print(micro15118.secc_main.__name__)")
    assert ok, out
    assert out.strip() == "micro15118.secc_main"


def test_unix32_simulation_is_not_frozen():
    ok, out = check.run_unix(image("unix32"), "import micro15118\nimport micro15118.sim")
    assert not ok and check.SIM_REFUSED in out, out


def test_qemu_m3_boots_and_runs_the_frozen_exi_codec():
    r = qemu.run(image("qemu-m3"), "import sys\nprint(sys.implementation._machine)\n" + check.ROUND_TRIP,
                 machine=PORTS["qemu-m3"].machine, timeout=60)
    assert r.ok, r.output + r.error
    machine, result = r.output.strip().splitlines()
    assert "Cortex-M3" in machine
    assert result == "37 bytes"      # the frozen codec encoded and decoded it back


# Every service in both control modes, SECC and EVCC in one heap (the
# session script frozen with the whole package: tools/mp/manifest_bench.py).
SESSIONS = """
import secc_timing
for service in ('ac', 'dc', 'ac_bpt', 'dc_bpt'):
    for control in ('scheduled', 'dynamic'):
        direction = 'discharge' if service.endswith('bpt') else 'charge'
        print('SESSION', service, control, direction)
        secc_timing.main([service, control, direction, '3'])
"""


def test_qemu_m3_runs_every_in_process_session_to_the_end():
    require_source()
    elf = build.current_image(str(ROOT), PORTS["qemu-m3"], "bench",
                              str(ROOT / "tools" / "mp" / "manifest_bench.py"),
                              [str(ROOT / "firmware" / "micro15118"), str(ROOT / "tools" / "mp")],
                              print)
    r = qemu.run(elf, SESSIONS, machine=PORTS["qemu-m3"].machine, timeout=300)
    assert r.ok, r.output[-2000:] + r.error
    sessions = r.output.split("SESSION ")[1:]
    assert len(sessions) == 8, r.output[-2000:]
    for s in sessions:
        name = s.splitlines()[0]
        assert "RESULT ('done', 'Terminate: 3 loops done')" in s, (name, s[-600:])
