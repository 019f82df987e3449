"""`micro15118 sim`: our EVCC and our SECC, both under MicroPython, over the
virtual PLC wire (pilot, SLAC, SDP, TCP, QCA7000 model): complete -20
sessions for every energy service and control mode, EIM.  The command
itself checks that the SoC moved the right way and that the charger's meter
and the EV's energy agree within 1 %; here we also read the message log.
Each side integrates energy on its own clock, so the start and the end of
power transfer differ by about one message latency; 20 charge loops (5 s of
power) keep that well inside 1 % even on a loaded machine."""
import json
import subprocess
import sys

import pytest

CASES = [(s, c, "charge") for s in ("ac", "dc", "ac_bpt", "dc_bpt") for c in ("scheduled", "dynamic")]
CASES += [("ac_bpt", "scheduled", "discharge"), ("dc_bpt", "dynamic", "discharge")]


@pytest.mark.parametrize("service, control, direction", CASES)
def test_sim_session(tmp_path, service, control, direction):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "host.cli", "sim", "--service", service, "--control", control,
         "--direction", direction, "--loops", "20", "--out", str(out)],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("micro15118 sim: ok: SoC"), last
    names = [json.loads(line)["name"] for line in open(out / "messages.jsonl")]
    assert names[0] == "supportedAppProtocolReq" and names[-1] == "SessionStopRes", names
    prefix = "DC_" if service.startswith("dc") else "AC_"
    assert names.count(prefix + "ChargeLoopReq") == 20, names
    if prefix == "DC_":
        for step in ("DC_CableCheckReq", "DC_PreChargeReq", "DC_WeldingDetectionReq"):
            assert step in names
    for f in ("wire.pcap", "charger.log", "vehicle.log"):
        assert (out / f).stat().st_size > 0


def test_sim_cpython_runtime_and_bad_arguments():
    ok = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--runtime", "cpython",
                         "--service", "ac", "--loops", "3"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--service", "dc",
                          "--direction", "discharge"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "micro15118: error: --direction discharge needs an _bpt service"


@pytest.mark.parametrize("ev, charger, service", [("josev", "ours", "dc"), ("ours", "josev", "dc"),
                                                  ("josev", "josev", "ac")])
def test_sim_with_python_iso15118_on_either_end(ev, charger, service):
    from peerenv import require_root
    require_root()
    proc = subprocess.run(
        [sys.executable, "-m", "host.cli", "sim", "--service", service, "--ev", ev,
         "--charger", charger, "--loops", "5"],
        capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("micro15118 sim: ok:"), proc.stdout
