"""Fuzz the host-side link models: the modem firmware model, the wire
server's board protocol (with the chip model behind it) and the pcap reader.

modem  mutants of MMEs and data frames go to Modem.from_host and, with a
       random NID and attenuation, to Modem.from_wire of a pair of modems on
       a PlcWire whose timers keep running.  "rejected": counted in
       `.dropped`; "accepted": anything else.  Unexpected: an exception, or a
       frame for a host that is shorter than 60 bytes.
board  mutated request streams (hello, SPI transfers, IRQ, pilot set/read)
       go to WireServer._feed for a fresh board (no socket): "accepted" when
       the stream was served, "rejected" when the server refused it
       (ProtocolError).  Unexpected: any other exception inside the server
       (counted in stats "errors") or a reply that breaks the framing.
pcap   mutated capture files go to read_pcap: a list or ValueError.
"""
import io
import struct

from micro15118.drivers import qcafrm

from host.bench import wire_server
from host.bench.modem import BROADCAST, LOCALCAST, Modem
from host.bench.plc_wire import PlcWire
from host.capture.pcap import PcapWriter, read_pcap

from ..homeplug import mme
from . import runner
from .mutate import (append_random, delete_run, flip_bit, mutate, random_byte, set_byte, set_mmtype, set_mmv,
                     splice, truncate)

EV_HOST = bytes.fromhex("020000000e02")
SE_HOST = bytes.fromhex("020000000e01")
EV_MODEM = bytes.fromhex("00b052000e02")
SE_MODEM = bytes.fromhex("00b052000e01")
NID = bytes.fromhex("026bcba5354e08")
NMK = bytes.fromhex("b59319d7e8157ba001b018669ccee30d")
MMTYPES = (0x6008, 0x6009, 0x6064, 0x6065, 0x606A, 0x606E, 0x606F, 0x6076, 0x6078,
           0x607C, 0x607D, 0x6086, 0xA000, 0xA001, 0xA01C, 0xA01D, 0xA0B8, 0xA0B9)

BYTE_OPS = (flip_bit, random_byte, truncate, append_random((1, 4, 64, 1600)), splice, delete_run(16),
            set_byte((0x00, 0x01, 0x7F, 0x80, 0xFF)))
OPS = BYTE_OPS + (set_mmtype(MMTYPES), set_mmv())


def frame_seeds():
    vs = b"\x00\xb0\x52"
    set_key = b"\x01" + b"\xaa" * 4 + bytes(4) + b"\x04" + bytes(4) + NID + b"\x01" + NMK
    return [
        mme(LOCALCAST, SE_HOST, 1, 0x6008, set_key),
        mme(BROADCAST, EV_HOST, 1, 0x6008, set_key),
        mme(LOCALCAST, SE_HOST, 0, 0xA000, vs),
        mme(BROADCAST, EV_HOST, 0, 0xA000, vs),
        mme(SE_MODEM, SE_HOST, 0, 0xA0B8, vs),
        mme(LOCALCAST, SE_HOST, 0, 0xA01C, vs),
        mme(EV_HOST, SE_MODEM, 0, 0xA001, vs + b"\x00\x22\x05TEST\x00"),
        mme(BROADCAST, EV_HOST, 1, 0x6064, bytes(10)),
        mme(EV_HOST, SE_HOST, 1, 0x6065, bytes(25)),
        mme(BROADCAST, EV_HOST, 1, 0x6076, bytes(52)),
        mme(SE_HOST, SE_MODEM, 1, 0x6086, EV_HOST + b"\x3a\x00" + bytes(58)),
        (SE_HOST + EV_HOST + b"\x86\xdd" + bytes(100)),
        (bytes.fromhex("333300000001") + EV_HOST + b"\x86\xdd" + bytes(60)),
        (BROADCAST + SE_HOST + b"\x08\x06" + bytes(46)),
    ]


# -- modem -------------------------------------------------------------------

class ModemTarget:
    ops = OPS

    def __init__(self, rnd):
        self.rnd = rnd
        self.seeds = frame_seeds()
        self.now = 0
        self._new()

    def _new(self):
        self.wire = PlcWire(seed=self.rnd.randrange(1 << 30), delay_ms=(0, 3), dup=0.05)
        self.se = Modem(SE_MODEM, "evse", self.wire, host_mac=SE_HOST, boot_ms=5,
                        restart_delay_ms=2, seed=1)
        self.ev = Modem(EV_MODEM, "pev", self.wire, host_mac=EV_HOST, boot_ms=5,
                        restart_delay_ms=2, seed=2)
        self.count = 0

    def one(self, data):
        """-> True accepted, False rejected; raises on anything unexpected."""
        rnd = self.rnd
        if self.count > 2000:                   # keep the state space moving
            self._new()
        self.count += 1
        m = rnd.choice((self.se, self.ev))
        before = m.dropped
        if rnd.random() < 0.5:
            m.from_host(data, self.now)
        else:
            nid = rnd.choice((None, NID, m.key_nid, data[:7]))
            m.from_wire(data, nid, rnd.choice((0, 20, 90, 300, -5)), self.now)
        if rnd.random() < 0.05:
            rnd.choice((m.reset, m.forget_key))(self.now)
        if rnd.random() < 0.02:
            m.link_loss(rnd.randrange(20), self.now)
        self.now += rnd.randrange(3)
        for x in (self.se, self.ev):
            x.poll(self.now)
        self.wire.poll(self.now)
        for x in (self.se, self.ev):
            for f in x.to_host:
                if len(f) < 60:
                    raise AssertionError("short frame to host: %s" % f.hex())
            x.to_host = []
            x.link_status()
        return m.dropped == before

    def close(self):
        pass


