"""The wire process (host/bench/wire_server.py): boards over the socket protocol,
modems on the wire, the cable, bridges, faults and the CLI."""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from host.bench.modem import BROADCAST, LOCALCAST
from host.capture.pcap import read_pcap
from host.bench.wire_server import PP_OPEN, WireServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EV_HOST = bytes.fromhex("020000000e02")
SE_HOST = bytes.fromhex("020000000e01")
NID = bytes.fromhex("026bcba5354e08")
NMK = bytes.fromhex("b59319d7e8157ba001b018669ccee30d")


class FakeChip:
    """Stands in for Qca7000Model with the documented seam: transfer(mosi) ->
    miso, .irq; 'W'+frame writes a frame, 'R'+pad reads the next one."""

    def __init__(self, modem, clock):
        self.modem = modem
        self.clock = clock
        self.rx = []
        self.faults = []

    @property
    def irq(self):
        return 1 if self.rx else 0

    def poll(self, now):
        self.rx.extend(self.modem.to_host)
        self.modem.to_host = []

    def transfer(self, mosi):
        now = int(self.clock() * 1000)
        if mosi[:1] == b"W":
            self.modem.from_host(mosi[1:], now)
            return bytes(len(mosi))
        if mosi[:1] == b"R" and self.rx:
            f = self.rx.pop(0)
            return (struct.pack(">H", len(f)) + f).ljust(len(mosi), b"\0")[:len(mosi)]
        return bytes(len(mosi))

    def inject(self, what):
        self.faults.append(what)


class Board:
    """Minimal lock-step client of the simulated-board protocol."""

    def __init__(self, address, role, mac, name=""):
        self.sock = socket.create_connection(address, timeout=5)
        self.modem_mac = self.call(b"H", role + mac + name.encode())[1]

    def call(self, mtype, payload=b""):
        self.sock.sendall(mtype + struct.pack(">H", len(payload)) + payload)
        hdr = self._recv(3)
        return hdr[0:1], self._recv((hdr[1] << 8) | hdr[2])

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the server")
            buf += chunk
        return buf

    def irq(self):
        t, p = self.call(b"I")
        assert t == b"i" and len(p) == 1
        return p[0]

    def write(self, frame):
        t, p = self.call(b"S", b"W" + frame)
        assert t == b"s" and len(p) == 2 + len(frame)
        return p[0]

    def read(self):
        t, p = self.call(b"S", b"R" + bytes(1600))
        assert t == b"s" and len(p) == 1602
        n = struct.unpack(">H", p[1:3])[0]
        return p[3:3 + n] if n else None

    def frames(self, timeout=2.0, want=1):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            if self.irq():
                f = self.read()
                if f:
                    out.append(f)
            else:
                time.sleep(0.002)
        return out

    def pilot(self):
        t, p = self.call(b"Q")
        assert t == b"q" and len(p) == 10
        return struct.unpack(">hhHI", p)

    def close(self):
        self.sock.close()


@pytest.fixture
def server(tmp_path):
    srv = WireServer(pcap=str(tmp_path / "wire.pcap"), chip_factory=FakeChip, boot_ms=30)
    stop = threading.Event()
    t = threading.Thread(target=srv.run, args=(stop,), daemon=True)
    t.start()
    yield srv
    stop.set()
    srv.stop()
    t.join(5)
    assert not t.is_alive()


def mme(dst, src, mmv, mmtype, payload=b""):
    hdr = dst + src + b"\x88\xe1" + bytes((mmv,)) + struct.pack("<H", mmtype)
    return (hdr + (b"\0\0" if mmv else b"") + payload).ljust(60, b"\0")


def set_key(src):
    return mme(LOCALCAST, src, 1, 0x6008, b"\x01" + bytes(8) + b"\x04" + bytes(4)
               + NID + b"\x01" + NMK)


