"""Fuzz the whole link loop (firmware/micro15118/link) in the in-process simulation.

A LinkSim session (host/bench/linksim.py: both firmwares with their real QCA7000
drivers against chip and modem models on a virtual PLC wire, 1 ms steps)
runs plug-in, SLAC, SDP, TCP and V2GTP traffic, with unplug/replug, PLC link
loss and modem resets thrown in.  At random moments, so in every link state,
one side's link gets an injected input:

  * a frame for ``link.modem_frame(frame, now)``: taken from what the session
    really carried (frames either side handed its modem and frames the
    drivers received), or forged from the live TCP connection / SDP state,
    then mutated: bit flips, byte changes, truncation, extension, splices,
    wrong ethertypes and MACs, HomePlug MMV/MMTYPE/field edits, IPv6 header
    edits, TCP seq/ack/flags/window/options, UDP ports/length, ICMPv6 type,
    SDP and V2GTP header fields; the IPv6 payload length and the upper-layer
    checksum are usually repaired so the mutation reaches TCP/UDP/ICMPv6
    and what lies above them;
  * or an event for ``link.modem_event(name, now)``: 'ready', 'reset', 'lost'
    or an unknown string.

One input is one injected frame or event.  It is "accepted" when the link
reacted to it (state, frames or events) or no parser on its way counted it
as dropped, "rejected" otherwise.  "Unexpected" is any exception escaping the
link's methods or Runner.step(), or a broken invariant:
  * the charger's duty is always 1000, 50 or 0; states are known ones;
  * SLAC's catch-all in handle_frame (``slac.errors``) never fires;
  * link.tx (and what the runner hands the driver) only holds bytes-like
    frames of 14..1518 bytes; application events are tuples named by a str;
  * an unknown driver event changes nothing;
  * when a block of injections ends, the session recovers: unplug, replug,
    the vehicle reaches 'connected' within 10 s of sim time and a V2GTP
    message from the vehicle arrives at the charger intact (and one back).
"""
import os
import struct
import traceback

from micro15118 import v2gtp
from micro15118.net import icmpv6, ipv6, tcp, udp
from micro15118.slac import mme

from host.bench.linksim import LinkSim

from . import runner
from .mutate import (append_zeros, delete_run, flip_bit, insert_random, mutate, random_byte, repair_ipv6, splice,
                     truncate)

DOCUMENTED_EVENTS = ("ready", "reset", "lost")
UNKNOWN_EVENTS = ("", "READY", "Reset", "lost ", "ready\x00", "cpu_on", "sync",
                  "link_up", "link_lost", "error", "x" * 64, "\u00e9t\u00e9", "resetlost")
CHARGER_STATES = ("idle", "slac", "ef", "linked", "failed")
VEHICLE_STATES = ("unplugged", "plugged", "slac", "sdp", "tcp", "wait")
DUTIES = (1000, 50, 0)
PTYPES = (v2gtp.SAP, v2gtp.COMMON, v2gtp.AC, v2gtp.DC)
MMTYPES = (0x6008, 0x6009, 0x6064, 0x6065, 0x606A, 0x606E, 0x606F, 0x6076, 0x6078,
           0x6079, 0x607C, 0x607D, 0x6086, 0xA000, 0xA001, 0xA0B8, 0xA0B9, 0x0000, 0xFFFF)
ETHERTYPES = (0x88E1, 0x86DD, 0x0800, 0x0806, 0x8100, 0x88E2, 0x0000, 0xFFFF)
BLOCK = 400            # injections between two recovery checks
SIM_LIFE = 25          # blocks before a fresh simulation (new seed)


# ---------------------------------------------------------------- helpers
def ethertype(f):
    return (f[12] << 8) | f[13] if len(f) >= 14 else -1


def kind_of(f):
    """Bucket a frame by what it is, so rare kinds stay in the corpus."""
    et = ethertype(f)
    if et == 0x88E1 and len(f) >= 17:
        return ("hp", f[15] | (f[16] << 8))
    if et == 0x86DD and len(f) >= 54:
        nh = f[20]
        sub = f[54] if len(f) > 54 and nh == 58 else (f[67] if nh == 6 and len(f) > 67 else 0)
        if nh == 6 and len(f) > 74:
            sub = (sub, len(f) > 74)
        return ("ip", nh, sub)
    return ("other", et)


