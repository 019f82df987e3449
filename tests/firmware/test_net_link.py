"""Two NetStacks on a simulated lossy link: ND, echo, UDP, multicast.

``Link`` (used by test_net_tcp.py too) joins two stacks with a seeded
random, a simulated millisecond clock, and optional loss, duplication and
reordering.
"""
from micro15118.net import icmpv6, ipv6, stack, udp

MAC_A = b"\x02\x11\x22\x33\x44\x01"
MAC_B = b"\x02\x11\x22\x33\x44\x02"


class Rand:
    """xorshift32: the same sequence on CPython and MicroPython."""

    def __init__(self, seed):
        self.s = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def random(self):
        return self.next() / 4294967296.0

    def randrange(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.next() & 0xFF for _ in range(n))


class Link:
    def __init__(self, a, b, loss=0.0, dup=0.0, reorder=0.0, seed=1, delay=1, now=0):
        self.a = a
        self.b = b
        self.loss = loss
        self.dup = dup
        self.reorder = reorder
        self.rnd = Rand(seed)
        self.delay = delay
        self.now = now
        self.queue = []        # [time, order, destination, frame]
        self.order = 0
        self.sent = 0
        self.lost = 0
        self.tap = None        # optional callable(frame, sender) that may rewrite/drop

    def _collect(self):
        for src, dst in ((self.a, self.b), (self.b, self.a)):
            frames = src.tx
            src.tx = []
            for f in frames:
                self.sent += 1
                if self.tap is not None:
                    f = self.tap(f, src)
                    if f is None:
                        continue
                if self.rnd.random() < self.loss:
                    self.lost += 1
                    continue
                copies = 2 if self.rnd.random() < self.dup else 1
                for _ in range(copies):
                    t = self.now + self.delay
                    if self.rnd.random() < self.reorder:
                        t += 1 + self.rnd.randrange(20)
                    self.order += 1
                    self.queue.append([t, self.order, dst, f])

    def step(self, limit=None):
        """Advance to the next event (not past ``limit``); False if nothing
        is pending."""
        self._collect()
        t = None
        for item in self.queue:
            if t is None or item[0] < t:
                t = item[0]
        for s in (self.a, self.b):
            d = s.next_deadline()
            if d is not None and (t is None or d < t):
                t = d
        if t is None:
            return False
        if limit is not None and t > limit:
            self.now = limit
            return False
        if t > self.now:
            self.now = t
        due = [q for q in self.queue if q[0] <= self.now]
        if due:
            self.queue = [q for q in self.queue if q[0] > self.now]
            due.sort(key=lambda q: (q[0], q[1]))
            for q in due:
                q[2].handle_frame(q[3], self.now)
        self.a.poll(self.now)
        self.b.poll(self.now)
        return True

    def run(self, until, limit_ms=60000, work=None):
        """Step until ``until()`` is true; ``work()`` runs every step (the
        applications).  Fails after ``limit_ms`` of simulated time."""
        end = self.now + limit_ms
        while not until():
            if work is not None:
                work()
                self._collect()
            if not self.step():
                # Nothing pending at all: let time pass for the apps.
                self.now += 10
            assert self.now <= end, "simulated time limit reached"
        self._collect()

    def settle(self, ms):
        end = self.now + ms
        while self.now < end and self.step(end):
            pass
        self.now = end
        self._collect()


def pair(**kw):
    a = stack.NetStack(MAC_A, rng=Rand(11).bytes, **kw)
    b = stack.NetStack(MAC_B, rng=Rand(22).bytes, **kw)
    return a, b


def events(s, name):
    out = [e for e in s.events if e[0] == name]
    s.events = [e for e in s.events if e[0] != name]
    return out


def test_rand_is_deterministic():
    r1, r2 = Rand(5), Rand(5)
    seq = [r1.next() for _ in range(10)]
    assert seq == [r2.next() for _ in range(10)]
    assert len(set(seq)) == 10


def test_neighbour_discovery_then_udp_unicast():
    a, b = pair()
    b.udp_bind(15118)
    link = Link(a, b)
    a.udp_send(b.ip, 15118, 40000, b"hello", link.now)
    # The datagram waits for the NS/NA exchange; the NS goes to b's
    # solicited-node group.
    assert len(a.tx) == 1
    ns = a.tx[0]
    assert ns[0:6] == ipv6.multicast_mac(ipv6.solicited_node(b.ip))
    link.run(lambda: any(e[0] == "udp" for e in b.events))
    ev = events(b, "udp")
    assert ev == [("udp", 15118, a.ip, 40000, b"hello")]
    # b learnt a's MAC from the NS: its answer needs no resolution.
    b.udp_send(a.ip, 40000, 15118, b"back", link.now)
    assert len(b.tx) == 1 and b.tx[0][0:6] == MAC_A
    a.udp_bind(40000)
    link.run(lambda: any(e[0] == "udp" for e in a.events))
    assert events(a, "udp") == [("udp", 40000, b.ip, 15118, b"back")]
    assert a.dropped == 0 and b.dropped == 0


def test_udp_multicast_all_nodes():
    a, b = pair()
    b.udp_bind(15118)
    link = Link(a, b)
    a.udp_send(ipv6.ALL_NODES, 15118, 40001, b"\x01\xfe\x90\x00\x00\x00\x00\x02\x10\x00", link.now)
    assert a.tx[0][0:6] == ipv6.ALL_NODES_MAC          # no ND for multicast
    link.run(lambda: b.events)
    assert events(b, "udp") == [("udp", 15118, a.ip, 40001, b"\x01\xfe\x90\x00\x00\x00\x00\x02\x10\x00")]