def test_hello_gives_modem_macs_and_names(server):
    se = Board(server.address, b"E", SE_HOST, "charger")
    ev = Board(server.address, b"V", EV_HOST)
    assert se.modem_mac == bytes.fromhex("00b052000e01")
    assert ev.modem_mac == bytes.fromhex("00b052000e02")
    twin = Board(server.address, b"E", bytes.fromhex("0a0000000e01"), "charger")
    assert twin.modem_mac != se.modem_mac and twin.modem_mac[:3] == b"\x00\xb0\x52"
    st = server.stats()
    assert [c["name"] for c in st["clients"]] == ["charger", "ev", "charger#2"]
    assert [c["cable"] for c in st["clients"]] == [0, 0, 1]
    for b in (se, ev, twin):
        b.close()
    assert server.wait_for(lambda s: not s.clients)


def test_frames_cross_only_when_plugged(server, tmp_path):
    se = Board(server.address, b"E", SE_HOST, "se")
    ev = Board(server.address, b"V", EV_HOST, "ev")
    parm = mme(BROADCAST, EV_HOST, 1, 0x6064, bytes(10))
    ev.write(parm)
    assert se.frames(timeout=0.2) == []           # vehicle modem off the wire
    server.plug()
    ev.write(parm)
    assert se.frames() == [parm]
    cnf = mme(EV_HOST, SE_HOST, 1, 0x6065, bytes(25))
    se.write(cnf)
    assert ev.frames() == [cnf]
    # after SET_KEY on both sides, IPv6 data flows through the AVLN
    for b, host in ((se, SE_HOST), (ev, EV_HOST)):
        b.write(set_key(host))
        (c,) = b.frames()
        assert c[15:17] == b"\x09\x60"
    assert server.wait_for(lambda s: all(c.modem.nid == NID and c.modem.resets == 1
                                         for c in s.clients), 3)
    data = (SE_HOST + EV_HOST + b"\x86\xdd" + b"hello").ljust(60, b"\0")
    ev.write(data)
    assert se.frames() == [data]
    st = server.stats()
    assert [(c["link"], c["resets"]) for c in st["clients"]] == [(1, 1), (1, 1)], st
    server.unplug()
    assert server.wait_for(lambda s: s.client("se").modem.link_status() == 0, 2)
    se.close()
    ev.close()
    recs = read_pcap(str(tmp_path / "wire.pcap"))
    assert parm in [f for _, f in recs] and data in [f for _, f in recs]


def test_pilot_plug_unplug(server):
    se = Board(server.address, b"E", SE_HOST, "se")
    ev = Board(server.address, b"V", EV_HOST, "ev")
    high, low, duty, pp = se.pilot()
    assert (high, duty, pp) == (12000, 1000, PP_OPEN)          # state A, no PWM
    assert se.call(b"P", b"D" + struct.pack(">H", 50)) == (b"p", b"")
    high, low, duty, pp = se.pilot()
    assert abs(high - 12000) < 500 and abs(low + 12000) < 500 and duty == 50
    assert pp == PP_OPEN
    assert ev.pilot() == (12000, 12000, 1000, PP_OPEN)    # no PWM through no cable
    server.plug()
    for b in (se, ev):
        high, low, duty, pp = b.pilot()
        assert 8000 < high < 10000 and duty == 50 and pp == 220     # state B
    assert ev.call(b"P", b"SC") == (b"p", b"")
    assert 5000 < ev.pilot()[0] < 7000                                # state C
    assert server.pilot()[0] == ev.pilot()[0]
    server.unplug()
    high, low, duty, pp = se.pilot()
    assert abs(high - 12000) < 500 and pp == PP_OPEN                  # back to A
    server.plug()
    assert 8000 < ev.pilot()[0] < 10000          # the vehicle starts in B again
    server.set_vehicle_state("D")
    assert 2000 < se.pilot()[0] < 4000
    server.set_duty(1000)                        # test-driven charger end: PWM off
    assert se.pilot()[2] == 1000
    with pytest.raises(ValueError):
        server.set_vehicle_state("Z")
    se.close()
    ev.close()