def check_frames(frames, where):
    for f in frames:
        if not isinstance(f, (bytes, bytearray, memoryview)):
            raise runner.Unexpected("%s: not bytes-like: %r" % (where, type(f)))
        if not 14 <= len(f) <= 1518:
            raise runner.Unexpected("%s: frame of %d bytes: %s" % (where, len(f), bytes(f[:64]).hex()))


def check_events(evs, where):
    for ev in evs:
        if not isinstance(ev, tuple) or not ev or not isinstance(ev[0], str):
            raise runner.Unexpected("%s: bad event %r" % (where, ev))


def drops(link):
    n = link.dropped + link.net.dropped + link.slac.dropped
    s = link.sdp
    if s is not None:
        n += s.dropped
    return n


def interesting(rnd):
    return rnd.choice((0x00, 0x01, 0x02, 0x06, 0x10, 0x11, 0x3A, 0x7F, 0x80, 0xFE, 0xFF,
                       0x60, 0x86, 0xDD, 0x88, 0xE1, rnd.randrange(256)))


def v2gtp_tweak(rnd, data, at):
    """Edit a V2GTP header starting at `at` (TCP payload or UDP/SDP)."""
    if len(data) < at + 8:
        return
    op = rnd.randrange(5)
    if op == 0:
        data[at] = rnd.choice((0, 1, 2, 0xFE, 0xFF))
    elif op == 1:
        data[at + 1] = rnd.choice((0, 0xFE, 0xFF, 0x01))
    elif op == 2:
        struct.pack_into(">H", data, at + 2, rnd.choice(
            (0x8001, 0x8002, 0x8003, 0x8004, 0x8101, 0x9000, 0x9001, 0x9002, 0, 0xFFFF,
             rnd.randrange(65536))))
    else:
        n = struct.unpack_from(">I", data, at + 4)[0]
        struct.pack_into(">I", data, at + 4, rnd.choice(
            (0, 1, 2, 20, n - 1, n + 1, 8192, 8193, 0x7FFFFFFF, 0xFFFFFFFF,
             rnd.randrange(1 << 32))) & 0xFFFFFFFF)


