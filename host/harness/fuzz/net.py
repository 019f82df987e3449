"""Fuzz the link-local IPv6 stack (firmware/micro15118/net): frames in, nothing escapes.

Targets:
  ipv6  valid frames (NS, NA, echo, UDP unicast/multicast, TCP SYN, hop-by-hop
        options) mutated (bit flips, byte changes, truncation, extension,
        splices, field-aware edits) and fed to a NetStack; upper-layer
        checksums and the IPv6 payload length are often repaired so the
        mutation reaches the ICMPv6/UDP/TCP parsers.
  tcp   segments recorded from real traffic between two stacks, mutated
        field by field (seq, ack, flags, window, options, payload) with the
        checksum recomputed, fed to a stack whose connections are in many
        states (SYN_RCVD, ESTABLISHED with data in flight and zero windows,
        FIN_WAIT_*, CLOSE_WAIT, LAST_ACK, TIME_WAIT), with time advancing.

An input is "accepted" when ``stack.dropped`` did not grow, "rejected" when
it did; "unexpected" is any exception out of handle_frame/poll or a broken
invariant (sequence order, buffer bounds, a transmitted frame that does not
parse).
"""
import struct

from micro15118.net import icmpv6, ipv6, stack, tcp, udp

from . import runner
from .mutate import (BASIC, ETH_IPV6, append_zeros, insert_random, mutate, repair_ipv6, set_byte,
                     set_byte_at)

MAC_A = b"\x02\xaa\x00\x00\x00\x01"
MAC_B = b"\x02\xbb\x00\x00\x00\x02"
PORT = 50000
STACK_LIFE = 500        # inputs before a fresh stack
SCENARIO_LIFE = 300     # inputs before a fresh TCP scenario


def frame(src_mac, dst_mac, src, dst, nh, payload, hop=64):
    return (ipv6.eth_header(dst_mac, src_mac)
            + ipv6.build_header(src, dst, nh, len(payload), hop) + payload)


def ipv6_seeds():
    a = ipv6.link_local(MAC_A)
    b = ipv6.link_local(MAC_B)
    snm = ipv6.solicited_node(b)
    snm_mac = ipv6.multicast_mac(snm)
    hbh = bytes((ipv6.NH_ICMPV6, 0, 5, 2, 0, 0, 1, 0))
    mld = b"\x8f\x00\x00\x00\x00\x00\x00\x00"
    return [
        frame(MAC_A, snm_mac, a, snm, ipv6.NH_ICMPV6, icmpv6.build_ns(a, snm, b, MAC_A), 255),
        frame(MAC_A, snm_mac, ipv6.UNSPECIFIED, snm, ipv6.NH_ICMPV6,
              icmpv6.build_ns(ipv6.UNSPECIFIED, snm, b, MAC_A), 255),
        frame(MAC_A, MAC_B, a, b, ipv6.NH_ICMPV6, icmpv6.build_na(a, b, a, MAC_A), 255),
        frame(MAC_A, MAC_B, a, b, ipv6.NH_ICMPV6,
              icmpv6.build_echo(a, b, icmpv6.ECHO_REQUEST, 7, 1, b"x" * 40)),
        frame(MAC_A, MAC_B, a, b, ipv6.NH_ICMPV6,
              icmpv6.build_echo(a, b, icmpv6.ECHO_REPLY, 7, 1, b"y" * 8)),
        frame(MAC_A, ipv6.ALL_NODES_MAC, a, ipv6.ALL_NODES, ipv6.NH_UDP,
              udp.build(a, ipv6.ALL_NODES, 40000, 15118, b"\x01\xfe\x90\x00\x00\x00\x00\x02\x10\x00")),
        frame(MAC_A, MAC_B, a, b, ipv6.NH_UDP, udp.build(a, b, 40000, 15118, b"hello" * 10)),
        frame(MAC_A, MAC_B, a, b, ipv6.NH_TCP, tcp.build(a, b, 40000, PORT, 1, 0, tcp.SYN, 1000, mss=1220)),
        frame(MAC_A, MAC_B, a, b, ipv6.NH_TCP, tcp.build(a, b, 40000, PORT, 1, 9, tcp.ACK, 1000, b"data")),
        frame(MAC_A, ipv6.ALL_NODES_MAC, a, ipv6.ALL_NODES, ipv6.NH_HOPOPTS, hbh + mld, 1),
    ]