def test_bad_requests_close_the_connection(server):
    for payload in (b"X\x00\x00", b"S\x00\x01\x00", b"H\x00\x02EV"):
        s = socket.create_connection(server.address, timeout=5)
        s.sendall(payload)
        assert s.recv(10) == b""
        s.close()
    b = Board(server.address, b"V", EV_HOST)
    with pytest.raises(ConnectionError):
        b.call(b"P", b"SX")
    assert server.wait_for(lambda s: s.stats_counters["bad"] == 4)


def test_faults_and_impairments(server):
    se = Board(server.address, b"E", SE_HOST, "se")
    ev = Board(server.address, b"V", EV_HOST, "ev")
    server.plug()
    server.set_impairments(loss=1.0)
    parm = mme(BROADCAST, EV_HOST, 1, 0x6064, bytes(10))
    ev.write(parm)
    assert se.frames(timeout=0.2) == []
    server.set_impairments(loss=0.0)
    ev.write(parm)
    assert se.frames() == [parm]
    server.link_loss("se", 150)
    ev.write(parm)
    assert se.frames(timeout=0.05) == []
    time.sleep(0.2)
    ev.write(parm)
    assert se.frames() == [parm]
    server.reset_modem("ev")
    assert server.client("ev").modem.resets == 1
    assert server.wait_for(lambda s: s.client("ev").modem.ready, 2)
    server.chip_fault("ev", "inject", "wrong_signature")
    assert server.client("ev").chip.faults == ["wrong_signature"]
    with pytest.raises(KeyError):
        server.reset_modem("nobody")
    se.close()
    ev.close()


class FakeDev:
    """A bridge device over a socketpair: the test holds the other end."""

    def __init__(self):
        self.a, self.b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.a.setblocking(False)

    def fileno(self):
        return self.a.fileno()

    def read(self):
        return self.a.recv(2000)

    def write(self, frame):
        self.a.send(frame)

    def close(self):
        self.a.close()


def test_bridge_gets_set_key_and_atten_profiles(server):
    dev = FakeDev()
    server.add_bridge("raw", "br0", role="evse", dev=dev)
    ev = Board(server.address, b"V", EV_HOST, "ev")
    server.plug()
    host = bytes.fromhex("02000000aa01")
    dev.b.settimeout(2)
    dev.b.send(set_key(host))
    cnf = dev.b.recv(2000)
    assert cnf[0:6] == host and cnf[15:17] == b"\x09\x60"
    sound = mme(BROADCAST, EV_HOST, 1, 0x6076, bytes(52))
    ev.write(sound)
    got = [dev.b.recv(2000), dev.b.recv(2000)]
    assert got[0] == sound
    assert got[1][15:17] == b"\x86\x60" and got[1][19:25] == EV_HOST and got[1][25] == 58
    # and back from the bridge to the board
    reply = mme(EV_HOST, host, 1, 0x6065, bytes(25))
    dev.b.send(reply)
    assert ev.frames() == [reply]
    assert server.stats()["bridges"][0]["rx"] == 2
    ev.close()


def test_cli_prints_port_and_takes_commands(tmp_path):
    pcap = tmp_path / "cli.pcap"
    p = subprocess.Popen([sys.executable, "-m", "host.bench.wire_server", "--listen", "127.0.0.1:0",
                          "--pcap", str(pcap), "--plug", "--commands", "--seed", "3"],
                         cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        # the real chip model answers these; only the pilot is checked here
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"H\x00\x07V" + EV_HOST)
        assert s.recv(9) == b"h\x00\x06" + bytes.fromhex("00b052000e02")
        s.sendall(b"Q\x00\x00")
        q = s.recv(13)
        assert q[:3] == b"q\x00\x0a" and 8000 < struct.unpack(">h", q[3:5])[0] < 10000
        p.stdin.write("unplug\n")
        p.stdin.flush()
        time.sleep(0.2)
        s.sendall(b"Q\x00\x00")
        q = s.recv(13)
        assert struct.unpack(">I", q[9:13])[0] == PP_OPEN
        s.close()
        p.stdin.write("quit\n")
        p.stdin.flush()
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
    assert read_pcap(str(pcap)) == []