def test_udp_unbound_port_is_dropped():
    a, b = pair()
    link = Link(a, b)
    a.udp_send(b.ip, 999, 40000, b"x", link.now)
    link.settle(100)
    assert b.events == [] and b.dropped == 1


def test_nd_retries_then_gives_up():
    a, b = pair()
    link = Link(a, b)
    link.tap = lambda f, src: None if src is b else f    # b is mute
    a.udp_send(b.ip, 15118, 40000, b"lost", link.now)
    link.run(lambda: any(e[0] == "nd_failed" for e in a.events), limit_ms=10000)
    assert events(a, "nd_failed") == [("nd_failed", b.ip)]
    assert link.sent == 3 + 3          # 3 NS from a, 3 NA from b (all swallowed)
    assert 2900 <= link.now <= 3100
    assert a.next_deadline() is None
    # A fresh send starts a new resolution.
    a.udp_send(b.ip, 15118, 40000, b"again", link.now)
    assert len(a.tx) == 1


def test_nd_queue_is_bounded():
    a, b = pair()
    b.udp_bind(7)
    link = Link(a, b)
    for i in range(6):
        a.udp_send(b.ip, 7, 40000, bytes([i]), link.now)
    link.run(lambda: len(b.events) >= 3)
    link.settle(50)
    got = [e[4] for e in events(b, "udp")]
    assert got == [b"\x00", b"\x01", b"\x02"]


def test_echo_request_gets_reply():
    a, b = pair()
    link = Link(a, b)
    a.ping(b.ip, 0x1234, 7, b"payload!", link.now)
    link.run(lambda: a.events)
    assert events(a, "echo_reply") == [("echo_reply", b.ip, 0x1234, 7, b"payload!")]


def test_ns_answered_with_na_and_hop_limit_checked():
    a, b = pair()
    snm = ipv6.solicited_node(b.ip)
    ns = icmpv6.build_ns(a.ip, snm, b.ip, MAC_A)
    frame = (ipv6.eth_header(ipv6.multicast_mac(snm), MAC_A)
             + ipv6.build_header(a.ip, snm, ipv6.NH_ICMPV6, len(ns), 255) + ns)
    b.handle_frame(frame, 0)
    assert len(b.tx) == 1
    na = b.tx.pop()
    assert na[0:6] == MAC_A and na[6:12] == MAC_B
    p = ipv6.parse(na[14:])
    assert p[0] == b.ip and p[1] == a.ip and p[3] == 255
    typ, code, msg = icmpv6.parse(p[0], p[1], p[4])
    assert typ == icmpv6.NEIGHBOR_ADVERT
    target, flags, mac = icmpv6.parse_na(p[0], p[1], p[3], msg)
    assert target == b.ip and mac == MAC_B and flags & icmpv6.FLAG_SOLICITED
    # The same NS with hop limit 64 (it could have been routed) is dropped.
    bad = bytearray(frame)
    bad[14 + 7] = 64
    b.handle_frame(bytes(bad), 0)
    assert b.tx == [] and b.dropped == 1
    # An NS for somebody else is ignored, not answered.
    other = icmpv6.build_ns(a.ip, snm, a.ip, MAC_A)
    b.handle_frame(ipv6.eth_header(ipv6.multicast_mac(snm), MAC_A)
                   + ipv6.build_header(a.ip, snm, ipv6.NH_ICMPV6, len(other), 255) + other, 0)
    assert b.tx == []


def test_frames_for_other_macs_and_ethertypes_dropped():
    a, b = pair()
    b.udp_bind(15118)
    d = udp.build(a.ip, b.ip, 1, 15118, b"x")
    good = ipv6.eth_header(MAC_B, MAC_A) + ipv6.build_header(a.ip, b.ip, ipv6.NH_UDP, len(d)) + d
    b.handle_frame(good, 0)
    assert len(b.events) == 1
    b.handle_frame(b"\x02\x00\x00\x00\x00\x09" + good[6:], 0)        # not our MAC
    b.handle_frame(good[:12] + b"\x88\xe1" + good[14:], 0)          # HomePlug MME
    b.handle_frame(good[:10], 0)                                     # runt
    other_ip = ipv6.link_local(b"\x02\x00\x00\x00\x00\x09")
    b.handle_frame(ipv6.eth_header(MAC_B, MAC_A) + ipv6.build_header(a.ip, other_ip, ipv6.NH_UDP, len(d)) + d, 0)
    glob = b"\x20\x01" + bytes(13) + b"\x01"                          # not link-local
    d2 = udp.build(glob, b.ip, 1, 15118, b"x")
    b.handle_frame(ipv6.eth_header(MAC_B, MAC_A) + ipv6.build_header(glob, b.ip, ipv6.NH_UDP, len(d2)) + d2, 0)
    assert len(b.events) == 1 and b.dropped == 5


def test_reset_forgets_neighbours_without_sending():
    a, b = pair()
    b.udp_bind(1)
    link = Link(a, b)
    a.udp_send(b.ip, 1, 2, b"x", link.now)
    link.run(lambda: b.events)
    a.udp_send(b.ip, 1, 2, b"y", link.now)
    assert a.tx[0][0:6] == MAC_B
    a.tx = []
    a.reset()
    assert a.tx == [] and a.events == []
    a.udp_send(b.ip, 1, 2, b"z", link.now)
    assert a.tx[0][0:6] != MAC_B          # resolving again: an NS
