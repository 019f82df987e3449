"""pcap files and the virtual PLC wire (host/capture/pcap.py, host/bench/plc_wire.py)."""
import io
import os
import subprocess

import pytest

from host.capture.pcap import PcapWriter, read_pcap
from host.bench.plc_wire import PlcWire

TSHARK = "/usr/bin/tshark"


def frame(i, ethertype=b"\x88\xe1", size=60):
    body = b"\xff" * 6 + bytes((2, 0, 0, 0, 0, i & 0xFF)) + ethertype + i.to_bytes(4, "big")
    return body + bytes(size - len(body))


class Port:
    def __init__(self, nid=None):
        self.got = []
        self.nid = nid

    def from_wire(self, frame, nid, atten_db, now):
        self.got.append((now, frame, nid, atten_db))


# -- pcap ------------------------------------------------------------------

def test_pcap_round_trip_file(tmp_path):
    path = tmp_path / "a.pcap"
    frames = [frame(i, size=60 + i) for i in range(5)]
    with PcapWriter(str(path)) as w:
        for i, f in enumerate(frames):
            w.write(f, ts=1700000000.25 + i * 0.000001)
    got = read_pcap(str(path))
    assert [f for _, f in got] == frames
    for i, (ts, _) in enumerate(got):
        assert abs(ts - (1700000000.25 + i * 0.000001)) < 2e-6
    raw = path.read_bytes()
    assert raw[:4] == bytes.fromhex("d4c3b2a1")          # LE microsecond magic
    assert int.from_bytes(raw[20:24], "little") == 1     # LINKTYPE_ETHERNET


def test_pcap_file_object_flushes_each_frame():
    buf = io.BytesIO()
    w = PcapWriter(buf)
    w.write(frame(1), ts=10.5)
    # readable before close: the header and the record are already there
    got = read_pcap(io.BytesIO(buf.getvalue()))
    assert got == [(10.5, frame(1))]
    w.write(frame(2), ts=11.0)
    assert len(read_pcap(io.BytesIO(buf.getvalue()))) == 2
    w.close()
    with pytest.raises(ValueError):
        w.write(frame(3))


def test_pcap_rejects_garbage_and_truncation(tmp_path):
    with pytest.raises(ValueError):
        read_pcap(io.BytesIO(b"not a pcap at all, really not"))
    buf = io.BytesIO()
    PcapWriter(buf).write(frame(1), ts=1.0)
    with pytest.raises(ValueError):
        read_pcap(io.BytesIO(buf.getvalue()[:-3]))


def test_pcap_timestamp_rounding_carries():
    buf = io.BytesIO()
    PcapWriter(buf).write(frame(1), ts=5.9999999)
    (ts, _), = read_pcap(io.BytesIO(buf.getvalue()))
    assert ts == 6.0


def test_tshark_reads_the_wire_pcap(tmp_path):
    assert os.path.exists(TSHARK), "tshark is a prerequisite of this test"
    path = tmp_path / "wire.pcap"
    wire = PlcWire(pcap=str(path))
    a, b = Port(), Port()
    wire.attach(a)
    wire.attach(b)
    # a VS_SW_VER.REQ (MMV 0, 0xA000, OUI 00B052) and a CM_SLAC_PARM.REQ
    sw = b"\x00\xb0\x52\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x01" + bytes.fromhex("88e10000a000b052")
    parm = (b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x02" + bytes.fromhex("88e1016460" "0000")
            + b"\x00\x00" + bytes(range(8)))
    wire.transmit(a, sw.ljust(60, b"\0"), None, 1000)
    wire.transmit(b, parm.ljust(60, b"\0"), None, 1020)
    wire.close()
    out = subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "eth.type",
                          "-e", "homeplug_av.mmhdr.mmtype", "-e", "homeplug_av.mmhdr.mmtype.qualcomm"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [ln.split("\t") for ln in out.stdout.strip().splitlines()]
    assert len(lines) == 2
    assert all(ln[0] == "0x88e1" for ln in lines)
    assert [int(ln[1] or ln[2], 16) for ln in lines] == [0xA000, 0x6064]
    ts = [t for t, _ in read_pcap(str(path))]
    assert abs((ts[1] - ts[0]) - 0.020) < 1e-5     # wire ms become pcap time


# -- wire ------------------------------------------------------------------

def test_shared_medium_deferred_delivery():
    wire = PlcWire()
    a, b, c = Port(), Port(), Port()
    for p in (a, b, c):
        wire.attach(p, atten_db=15)
    wire.transmit(a, frame(1), b"N" * 7, 100)
    assert b.got == [] and c.got == []              # nothing until poll
    assert wire.next_deadline() == 100
    assert wire.poll(100) == 2
    assert a.got == []
    assert b.got == [(100, frame(1), b"N" * 7, 15)]
    assert c.got == [(100, frame(1), b"N" * 7, 15)]
    assert wire.next_deadline() is None
    assert wire.counters["tx"] == 1 and wire.counters["delivered"] == 2


