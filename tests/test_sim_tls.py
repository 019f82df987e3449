"""`micro15118 sim --tls`: our charger and our EV, both under MicroPython,
with TLS 1.3 on the V2G connection, terminated for each board by its host
over the MCU-host link (host/bench/host_side.py), the handshake signatures
made by each board's SE050 model in the wire process.  The evidence is read
back: tshark decrypts the capture with the run's key log, the decrypted
records are the V2GTP messages, nothing on the V2G port is V2GTP in the
clear, each SE050 model signed once per handshake, and the charger's
private key is in no firmware process."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from host.bench.host_side import HostSide, KeyLog, chain_files
from host.bench.linkrun import EVCC_MAIN, SECC_MAIN, LinkBench
from host.bench.sim import ensure_pki
from host.capture import v2glog
from host.pki import se050 as pki_se050


def _sim(out, *args, timeout=180):
    proc = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--out", str(out)] + list(args),
                          capture_output=True, text=True, timeout=timeout)
    return proc, json.loads((out / "result.json").read_text())


@pytest.mark.parametrize("service", ["dc", "ac", "dc_bpt"])
def test_sim_tls_session_passes(tmp_path, service):
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--service", service, "--loops", "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass" and result["reasons"] == [], result["reasons"]
    tls = result["tls"]
    assert tls["problems"] == []
    for role, peer in (("charger", "vehicle"), ("vehicle", "charger")):
        side = tls[role]
        assert side["version"] == "TLSv1.3" and side["suite"] == "TLS_AES_256_GCM_SHA384"
        assert side["group"] == "secp521r1"
        assert side["peer_subjects"][0] == tls[peer]["subject"]
        assert side["peer_subjects"][-1].endswith("CN=V2G Root CA")
        # one handshake, one signature, made by this board's SE050 model
        assert side["handshakes"] == 1 and side["signatures_requested"] == 1
        assert tls["se050"][role]["signatures"] == 1
    assert "CN=DE*M15*E0001" in tls["charger"]["subject"]
    assert tls["charger"]["ocsp_stapled"] is True and tls["vehicle"]["ocsp"] == "good"
    msgs = [json.loads(line) for line in open(out / "messages.jsonl")]
    assert msgs and all(m.get("tls") for m in msgs)
    names = [m["name"] for m in msgs]
    assert names[0] == "supportedAppProtocolReq" and names[-1] == "SessionStopRes", names
    assert tls["messages_decrypted"] == len(msgs)
    # nothing of the session is V2GTP on the wire: without the keys, no message
    assert v2glog.messages(str(out / "wire.pcap")) == []
    for line in (out / "charger.log").read_text().splitlines():
        assert not line.startswith("t=") or " v2gtp_error" not in line


def _v2g_streams(pcap):
    return [(sender, data) for sender, data, _, flow in v2glog._streams(pcap)]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_decrypts_tls13_to_v2gtp_and_sees_none_in_the_clear(tmp_path):
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--service", "dc", "--loops", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pcap, keys = str(out / "wire.pcap"), str(out / "tls-keys.log")
    hello = subprocess.run(["tshark", "-r", pcap, "-Y", "tls.handshake.type == 2", "-T", "fields",
                            "-e", "tls.handshake.extensions.supported_version"],
                           capture_output=True, text=True, timeout=120)
    assert hello.stdout.split() == ["0x0304"], hello.stdout + hello.stderr   # one ServerHello: TLS 1.3
    dump = subprocess.run(["tshark", "-r", pcap, "-o", "tls.keylog_file:" + keys, "-Y", "tls", "-x"],
                          capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    blocks = re.findall(r"Decrypted TLS \((\d+) bytes\):\n((?:[0-9a-f]{4}  .*\n)+)", dump.stdout)
    plain = []
    for _, rows in blocks:
        hexes = "".join(re.findall(r"^[0-9a-f]{4}  ((?:[0-9a-f]{2} ){1,16})", rows, re.M))
        plain.append(bytes.fromhex(hexes.replace(" ", "")))
    v2gtp = [p for p in plain if p[:2] == b"\x01\xfe" and p[2] == 0x80]
    msgs = [json.loads(line) for line in open(out / "messages.jsonl")]
    # every message of messages.jsonl is in a record tshark decrypted (one record each)
    assert len(v2gtp) >= len(msgs) > 20
    assert {p[8:].hex() for p in v2gtp} >= {m["hex"] for m in msgs}
    # and on the wire, the V2G TCP connection carries TLS records only
    streams = _v2g_streams(pcap)
    assert len(streams) == 2
    for sender, data in streams:
        assert data[0] == 0x16 and data[1:3] in (b"\x03\x01", b"\x03\x03"), (sender, data[:8])
        assert not re.search(rb"\x01\xfe\x80[\x01-\x04]\x00\x00", data), sender


def _private_scalar(pki, device, leaf):
    return bytes.fromhex(pki_se050.entry(pki, device, leaf)["key"]["private_key"])


def _memory_has(pid, needle):
    """True if the process's readable memory holds needle."""
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs /proc")
def test_the_leaf_private_keys_are_only_in_the_se050_models(tmp_path):
    pki = ensure_pki(str(tmp_path / "pki"))
    keylog = KeyLog(str(tmp_path / "tls-keys.log"))
    sides = {role: HostSide(role, pki, keylog) for role in ("charger", "vehicle")}
    args = {}
    for role, cert in (("charger", "0x15118180"), ("vehicle", "0x15118280")):
        args[role] = ("--host-link", sides[role].path, "--tls", "1",
                      "--tls-chain", ",".join([cert] + chain_files(pki, role)))
    try:
        with LinkBench(pcap=str(tmp_path / "wire.pcap"), charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN,
                       charger_args=("--sessions", "1") + args["charger"],
                       vehicle_args=("--service", "dc", "--loops", "40") + args["vehicle"],
                       se050={"evse": pki_se050.bundle_path(pki, "charger"),
                              "pev": pki_se050.bundle_path(pki, "vehicle")}) as bench:
            bench.plug()
            bench.charger.wait_event("tls_open", 30)
            bench.vehicle.wait_event("tls_open", 30)
            secc_key = _private_scalar(pki, "charger", "secc_leaf")
            ev_key = _private_scalar(pki, "vehicle", "vehicle_leaf")
            # in the session, TLS up: neither firmware process holds a leaf key
            for fw in (bench.charger, bench.vehicle):
                for key in (secc_key, ev_key):
                    assert not _memory_has(fw.proc.pid, key), fw.name
            # the search finds a key in a MicroPython process that holds one
            from host.bench.linkrun import micropython
            holder = subprocess.Popen([micropython(), "-c", "import time\nk = bytes.fromhex('%s')\n"
                                       "print('ready')\ntime.sleep(20)" % secc_key.hex()],
                                      stdout=subprocess.PIPE, text=True)
            try:
                assert holder.stdout.readline().strip() == "ready"
                assert _memory_has(holder.pid, secc_key)
            finally:
                holder.kill()
                holder.wait()
            # and the hosts never asked for them: one signature each, by object ID
            models = bench.server.se050_models
            assert models["charger"].stats["commands"]["ECDSASign"] == 1
            assert models["vehicle"].stats["commands"]["ECDSASign"] == 1
            assert sides["charger"].info()["key_id"] == "0x15118100"
            bench.vehicle.wait_exit(60)
    finally:
        for s in sides.values():
            s.close()