def field_tweak(rnd, data):
    """Protocol-aware edits: HomePlug, IPv6, TCP, UDP, ICMPv6, SDP, V2GTP."""
    et = ethertype(data)
    r = rnd.random()
    if r < 0.08:                                   # ethertype
        struct.pack_into(">H", data, 12, rnd.choice(ETHERTYPES + (rnd.randrange(65536),)))
        return
    if r < 0.16:                                   # MAC addresses
        i = rnd.choice((0, 6))
        data[i:i + 6] = rnd.choice((b"\xff" * 6, b"\x33\x33\x00\x00\x00\x01", bytes(6),
                                    data[6 - i:12 - i], mme.LOCALCAST,
                                    bytes(rnd.randrange(256) for _ in range(6))))
        return
    if et == 0x88E1 and len(data) >= 19:
        op = rnd.randrange(5)
        if op == 0:
            data[14] = rnd.choice((0, 1, 2, 0xFF))          # MMV
        elif op == 1:                                       # another MMTYPE, same body
            struct.pack_into("<H", data, 15, rnd.choice(MMTYPES) ^ rnd.choice((0, 0, 1, 2, 3)))
        elif op == 2:
            data[17] = interesting(rnd)                     # FMI
            data[18] = interesting(rnd)
        elif len(data) > 19:                                # body bytes
            for _ in range(rnd.randrange(1, 4)):
                data[19 + rnd.randrange(min(60, len(data) - 19))] = interesting(rnd)
        return
    if et != 0x86DD or len(data) < 54:
        return
    nh = data[20]
    op = rnd.randrange(10)
    if op == 0:                                    # IPv6 header bytes
        i = rnd.choice((14, 15, 18, 19, 20, 21))
        data[i] = interesting(rnd)
        return
    if op == 1:                                    # addresses
        i = rnd.choice((22, 38))
        data[i:i + 16] = rnd.choice((ipv6.UNSPECIFIED, ipv6.ALL_NODES, b"\xff\x02" + bytes(14),
                                     b"\x20\x01" + bytes(14), data[60 - i:76 - i],
                                     bytes(rnd.randrange(256) for _ in range(16))))
        return
    if op == 2:                                    # extension header in front
        hbh = bytes((nh, 0, rnd.choice((1, 5, 0xC2, rnd.randrange(256))), 2, 0, 0, 1, 0))
        data[54:54] = hbh
        data[20] = rnd.choice((0, 0, 43, 44, 60))
        return
    u = 54
    if nh == 6 and len(data) >= u + 20:
        op = rnd.randrange(9)
        if op == 0:
            seq = struct.unpack_from(">I", data, u + 4)[0]
            d = rnd.choice((1, -1, 2, 100, -100, 4096, -4096, 65535, 1 << 31, rnd.randrange(1 << 32)))
            struct.pack_into(">I", data, u + 4, (seq + d) & 0xFFFFFFFF)
        elif op == 1:
            ack = struct.unpack_from(">I", data, u + 8)[0]
            d = rnd.choice((1, -1, 2, 100, -100, 4096, 1 << 31, rnd.randrange(1 << 32)))
            struct.pack_into(">I", data, u + 8, (ack + d) & 0xFFFFFFFF)
        elif op == 2:
            data[u + 13] = rnd.choice((0x02, 0x12, 0x10, 0x18, 0x11, 0x19, 0x04, 0x14, 0x01, 0x00,
                                       0x03, 0x06, 0x07, 0x3F, 0xFF, 0x20, 0x30, rnd.randrange(256)))
        elif op == 3:
            struct.pack_into(">H", data, u + 14, rnd.choice((0, 1, 8, 1220, 65535, rnd.randrange(65536))))
        elif op == 4:
            data[u + 12] = rnd.choice((0x00, 0x40, 0x50, 0x60, 0x70, 0xF0, 0x5F, rnd.randrange(256)))
        elif op == 5:                              # options
            opts = rnd.choice((b"\x02\x04\x04\xc4", b"\x02\x04\x00\x00", b"\x02\x04\xff\xff",
                               b"\x02\x00\x00\x00", b"\x02\x01\x01\x01", b"\x01\x01\x01\x00",
                               b"\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x01",
                               b"\x04\x02\x01\x00", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"))
            hl = (data[u + 12] >> 4) * 4
            data[u + 20:u + max(20, min(hl, len(data) - u))] = opts
            data[u + 12] = ((20 + len(opts)) // 4) << 4 | (data[u + 12] & 0x0F)
        elif op == 6:                              # ports
            i = rnd.choice((u, u + 2))
            struct.pack_into(">H", data, i, rnd.choice((0, 15118, 49152, 65535, rnd.randrange(65536))))
        elif op == 7:
            struct.pack_into(">H", data, u + 18, rnd.randrange(65536))     # urgent pointer
        else:
            hl = (data[u + 12] >> 4) * 4
            if len(data) >= u + hl + 8 and hl >= 20:
                v2gtp_tweak(rnd, data, u + hl)
            else:
                data[u + 20:u + 20] = v2gtp.encode(rnd.choice(PTYPES), bytes(rnd.randrange(40)))
        return
    if nh == 17 and len(data) >= u + 8:
        op = rnd.randrange(4)
        if op == 0:
            i = rnd.choice((u, u + 2))
            struct.pack_into(">H", data, i, rnd.choice((15118, 0, 65535, rnd.randrange(65536))))
        elif op == 1:
            n = struct.unpack_from(">H", data, u + 4)[0]
            struct.pack_into(">H", data, u + 4, rnd.choice((0, 7, 8, n - 1, n + 1, 65535)) & 0xFFFF)
        elif op == 2:
            v2gtp_tweak(rnd, data, u + 8)
        elif len(data) > u + 16:                   # SDP body (security, transport, port...)
            data[u + 16 + rnd.randrange(len(data) - u - 16)] = rnd.choice((0, 0x10, 0x11, 0xFF, 0x01))
        return
    if nh == 58 and len(data) >= u + 4:
        op = rnd.randrange(3)
        if op == 0:
            data[u] = rnd.choice((128, 129, 133, 134, 135, 136, 137, 1, 2, 3, 4, 143, 0, 255))
        elif op == 1:
            data[u + 1] = rnd.choice((0, 1, 255))
        elif len(data) > u + 24:                   # ND options
            i = u + 24 + rnd.randrange(len(data) - u - 24)
            data[i] = rnd.choice((0, 1, 2, 3, 255))


def interesting_byte(rnd, data, seeds):
    if data:
        data[rnd.randrange(len(data))] = interesting(rnd)
    return data


def field_edit(rnd, data, seeds):
    if len(data) >= 14:
        field_tweak(rnd, data)
    return data


OPS = (flip_bit, random_byte, truncate, insert_random(16), delete_run(8), splice,
       append_zeros((1, 2, 8, 46, 200, 1500)), interesting_byte) + (field_edit,) * 4


def mutate_frame(rnd, frame, pool):
    data = bytearray(mutate(rnd, frame, pool or [frame], OPS, rounds=(1, 1, 1, 2, 2, 3, 5)))
    if len(data) > 1600 and rnd.random() < 0.9:
        del data[rnd.randrange(60, 1600):]
    return repair(rnd, data)


def repair(rnd, data):
    return repair_ipv6(rnd, data, keep=0.2, fix_length=0.8)


# ---------------------------------------------------------------- the harness
class Harness:
    def __init__(self, target, tally, rnd, block=BLOCK):
        self.target = target
        self.tally = tally
        self.rnd = rnd
        self.block = block
        self.corpus = {}          # kind -> [frames]
        self.recent = []          # the last frames the session carried
        self.sim = None
        self.sims = 0
        self.mode = "mixed"       # per block: "mixed", "ip" (mostly IPv6), "hp" (HomePlug)

    # ---- simulation ----------------------------------------------------
    def new_sim(self):
        self.sims += 1
        sim = LinkSim(seed=self.rnd.randrange(1 << 30))
        for side in (sim.charger, sim.vehicle):
            orig = side.link.modem_frame
            side.inject = orig                    # bypasses the recorder

            def recorder(frame, now, _orig=orig):
                self.note(bytes(frame))
                return _orig(frame, now)
            side.link.modem_frame = recorder
        self.sim = sim
        self.fault_until = 0
        self.unplugged_at = None
        sim.plug()
        self.me = sim.charger if self.target == "charger" else sim.vehicle
        self.peer = sim.vehicle if self.target == "charger" else sim.charger

    def note(self, f):
        rec = self.recent
        rec.append(f)
        if len(rec) > 96:
            del rec[:32]
        bucket = self.corpus.setdefault(kind_of(f), [])
        if len(bucket) < 24:
            bucket.append(f)
        elif self.rnd.random() < 0.05:
            bucket[self.rnd.randrange(24)] = f

    def harvest(self):
        sim = self.sim
        for side in (sim.charger, sim.vehicle):
            if side.sent:
                frames = [f for _, f in side.sent]
                check_frames(frames, side.name + " sent")
                for f in frames:
                    self.note(f)
                side.sent = []
            check_frames(side.runner.txq, side.name + " txq")
            side.log = []

    def check(self):
        sim = self.sim
        c, v = sim.charger.link, sim.vehicle.link
        if c.duty not in DUTIES:
            raise runner.Unexpected("charger duty %r in state %s" % (c.duty, c.state))
        if c.state not in CHARGER_STATES:
            raise runner.Unexpected("charger state %r" % (c.state,))
        if v.state not in VEHICLE_STATES:
            raise runner.Unexpected("vehicle state %r" % (v.state,))
        for side in (sim.charger, sim.vehicle):
            if side.link.slac.errors:
                raise runner.Unexpected("%s: an exception was swallowed in SLAC handle_frame"
                                 % side.name)
        check_frames(c.tx, "charger link.tx")
        check_frames(v.tx, "vehicle link.tx")

    def step(self, n):
        sim = self.sim
        for _ in range(n):
            for side, ev in sim.step():
                check_events((ev,), side.name + " events")
        self.harvest()
        self.check()

    def run_until(self, pred, limit):
        sim = self.sim
        end = sim.t + limit
        while sim.t < end:
            hit = False
            for side, ev in sim.step():
                check_events((ev,), side.name + " events")
                if pred(side, ev):
                    hit = True
            if sim.t % 64 == 0:
                self.harvest()
            if hit:
                self.harvest()
                return True
        self.harvest()
        return False

    # ---- scenario: what happens around the injections -------------------
    def scenario(self):
        rnd = self.rnd
        sim = self.sim
        r = rnd.random()
        if not sim.plugged:
            if sim.t - self.unplugged_at > rnd.choice((0, 20, 200, 2000)) and r < 0.1:
                sim.plug()
            return
        if self.mode == "ip":
            r = 0.005 + r * 0.995         # faults ten times rarer: stay linked
        if r < 0.0035:
            sim.unplug()
            self.unplugged_at = sim.t
        elif r < 0.0045:
            ms = rnd.choice((50, 300, 1500, 4000))
            rnd.choice((sim.charger, sim.vehicle)).modem.link_loss(ms, sim.t)
            self.fault_until = max(self.fault_until, sim.t + ms)
        elif r < 0.0055:
            rnd.choice((sim.charger, sim.vehicle)).modem.reset(sim.t)
        elif r < 0.006:
            rnd.choice((sim.charger, sim.vehicle)).link.close(sim.t)
        elif r < 0.0061:
            # A mute EV: the charger runs into TT_EVSE_SLAC_init, E/F and
            # retries, and after C_SEQU_RETRY gives up ('ef', 'failed').
            ms = rnd.choice((41000, 45000, 140000))
            sim.vehicle.modem.link_loss(ms, sim.t)
            self.fault_until = max(self.fault_until, sim.t + ms)
            self.step(ms - rnd.randrange(0, 3000))
        elif r < 0.05:
            side = rnd.choice((sim.charger, sim.vehicle))
            payload = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 1, 20, 200))))
            payload += bytes(rnd.choice((0, 0, 1000, 3000)))
            side.link.send(rnd.choice(PTYPES), payload, sim.t)

    def gap(self):
        r = self.rnd.random()
        if r < 0.45:
            return 0
        if r < 0.75:
            return self.rnd.randrange(1, 4)
        if r < 0.93:
            return self.rnd.randrange(4, 30)
        if r < 0.99:
            return self.rnd.randrange(30, 300)
        return self.rnd.randrange(300, 2500)

    # ---- inputs ---------------------------------------------------------
    def forge(self):
        """A frame built from the live state of the target's stack."""
        rnd = self.rnd
        link = self.me.link
        peer_mac = self.peer.link.host_mac
        conns = link.net.connections()
        r = rnd.random()
        if conns and r < 0.6:
            conn = rnd.choice(conns)
            src, dst = conn.remote_ip, conn.local_ip
            seq = (conn.rcv_nxt + rnd.choice((0, 0, 0, 0, 1, -1, 100, 4096,
                                              rnd.randrange(1 << 32)))) & 0xFFFFFFFF
            ack = (conn.snd_nxt + rnd.choice((0, 0, 0, -1, 1, -100,
                                              rnd.randrange(1 << 32)))) & 0xFFFFFFFF
            flags = rnd.choice((tcp.ACK, tcp.ACK | tcp.PSH, tcp.ACK | tcp.FIN, tcp.RST, tcp.RST | tcp.ACK,
                                tcp.SYN, tcp.SYN | tcp.ACK, tcp.ACK | tcp.URG, 0, tcp.FIN,
                                rnd.randrange(64)))
            k = rnd.random()
            if k < 0.4:
                ptype = rnd.choice(PTYPES)
                payload = v2gtp.encode(ptype, bytes(rnd.randrange(256) for _ in range(rnd.randrange(64))))
            elif k < 0.6:
                msg = v2gtp.encode(rnd.choice(PTYPES), bytes(rnd.randrange(300)))
                cut = rnd.randrange(len(msg) + 1)
                payload = msg[:cut] if rnd.random() < 0.5 else msg[cut:]
            elif k < 0.8:
                payload = b""
            else:
                payload = bytes(rnd.randrange(256) for _ in range(rnd.choice((1, 8, 100, 1220, 1440, 1500))))
            wnd = rnd.choice((0, 1, 100, 4096, 65535))
            seg = tcp.build(src, dst, conn.remote_port, conn.local_port, seq, ack, flags, wnd, payload,
                            mss=rnd.choice((0, 0, 0, 64, 536, 1220, 1440, 65535)) if flags & tcp.SYN else 0)
            nh, body = ipv6.NH_TCP, seg
        elif r < 0.8:
            src = ipv6.link_local(peer_mac)
            if self.target == "charger":
                req = bytes((rnd.choice((0x10, 0x00, 0x11, 0xFF)), rnd.choice((0x00, 0x10, 0x01))))
                data = v2gtp.encode(v2gtp.SDP_REQ, req)
                dst, sport, dport = ipv6.ALL_NODES, rnd.randrange(49152, 65536), 15118
            else:
                port = rnd.choice((self.peer.link.tcp_port, 0, 65535, rnd.randrange(65536)))
                ip16 = rnd.choice((ipv6.link_local(peer_mac), ipv6.UNSPECIFIED, ipv6.ALL_NODES,
                                   link.net.ip, b"\x20\x01" + bytes(14)))
                data = v2gtp.encode(v2gtp.SDP_RES, ip16 + struct.pack(
                    ">HBB", port, rnd.choice((0x10, 0x00, 0x01)), rnd.choice((0x00, 0x10, 0x02))))
                dst, sport, dport = link.net.ip, 15118, link.sdp_port
            nh, body = ipv6.NH_UDP, udp.build(src, dst, sport, dport, data)
        else:
            src = ipv6.link_local(peer_mac)
            dst = link.net.ip
            k = rnd.randrange(3)
            if k == 0:
                snm = ipv6.solicited_node(dst)
                body = icmpv6.build_ns(src, snm, dst, peer_mac)
                dst = snm
            elif k == 1:
                body = icmpv6.build_na(src, dst, src, peer_mac)
            else:
                body = icmpv6.build_echo(src, dst, icmpv6.ECHO_REQUEST, 1, 2, bytes(rnd.randrange(100)))
            nh = ipv6.NH_ICMPV6
        dmac = ipv6.multicast_mac(dst) if ipv6.is_multicast(dst) else link.host_mac
        return (ipv6.eth_header(dmac, peer_mac)
                + ipv6.build_header(src, dst, nh, len(body), 255 if nh == ipv6.NH_ICMPV6 else 64) + body)

    def pick(self):
        rnd = self.rnd
        r = rnd.random()
        mode = self.mode
        if r < (0.3 if mode == "ip" else 0.15):
            base = self.forge()
        elif r < 0.6 and self.recent:
            base = rnd.choice(self.recent)
            if mode != "mixed":
                want = 0x86DD if mode == "ip" else 0x88E1
                same = [f for f in self.recent[-32:] if ethertype(f) == want]
                if same:
                    base = rnd.choice(same)
        elif self.corpus:
            kinds = list(self.corpus)
            if mode != "mixed":
                kinds = [k for k in kinds if k[0] == mode] or kinds
            base = rnd.choice(self.corpus[rnd.choice(kinds)])
        else:
            base = bytes(60)
        if rnd.random() < 0.1:
            return repair(rnd, base)             # the real thing, possibly stale
        return mutate_frame(rnd, base, self.recent)

    def inject(self):
        """One input; returns True if accepted."""
        rnd = self.rnd
        sim = self.sim
        side = self.me
        link = side.link
        now = sim.t
        if rnd.random() < (0.12 if self.mode == "mixed" else 0.02):
            if rnd.random() < (0.6 if self.mode == "mixed" else 0.2):
                name = rnd.choice(DOCUMENTED_EVENTS)
            else:
                name = rnd.choice(UNKNOWN_EVENTS)
            state = link.state
            ntx = len(link.tx)
            self.last_input = "event %r in %s" % (name, state)
            link.modem_event(name, now)
            check_frames(link.tx, side.name + " link.tx after event")
            check_events(link.events, side.name + " link.events")
            if name in DOCUMENTED_EVENTS:
                return True
            if link.state != state or len(link.tx) != ntx:
                raise runner.Unexpected("unknown event %r changed %s: %s -> %s"
                                 % (name, side.name, state, link.state))
            return False
        frame = self.pick()
        if rnd.random() < 0.1:
            frame = rnd.choice((bytearray(frame), memoryview(frame)))
        d0, state, ntx, nev = drops(link), link.state, len(link.tx), len(link.events)
        self.last_input = "frame in %s: %s" % (state, bytes(frame).hex())
        side.inject(frame, now)
        check_frames(link.tx, side.name + " link.tx after frame")
        check_events(link.events, side.name + " link.events")
        return (drops(link) == d0 or link.state != state or len(link.tx) != ntx
                or len(link.events) != nev)

    # ---- recovery ---------------------------------------------------------
    def recover(self):
        sim = self.sim
        # Our own modem faults run out first (they are not the firmware's doing).
        wait = max(0, self.fault_until - sim.t) + 200
        self.step(wait)
        if sim.plugged:
            sim.unplug()
        c, v = sim.charger.link, sim.vehicle.link
        # (during an E/F pulse, T_STEP_EF = 4 s, the charger drives -12 V
        # and cannot see the plug)
        for _ in range(6000):
            if c.state == "idle" and v.state == "unplugged":
                break
            self.step(1)
        else:
            raise runner.Unexpected("unplug not seen: charger %s, vehicle %s" % (c.state, v.state))
        self.step(self.rnd.choice((1, 50, 500)))
        sim.plug()
        t0 = sim.t
        if not self.run_until(lambda s, e: s is sim.vehicle and e[0] == "connected", 10000):
            raise runner.Unexpected("no reconnect within 10 s: charger %s, vehicle %s"
                             % (c.state, v.state))
        rnd = self.rnd
        ptype = rnd.choice(PTYPES)
        payload = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 1, 50, 1500, 5000))))
        if not v.send(ptype, payload, sim.t):
            raise runner.Unexpected("vehicle cannot send after reconnect")
        if not self.run_until(lambda s, e: s is sim.charger and e[0] == "v2gtp"
                              and e[1] == ptype and e[2] == payload, 5000):
            raise runner.Unexpected("V2GTP from the vehicle did not arrive intact (t=%d after replug)"
                             % (sim.t - t0))
        payload = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 7, 700))))
        if not c.send(ptype, payload, sim.t):
            raise runner.Unexpected("charger cannot send after reconnect")
        if not self.run_until(lambda s, e: s is sim.vehicle and e[0] == "v2gtp"
                              and e[1] == ptype and e[2] == payload, 5000):
            raise runner.Unexpected("V2GTP from the charger did not arrive intact")

    # ---- main loop --------------------------------------------------------
    def fail(self, exc, an_input):
        tb = traceback.extract_tb(exc.__traceback__)
        where = "%s:%d" % (os.path.basename(tb[-1].filename), tb[-1].lineno) if tb else "?"
        self.tally.fail("%s seed-sim#%d t=%d %s: %s | last input: %s" % (
            self.target, self.sims, self.sim.t if self.sim else -1, where,
            runner.describe(exc), getattr(self, "last_input", "")[:400]), an_input)
        self.sim = None          # whatever state it is in, start over

    def run(self):
        tally = self.tally
        blocks = 0
        while tally.more():
            start = tally.inputs
            pending = False         # an input injected, not yet booked
            try:
                if self.sim is None or blocks % SIM_LIFE == 0:
                    self.new_sim()
                    self.step(self.rnd.randrange(0, 1500))
                blocks += 1
                self.mode = self.rnd.choice(("mixed", "ip", "ip", "hp"))
                n = 0
                while n < self.block and tally.more():
                    self.scenario()
                    g = self.gap()
                    if g:
                        self.step(g)
                    n += 1
                    self.last_input = ""
                    pending = True
                    accepted = self.inject()
                    self.check()
                    pending = False
                    tally.count(accepted)
                self.last_input = "(recovery after %d inputs)" % n
                self.recover()
            except Exception as exc:   # noqa: BLE001 - that is what we are looking for
                # an input that went wrong uses the budget; so does a failure
                # before any input, so a bug that strikes every time still ends the run
                self.fail(exc, pending or tally.inputs == start)
        return self


def fuzz_side(side):
    def fuzz(tally, rnd, block=BLOCK):
        Harness(side, tally, rnd, block).run()
    return fuzz


TARGETS = {"charger": fuzz_side("charger"), "vehicle": fuzz_side("vehicle")}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv)