def upper_layer_byte(rnd, data, seeds):
    """A byte of the ICMPv6/UDP/TCP header."""
    if len(data) > ETH_IPV6 + 6:
        i = ETH_IPV6 + rnd.randrange(min(24, len(data) - ETH_IPV6))
        data[i] = rnd.choice((0, 1, 2, 0x7F, 0x80, 0xFF, rnd.randrange(256)))
    return data


OPS = BASIC[:3] + (insert_random(16),) + BASIC[4:6] + (
    set_byte_at((14, 18, 19, 20, 21, 22), (0, 1, 6, 17, 58, 60, 0x40, 0x60, 0xFF, 0x2B)),  # IPv6 header
    upper_layer_byte,
    append_zeros(range(1, 40)),                                                         # padding
    set_byte((0x00, 0x01, 0x80, 0xFE, 0xFF, 0x86, 0xDD)))


def check_tx(st):
    """Everything a stack transmits must be a well-formed frame."""
    for f in st.tx:
        if len(f) < 54 or f[6:12] != st.mac:
            raise runner.Unexpected("bad frame out: %s" % bytes(f).hex())
        p = ipv6.parse(f[14:])
        if p is None or p[0] != st.ip:
            raise runner.Unexpected("unparsable frame out: %s" % bytes(f).hex())
        src, dst, nh, hop, payload = p
        if nh == ipv6.NH_TCP:
            ok = tcp.parse(src, dst, payload) is not None
        elif nh == ipv6.NH_UDP:
            ok = udp.parse(src, dst, payload) is not None
        else:
            ok = icmpv6.parse(src, dst, payload) is not None
        if not ok:
            raise runner.Unexpected("bad checksum out: %s" % bytes(f).hex())
    st.tx = []


def check_conns(st):
    for c in st.connections():
        if not (0 <= c.rx.n <= c.rx.size and 0 <= c.tx.n <= c.tx.size):
            raise runner.Unexpected("buffer bounds %s" % c.state)
        if c.state in tcp._SYNCED:
            if not (tcp.seq_le(c.snd_una, c.snd_nxt) and tcp.seq_le(c.snd_nxt, c.snd_max)):
                raise runner.Unexpected("send sequence order %s %d %d %d" % (c.state, c.snd_una, c.snd_nxt, c.snd_max))
            if tcp.seq_diff(c.snd_max, c.snd_una) > c.tx.n + 2:
                raise runner.Unexpected("more in flight than buffered %s" % c.state)
        if len(c._ooo) > tcp.MAX_OOO:
            raise runner.Unexpected("too many out-of-order ranges")
    st.events = []


def fuzz_ipv6(tally, rnd):
    seeds = ipv6_seeds()
    box = {"now": 0}

    def fresh_stack():
        st = box["st"] = stack.NetStack(MAC_B, rng=rnd.randbytes)
        st.udp_bind(15118)
        st.tcp_listen(PORT)

    def make():
        if tally.inputs % STACK_LIFE == 0:
            fresh_stack()
        return repair_ipv6(rnd, mutate(rnd, rnd.choice(seeds), seeds, OPS))

    def check(data):
        st = box["st"]
        box["now"] += rnd.randrange(0, 300)
        d0 = st.dropped
        try:
            st.handle_frame(data, box["now"])
            if tally.inputs % 7 == 0:
                st.poll(box["now"])
            check_tx(st)
            check_conns(st)
        except Exception:
            fresh_stack()           # whatever state it is in, start over
            raise
        return st.dropped == d0
    runner.feed(tally, make, check)