def test_host_link_lost_mid_session_leaves_no_power(tmp_path):
    out = tmp_path / "run"
    t0 = time.monotonic()
    proc, result = _sim(out, "--tls", "--service", "dc", "--loops", "40", "--pull-host-link-after", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass", result["reasons"]
    h = result["host_lost"]
    assert h["powered_before"] and not h["powered_after"] and not h["contactor_closed_after"]
    assert h["charger_saw_host_lost_ms"] is not None and h["charger_exit"] == 0
    assert h["charger_stopped"] == ["stopped connection_lost"]     # power off, session kept paused
    assert h["charger_exit_s"] < 5
    assert time.monotonic() - t0 < 120
    log = (out / "charger.log").read_text()
    assert re.search(r"^t=\d+ host_lost hangup$", log, re.M), log[-2000:]


def test_a_tls_vehicle_refuses_a_charger_without_tls(tmp_path):
    pki = ensure_pki(str(tmp_path / "pki"))
    side = HostSide("vehicle", pki, KeyLog(str(tmp_path / "keys.log")))
    try:
        with LinkBench(charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN, charger_args=("--sessions", "1"),
                       vehicle_args=("--service", "dc", "--host-link", side.path, "--tls", "1",
                                     "--tls-chain", "0x15118280"),
                       se050={"pev": pki_se050.bundle_path(pki, "vehicle")}) as bench:
            bench.plug()
            assert bench.vehicle.wait_exit(60) == 1
            lines = bench.vehicle.lines
    finally:
        side.close()
    assert any(re.match(r"t=\d+ sdp_refused the charger offers no TLS \(SDP security 0x10\)$", x)
               for x in lines), lines
    assert any("evcc failed sdp_refused: the charger offers no TLS" in x for x in lines), lines
    assert not any(re.match(r"t=\d+ connected", x) for x in lines)


def test_sim_without_tls_is_unchanged(tmp_path):
    out = tmp_path / "run"
    proc, result = _sim(out, "--service", "dc", "--loops", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass" and "tls" not in result and result["asked"]["tls"] is False
    assert not (out / "tls-keys.log").exists()
    msgs = [json.loads(line) for line in open(out / "messages.jsonl")]
    assert msgs and not any(m.get("tls") for m in msgs)
    assert "host_up" not in (out / "charger.log").read_text()


def test_host_lost_in_the_fault_matrix():
    # the virtual-clock matrix runs the cell with TLS on both sides (hostsim.py)
    from host.bench import faults
    assert "host_lost" in faults.FAULTS
    loop = faults.run_cell("host_lost", "ChargeLoop")
    assert loop["passed"], loop
    assert loop["powered"] and loop["ready"]
    # in CableCheck the EV waits patiently: the charger's own supervision of
    # its host link (1 s without a frame) is what cuts the power
    cc = faults.run_cell("host_lost", "CableCheck")
    assert cc["passed"], cc
    assert 1000 <= cc["contactor_open_ms"] <= faults.BOUNDS["host_lost"]


def test_in_process_tls_session_signs_with_the_se050_model():
    from host.bench.sessionsim import SessionSim
    sim = SessionSim(tls=True, loops=3)
    sim.run(10)
    sim.plug()
    assert sim.run(60000, lambda: sim.ev.result is not None)
    assert sim.ev.result[0] == "done", sim.ev.result
    opened = [(who, ev[1]) for _, who, ev in sim.trace if ev[0] == "tls_open"]
    assert opened == [("vehicle", "TLS_AES_256_GCM_SHA384"), ("charger", "TLS_AES_256_GCM_SHA384")]
    for name in ("charger", "vehicle"):
        host = sim.hosts[name]
        assert [h["version"] for h in host.handshakes] == ["TLSv1.3"]
        assert host.se050.stats["commands"]["ECDSASign"] == 1