# -- with the real chip model (host/bench/qca7000_model.py) ------------------------

class SpiHost:
    """Register-level QCA7000 host over the board protocol (burst mode)."""

    def __init__(self, board):
        from micro15118.drivers import qcafrm
        self.b = board
        self.dec = qcafrm.RxDecoder(spi=True)
        self.qcafrm = qcafrm

    def spi(self, mosi):
        t, p = self.b.call(b"S", mosi)
        assert t == b"s" and len(p) == len(mosi) + 1
        return p[0], p[1:]

    def reg(self, addr, value=None):
        if value is None:
            _, miso = self.spi(struct.pack(">HH", 0xC000 | addr, 0))
            return struct.unpack(">H", miso[2:4])[0]
        self.spi(struct.pack(">HH", 0x4000 | addr, value))

    def sync(self, timeout=2.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.b.irq() and self.reg(0x1A00) == 0xAA55 and self.reg(0x1A00) == 0xAA55:
                cause = self.reg(0x0C00)
                self.reg(0x0C00, cause)                 # write-to-clear
                self.reg(0x0D00, 0x0047)                # PKT_AVLBL, errors, CPU_ON
                return cause
            time.sleep(0.002)
        raise AssertionError("chip never came up")

    def send(self, frame):
        enc = self.qcafrm.encode(frame)
        assert self.reg(0x0200) >= len(enc) + 4
        self.reg(0x0100, len(enc))
        self.spi(b"\x00\x00" + enc)

    def recv(self, timeout=2.0, want=1):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            if not self.b.irq():
                time.sleep(0.002)
                continue
            cause = self.reg(0x0C00)
            self.reg(0x0C00, cause)
            n = self.reg(0x0300)
            if n:
                self.reg(0x0100, n)
                _, miso = self.spi(b"\x80\x00" + bytes(n))
                out.extend(self.dec.feed(miso[2:]))
        return out


def test_two_boards_through_real_chip_models(tmp_path):
    srv = WireServer(pcap=str(tmp_path / "w.pcap"), boot_ms=30, seed=1)
    stop = threading.Event()
    t = threading.Thread(target=srv.run, args=(stop,), daemon=True)
    t.start()
    try:
        se = SpiHost(Board(srv.address, b"E", SE_HOST, "se"))
        ev = SpiHost(Board(srv.address, b"V", EV_HOST, "ev"))
        assert se.sync() & 0x0040 and ev.sync() & 0x0040          # CPU_ON
        srv.plug()
        sound = mme(BROADCAST, EV_HOST, 1, 0x6076, bytes(52))
        ev.send(sound)
        got = se.recv(want=2)
        assert got[0] == sound
        assert got[1][15:17] == b"\x86\x60" and got[1][25] == 58     # ATTEN_PROFILE.IND
        # SET_KEY on both: CNF, then the modem restarts (CPU_ON again)
        for h, host in ((se, SE_HOST), (ev, EV_HOST)):
            h.send(set_key(host))
            (cnf,) = h.recv()
            assert cnf[15:17] == b"\x09\x60" and cnf[19] == 0
        assert srv.wait_for(lambda s: all(c.modem.resets == 1 and c.modem.ready
                                          for c in s.clients), 3)
        assert se.sync() & 0x0040 and ev.sync() & 0x0040
        data = (EV_HOST + SE_HOST + b"\x86\xdd" + bytes(range(200))).ljust(300, b"\0")
        se.send(data)
        assert ev.recv() == [data]
        # a chip fault through the server: a bad signature read
        srv.chip_fault("ev", "inject_bad_signature", 1)
        assert ev.reg(0x1A00) == 0x5AA5 and ev.reg(0x1A00) == 0xAA55
        # modem reset through the server shows as CPU_ON on the chip
        srv.reset_modem("se")
        assert se.sync() & 0x0040
        st = srv.stats()
        assert [c["resets"] for c in st["clients"]] == [2, 1]
    finally:
        stop.set()
        srv.stop()
        t.join(5)
    frames = [f for _, f in read_pcap(str(tmp_path / "w.pcap"))]
    assert sound in frames and data in frames


# -- real bridges (root: veth pairs and TAP devices) --------------------------

def _hpav_frames(raw, want, timeout=3.0):
    """HomePlug frames arriving on a RawSocket (kernel IPv6 chatter is ignored)."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        if raw.readable(0.05):
            f = raw.read()
            if f and f[12:14] == b"\x88\xe1":
                out.append(f)
    return out


def _bridge_round_trip(server, host_io, host_mac):
    ev = Board(server.address, b"V", EV_HOST, "ev")
    server.plug()
    host_io.write(set_key(host_mac))
    (cnf,) = _hpav_frames(host_io, 1)
    assert cnf[0:6] == host_mac and cnf[15:17] == b"\x09\x60"
    assert server.wait_for(lambda s: s.bridges[0].modem.resets == 1 and s.bridges[0].modem.ready)
    sound = mme(BROADCAST, EV_HOST, 1, 0x6076, bytes(52))
    ev.write(sound)
    snd, prof = _hpav_frames(host_io, 2)
    assert snd == sound
    assert prof[15:17] == b"\x86\x60" and prof[0:6] == host_mac and prof[25] == 58
    cnf = mme(EV_HOST, host_mac, 1, 0x6065, bytes(25))
    host_io.write(cnf)
    assert ev.frames() == [cnf]
    ev.close()


def test_raw_bridge_on_a_veth_pair(server):
    from host.peers import tap
    assert os.geteuid() == 0, "veth bridges need root"
    a, b = tap.veth_create()
    try:
        tap.link_up(a, dad=False)
        tap.link_up(b, dad=False)
        server.add_bridge("raw", a, role="evse")
        with tap.RawSocket(b) as host_io:     # where pyslac would sit
            _bridge_round_trip(server, host_io, tap.mac_of(b))
    finally:
        tap.link_delete(a)


def test_tap_bridge(server):
    from host.peers import tap
    assert os.geteuid() == 0, "TAP bridges need root"
    name = tap.unique_name("m15ws")
    server.add_bridge("tap", name, role="evse")
    # the kernel side of the TAP is the modem's host
    with tap.RawSocket(name) as host_io:
        _bridge_round_trip(server, host_io, tap.mac_of(name))
    server.remove_bridge(name)
    assert server.stats()["bridges"] == []


def test_crosstalk_attenuation_per_path(server):
    se1 = Board(server.address, b"E", SE_HOST, "se1")
    se2 = Board(server.address, b"E", bytes.fromhex("020000000e03"), "se2")
    ev = Board(server.address, b"V", EV_HOST, "ev")
    server.plug(0)
    server.set_atten("ev", 12)
    server.set_path_atten("ev", "se2", 70)       # the neighbour's cable hears little
    ev.write(mme(BROADCAST, EV_HOST, 1, 0x6076, bytes(52)))
    profiles = {}
    for name, b in (("se1", se1), ("se2", se2)):
        snd, prof = b.frames(want=2)
        assert prof[15:17] == b"\x86\x60"
        profiles[name] = sum(prof[27:85]) / 58
    assert abs(profiles["se1"] - 20) < 1.5       # worse of the two ports: 20 dB
    assert abs(profiles["se2"] - 70) < 1.5
    assert server.stats()["cables"][1]["charger"] == "se2"
    for b in (se1, se2, ev):
        b.close()