def test_attenuation_worse_of_the_two_and_path_override():
    wire = PlcWire()
    ev, evse1, evse2 = Port(), Port(), Port()
    wire.attach(ev, atten_db=10)
    wire.attach(evse1, atten_db=12)
    wire.attach(evse2, atten_db=12)
    wire.set_path_atten(ev, evse2, 65)              # crosstalk to the other cable
    wire.transmit(ev, frame(1), None, 0)
    wire.poll(0)
    assert evse1.got[0][3] == 12 and evse2.got[0][3] == 65
    wire.set_path_atten(ev, evse2, None)
    assert wire.path_atten(ev, evse2) == 12


def run_traffic(seed, n=2000, **imp):
    wire = PlcWire(seed=seed, **imp)
    a, b = Port(), Port()
    wire.attach(a)
    wire.attach(b)
    for i in range(n):
        wire.transmit(a, frame(i), None, i)
        wire.poll(i)
    wire.poll(n + 10000)
    return wire, [f[14:18] for _, f, _, _ in b.got], b


def test_loss_is_seeded_and_within_tolerance():
    w1, got1, _ = run_traffic(7, loss=0.3)
    w2, got2, _ = run_traffic(7, loss=0.3)
    w3, got3, _ = run_traffic(8, loss=0.3)
    assert got1 == got2                              # deterministic per seed
    assert got1 != got3
    assert 0.25 * 2000 < w1.counters["lost"] < 0.35 * 2000
    assert len(got1) == 2000 - w1.counters["lost"]


def test_duplication_counts():
    w, got, _ = run_traffic(3, dup=0.2)
    assert 0.15 * 2000 < w.counters["dup"] < 0.25 * 2000
    assert len(got) == 2000 + w.counters["dup"]
    assert len(set(got)) == 2000


def test_delay_holds_frames_until_due():
    wire = PlcWire(delay_ms=(10, 30), seed=1)
    a, b = Port(), Port()
    wire.attach(a)
    wire.attach(b)
    for i in range(100):
        wire.transmit(a, frame(i), None, 1000)
    assert wire.poll(1009) == 0
    dl = wire.next_deadline()
    assert 1010 <= dl <= 1030
    for now in range(1010, 1031):
        wire.poll(now)
    assert len(b.got) == 100
    assert {t for t, _, _, _ in b.got} <= set(range(1010, 1031))
    assert len({t for t, _, _, _ in b.got}) > 5      # spread over the window


def test_reorder_changes_order_only_when_enabled():
    _, got, _ = run_traffic(5, delay_ms=(0, 0))
    assert got == sorted(got)
    w, got, b = run_traffic(5, reorder=0.1)
    assert sorted(got) == sorted(set(got)) and len(got) == 2000
    assert got != sorted(got)
    assert 0.05 * 2000 < w.counters["reordered"] < 0.15 * 2000


def test_impairments_switch_at_runtime():
    wire = PlcWire(seed=2)
    a, b = Port(), Port()
    wire.attach(a)
    wire.attach(b)
    wire.set_impairments(loss=1.0)
    for i in range(20):
        wire.transmit(a, frame(i), None, i)
    wire.poll(100)
    assert b.got == [] and wire.counters["lost"] == 20
    wire.set_impairments(loss=0.0)
    wire.transmit(a, frame(99), None, 200)
    wire.poll(200)
    assert len(b.got) == 1
    with pytest.raises(ValueError):
        wire.set_impairments(loss=1.5)
    with pytest.raises(ValueError):
        wire.set_impairments(delay_ms=(5, 1))


def test_pcap_gets_each_transmitted_frame_once_even_if_lost():
    buf = io.BytesIO()
    wire = PlcWire(pcap=PcapWriter(buf), loss=1.0, pcap_epoch=1000.0)
    a, b, c = Port(), Port(), Port()
    for p in (a, b, c):
        wire.attach(p)
    wire.transmit(a, frame(1), None, 500)
    wire.poll(1000)
    recs = read_pcap(io.BytesIO(buf.getvalue()))
    assert recs == [(1000.5, frame(1))]


def test_detach_drops_queued_copies_and_members():
    wire = PlcWire(delay_ms=(5, 5))
    nid = bytes(7)
    a, b, c = Port(nid), Port(nid), Port(None)
    for p in (a, b, c):
        wire.attach(p)
    assert wire.members(nid) == [a, b]
    assert wire.members(None) == []
    wire.transmit(a, frame(1), nid, 0)
    wire.detach(b)
    wire.poll(10)
    assert b.got == [] and len(c.got) == 1
    assert wire.members(nid) == [a]