# -- board protocol ----------------------------------------------------------

class _NullSock:
    def close(self):
        pass


def req(t, payload=b""):
    return t + struct.pack(">H", len(payload)) + payload


def board_seeds():
    hello_e = req(b"H", b"E" + SE_HOST + b"se")
    hello_v = req(b"H", b"V" + EV_HOST)
    frame = mme(BROADCAST, EV_HOST, 1, 0x6064, bytes(10))
    enc = qcafrm.encode(frame)
    spi = [
        req(b"S", struct.pack(">HH", 0xDA00, 0)),                  # SIGNATURE
        req(b"S", struct.pack(">HH", 0xCC00, 0)),                  # INTR_CAUSE
        req(b"S", struct.pack(">HH", 0x4C00, 0x0040)),             # clear CPU_ON
        req(b"S", struct.pack(">HH", 0x4D00, 0x0047)),             # INTR_ENABLE
        req(b"S", struct.pack(">HH", 0xC200, 0)),                  # WRBUF_SPC_AVA
        req(b"S", struct.pack(">HH", 0x4100, len(enc))) + req(b"S", b"\x00\x00" + enc),
        req(b"S", struct.pack(">HH", 0xC300, 0)),                  # RDBUF_BYTE_AVA
        req(b"S", struct.pack(">HH", 0x4100, 80)) + req(b"S", b"\x80\x00" + bytes(80)),
        req(b"S", b"\xda\x00") + req(b"S", b"\x00\x00"),           # legacy mode read
        req(b"S", struct.pack(">HH", 0x4400, 0x0040)),             # soft reset
        req(b"I"),
        req(b"Q"),
    ]
    seeds = [hello_e + req(b"P", b"D\x00\x32") + b"".join(spi),
             hello_v + req(b"P", b"SC") + b"".join(spi),
             hello_e + req(b"S", b"\x00\x00" + enc[:20])]
    return seeds


class BoardTarget:
    ops = OPS

    def __init__(self, rnd):
        self.rnd = rnd
        self.server = wire_server.WireServer(boot_ms=2, seed=rnd.randrange(1 << 30))
        self.server.trace_errors = False
        self.clock_ms = 0
        self.server.clock = lambda: self.clock_ms / 1000.0
        self.seeds = board_seeds()

    def one(self, data):
        srv = self.server
        c = wire_server.Client(_NullSock(), ("fuzz", 0))
        srv.clients.append(c)
        errors = srv.stats_counters["errors"]
        rnd = self.rnd
        try:
            if rnd.random() < 0.3:                 # split the stream like TCP would
                ok = True
                i = 0
                while ok and i < len(data):
                    j = i + rnd.randrange(1, 64)
                    ok = srv._feed(c, data[i:j])
                    i = j
                    self.clock_ms += rnd.randrange(3)
                    srv._tick(srv.now())
            else:
                ok = srv._feed(c, data)
            if rnd.random() < 0.2:
                rnd.choice((srv.plug, srv.unplug))()
            self.clock_ms += rnd.randrange(5)
            srv._tick(srv.now())
            if srv.stats_counters["errors"] != errors:
                raise AssertionError("server error (see stderr)")
            out = bytes(c.outbuf)
            i = 0
            while i < len(out):               # replies must be well framed
                if i + 3 > len(out):
                    raise AssertionError("torn reply")
                i += 3 + ((out[i + 1] << 8) | out[i + 2])
            if i != len(out):
                raise AssertionError("reply overruns")
            return ok
        finally:
            srv._drop_client(c)

    def close(self):
        self.server.close()


# -- pcap --------------------------------------------------------------------

class PcapTarget:
    ops = BYTE_OPS

    def __init__(self, rnd):
        seeds = []
        for k in range(3):
            buf = io.BytesIO()
            w = PcapWriter(buf)
            for f in frame_seeds()[k::3]:
                w.write(f, ts=1700000000 + k * 0.5)
            seeds.append(buf.getvalue())
        big = bytearray(seeds[0])
        big[0:4] = bytes(reversed(big[0:4]))          # other byte order magic
        seeds.append(bytes(big))
        self.seeds = seeds

    def one(self, data):
        try:
            out = read_pcap(io.BytesIO(data))
        except ValueError:
            return False
        if not isinstance(out, list):
            raise AssertionError("not a list")
        return True

    def close(self):
        pass


def target(model):
    """The fuzz target that feeds mutants of the model's seeds to model.one()."""
    def fuzz(tally, rnd):
        m = model(rnd)
        try:
            runner.feed(tally, lambda: mutate(rnd, rnd.choice(m.seeds), m.seeds, m.ops), m.one)
        finally:
            m.close()
    return fuzz


TARGETS = {"modem": target(ModemTarget), "board": target(BoardTarget), "pcap": target(PcapTarget)}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=10000)