class Scenario:
    """Two stacks a (clients) and b (server) with connections in many states."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.a = stack.NetStack(MAC_A, rng=rnd.randbytes, rx_window=rnd.choice((600, 2000, 4096)),
                                tx_buffer=rnd.choice((700, 4096)), max_conns=8)
        self.b = stack.NetStack(MAC_B, rng=rnd.randbytes, rx_window=rnd.choice((500, 1500, 4096)),
                                tx_buffer=rnd.choice((800, 4096)), mss=rnd.choice((536, 1220)),
                                max_conns=8, tcp_opts={"time_wait": rnd.choice((200, 1000))})
        self.b.tcp_listen(PORT)
        self.now = 0
        self.recorded = []          # TCP frames a sent to b
        self.clients = []
        self.servers = []
        for k in range(rnd.randrange(2, 7)):
            self.clients.append(self.a.tcp_connect(self.b.ip, PORT, self.now))
        self.exchange(rnd.randrange(2, 6), lose=0.0)
        for c in self.clients:
            action = rnd.randrange(6)
            if action == 0:
                c.send(rnd.randbytes(rnd.randrange(1, 5000)))
            elif action == 1:
                c.close(self.now)
            elif action == 2:
                c.send(rnd.randbytes(rnd.randrange(1, 3000)))
                c.close(self.now)
        for s in self.servers:
            action = rnd.randrange(5)
            if action == 0:
                s.send(rnd.randbytes(rnd.randrange(1, 5000)))
            elif action == 1:
                s.close(self.now)
        self.exchange(rnd.randrange(1, 8), lose=0.3)
        # A half-open connection: SYN arrives, our SYN-ACK goes nowhere.
        extra = self.a.tcp_connect(self.b.ip, PORT, self.now)
        self.a.poll(self.now)
        self.deliver(self.a, self.b, 0.0)
        self.b.tx = []
        self.clients.append(extra)

    def deliver(self, src, dst, lose):
        frames = src.tx
        src.tx = []
        for f in frames:
            if src is self.a and f[20] == ipv6.NH_TCP:
                self.recorded.append(bytes(f))
            if self.rnd.random() >= lose:
                dst.handle_frame(f, self.now)

    def exchange(self, rounds, lose):
        for _ in range(rounds):
            self.now += self.rnd.randrange(1, 100)
            self.a.poll(self.now)
            self.b.poll(self.now)
            self.deliver(self.a, self.b, lose)
            self.deliver(self.b, self.a, lose)
            for ev in self.b.events:
                if ev[0] == "tcp_accept":
                    self.servers.append(ev[1])
            self.b.events = []
            self.a.events = []
            for s in self.servers:
                if self.rnd.random() < 0.5:
                    s.recv(self.rnd.randrange(1, 3000))


def mutate_segment(rnd, f, conns):
    """Field-aware TCP mutation of an Ethernet/IPv6/TCP frame; re-checksums."""
    f = bytearray(f)
    if len(f) < 74:
        return bytes(f)
    t = 54
    for _ in range(rnd.choice((1, 1, 2, 3))):
        if len(f) < t + 20:
            break                                   # truncated: no header left to edit
        op = rnd.randrange(12)
        if op == 0:                                 # seq near something interesting
            base = struct.unpack_from(">I", f, t + 4)[0]
            if conns and rnd.random() < 0.7:
                c = rnd.choice(conns)
                base = rnd.choice((c.rcv_nxt, c.snd_una, c.snd_nxt, c.irs, c.iss))
            v = (base + rnd.choice((0, 1, -1, 2, 100, -100, 1 << 16, 1 << 31, rnd.randrange(1 << 32)))) & 0xFFFFFFFF
            struct.pack_into(">I", f, t + 4, v)
        elif op == 1:                               # ack near something interesting
            base = struct.unpack_from(">I", f, t + 8)[0]
            if conns and rnd.random() < 0.7:
                c = rnd.choice(conns)
                base = rnd.choice((c.snd_una, c.snd_nxt, c.snd_max, c.iss))
            v = (base + rnd.choice((0, 1, -1, 5, -5, 1 << 31, rnd.randrange(1 << 32)))) & 0xFFFFFFFF
            struct.pack_into(">I", f, t + 8, v)
        elif op == 2:                               # flags
            f[t + 13] = rnd.choice((0, tcp.SYN, tcp.SYN | tcp.ACK, tcp.FIN, tcp.FIN | tcp.ACK,
                                    tcp.RST, tcp.RST | tcp.ACK, tcp.SYN | tcp.FIN, tcp.ACK | tcp.PSH,
                                    tcp.URG | tcp.ACK, 0xFF, rnd.randrange(256)))
        elif op == 3:                               # window
            struct.pack_into(">H", f, t + 14, rnd.choice((0, 1, 100, 65535, rnd.randrange(65536))))
        elif op == 4:                               # data offset
            f[t + 12] = (rnd.randrange(16) << 4) | (f[t + 12] & 0x0F)
        elif op == 5:                               # options: MSS of odd values, junk
            opt = rnd.choice((b"\x02\x04\x00\x00", b"\x02\x04\xff\xff", b"\x02\x04\x00\x01",
                              b"\x01\x01\x01\x00", b"\x02\x03\x05\x00", b"\x08\x0a" + bytes(8) + b"\x01\x01",
                              b"\x03\x00\x00\x00", rnd.randbytes(4)))
            hl = (f[t + 12] >> 4) * 4
            f[t + hl:t + hl] = opt
            f[t + 12] = (min(15, (hl + len(opt)) // 4) << 4)
        elif op == 6:                               # payload length changes
            if rnd.random() < 0.5:
                del f[max(t + 20, len(f) - rnd.randrange(1, 200)):]
            else:
                f += rnd.randbytes(rnd.randrange(1, 1500))
        elif op == 7:                               # ports
            struct.pack_into(">H", f, t + rnd.choice((0, 2)), rnd.choice((0, PORT, rnd.randrange(65536))))
        elif op == 8 and len(f) > t + 20:           # payload bytes
            f[rnd.randrange(t + 20, len(f))] ^= 0xFF
        elif op == 9:                               # generic byte damage
            f[rnd.randrange(len(f))] = rnd.randrange(256)
        elif op == 10:                              # truncate anywhere
            del f[rnd.randrange(14, len(f) + 1):]
        else:                                       # nothing: a replay
            pass
    if len(f) >= 54:
        n = len(f) - 54
        f[18] = (n >> 8) & 0xFF
        f[19] = n & 0xFF
    if len(f) >= t + 18 and rnd.random() < 0.92:
        f[t + 16] = f[t + 17] = 0
        c = ipv6.upper_checksum(bytes(f[22:38]), bytes(f[38:54]), ipv6.NH_TCP, bytes(f[t:]))
        f[t + 16] = c >> 8
        f[t + 17] = c & 0xFF
    return bytes(f)


def fuzz_tcp(tally, rnd):
    box = {"sc": None, "born": -1}

    def make():
        """A mutated segment of the current scenario; None when none could be set up."""
        if box["sc"] is None or (tally.inputs % SCENARIO_LIFE == 0 and tally.inputs != box["born"]):
            box["born"] = tally.inputs
            box["sc"] = None
            try:
                sc = Scenario(rnd)
            except Exception as e:  # noqa: BLE001 - the set-up traffic found a bug
                tally.fail("tcp scenario: " + runner.describe(e))
                return None
            if not sc.recorded:
                return None
            box["sc"] = sc
        sc = box["sc"]
        return mutate_segment(rnd, rnd.choice(sc.recorded), sc.b.connections())

    def check(data):
        if data is None:
            return None
        sc = box["sc"]
        b = sc.b
        d0 = b.dropped
        try:
            if rnd.random() < 0.1:
                sc.now += rnd.choice((1, 10, 250, 1000, 5000))
                b.poll(sc.now)
            b.handle_frame(data, sc.now)
            for s in b.connections():
                if rnd.random() < 0.02:
                    s.recv(rnd.randrange(1, 2000))
                if rnd.random() < 0.01:
                    s.send(b"z" * rnd.randrange(1, 500))
                if rnd.random() < 0.002:
                    s.close(sc.now)
            check_tx(b)
            check_conns(b)
        except Exception:
            box["sc"] = None
            raise
        return b.dropped == d0
    runner.feed(tally, make, check)


TARGETS = {"ipv6": fuzz_ipv6, "tcp": fuzz_tcp}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv)
