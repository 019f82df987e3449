"""TCP between two NetStacks over the simulated link (see test_net_link.py)."""
from test_net_link import Link, Rand, events, pair
from micro15118.net import ipv6, tcp

PORT = 50123


def connected(loss=0.0, dup=0.0, reorder=0.0, seed=1, **kw):
    a, b = pair(**kw)
    b.tcp_listen(PORT)
    link = Link(a, b, loss=loss, dup=dup, reorder=reorder, seed=seed)
    client = a.tcp_connect(b.ip, PORT, link.now)
    assert client.state == "SYN_SENT"
    link.run(lambda: any(e[0] == "tcp_accept" for e in b.events)
             and any(e[0] == "tcp_connected" for e in a.events))
    server = events(b, "tcp_accept")[0][1]
    assert events(a, "tcp_connected")[0][1] is client
    assert client.state == "ESTABLISHED" and server.state == "ESTABLISHED"
    assert server.remote == (a.ip, client.local_port)
    assert client.remote == (b.ip, PORT)
    assert 49152 <= client.local_port <= 65535
    return a, b, link, client, server


def pattern(n, seed):
    r = Rand(seed)
    out = bytearray(n)
    i = 0
    while i < n:
        v = r.next()
        for k in range(4):
            if i < n:
                out[i] = (v >> (8 * k)) & 0xFF
                i += 1
    return bytes(out)


class Transfer:
    """Push ``data`` into ``src`` as fast as it takes it; collect at ``dst``."""

    def __init__(self, src, dst, data, close=True):
        self.src, self.dst, self.data = src, dst, data
        self.off = 0
        self.got = bytearray(len(data))      # preallocated: MicroPython heap
        self.n = 0
        self.close = close
        self.closed = False

    def work(self, now):
        if self.off < len(self.data):
            self.off += self.src.send(memoryview(self.data)[self.off:self.off + 4096])
        elif self.close and not self.closed:
            self.src.close(now)
            self.closed = True
        chunk = self.dst.recv(len(self.got) - self.n)
        self.got[self.n:self.n + len(chunk)] = chunk
        self.n += len(chunk)

    def done(self):
        return self.n >= len(self.data) and (not self.close or self.dst.eof)


def bidirectional(size, **kw):
    a, b, link, client, server = connected(**kw)
    up = Transfer(client, server, pattern(size, 1))
    down = Transfer(server, client, pattern(size, 2))

    def work():
        up.work(link.now)
        down.work(link.now)

    link.run(lambda: up.done() and down.done(), limit_ms=600000, work=work)
    assert up.got == up.data
    assert down.got == down.data
    link.run(lambda: client.state == "CLOSED" and server.state == "CLOSED", limit_ms=60000)
    return a, b, link, client, server


def test_transfer_clean_link():
    a, b, link, client, server = bidirectional(50000)
    assert ("tcp_closed", client, "closed") in a.events
    assert ("tcp_closed", server, "closed") in b.events
    assert a.dropped == 0 and b.dropped == 0
    assert a.connections() == [] and b.connections() == []


def test_transfer_200k_both_ways_lossy_link():
    a, b, link, client, server = bidirectional(200000, loss=0.10, dup=0.05, reorder=0.2, seed=7)
    assert link.lost > 100                   # the link really lost frames
    assert [e[2] for e in a.events if e[0] == "tcp_closed"] == ["closed"]
    assert [e[2] for e in b.events if e[0] == "tcp_closed"] == ["closed"]


def test_transfer_other_seed_small_windows():
    bidirectional(30000, loss=0.15, dup=0.1, reorder=0.3, seed=99, rx_window=1500, tx_buffer=700, mss=536)


def test_segments_respect_mss_and_window():
    a, b, link, client, server = connected(rx_window=3000, mss=1000)
    sizes = []

    def tap(f, src):
        if src is a:
            p = ipv6.parse(f[14:])
            if p[2] == ipv6.NH_TCP:
                seg = tcp.parse(p[0], p[1], p[4])
                sizes.append(len(seg[7]))
        return f
    link.tap = tap
    assert client.peer_mss == 1000
    data = pattern(20000, 3)
    t = Transfer(client, server, data, close=False)
    # Receiver does not read until 3000 bytes are there: window closes.
    client.send(data[:4096])
    t.off = 4096
    link.settle(50)
    assert max(sizes) == 1000 and sum(sizes) == 3000
    assert server.available() == 3000
    link.run(lambda: t.done(), work=lambda: t.work(link.now))
    assert bytes(t.got) == data


def test_zero_window_probe_and_persist():
    a, b, link, client, server = connected(rx_window=1000)
    client.send(b"x" * 3000)
    link.settle(20000)                     # server app sleeps for 20 s
    assert server.available() == 1000
    assert client.state == "ESTABLISHED"    # probes answered: no abort
    got = b""
    got += server.recv()
    link.run(lambda: server.available() == 1000, work=None)
    got += server.recv()
    link.run(lambda: server.available() == 1000)
    got += server.recv()
    assert got == b"x" * 3000


def test_half_close():
    a, b, link, client, server = connected()
    client.send(b"request")
    client.close(link.now)
    link.run(lambda: server.eof and client.state == "FIN_WAIT_2")
    assert server.recv() == b"request"
    assert server.state == "CLOSE_WAIT" and client.state == "FIN_WAIT_2"
    assert any(e[0] == "tcp_eof" for e in b.events)
    # The server still talks after the client's FIN.
    server.send(b"response" * 100)
    got = bytearray()
    link.run(lambda: len(got) >= 800, work=lambda: got.extend(client.recv()))
    assert bytes(got) == b"response" * 100
    assert client.send(b"more") == 0        # our direction is closed
    server.close(link.now)
    link.run(lambda: client.eof and server.state == "CLOSED")
    assert client.state == "TIME_WAIT"
    assert ("tcp_closed", client, "closed") in a.events
    entered = link.now
    link.run(lambda: client.state == "CLOSED")
    assert 990 <= link.now - entered <= 1010           # TIME_WAIT is short (1 s default)
    assert a.connections() == []


def test_simultaneous_close():
    a, b, link, client, server = connected()
    client.close(link.now)
    server.close(link.now)
    link.run(lambda: client.state in ("TIME_WAIT", "CLOSED") and server.state in ("TIME_WAIT", "CLOSED"))
    assert ("tcp_closed", client, "closed") in a.events
    assert ("tcp_closed", server, "closed") in b.events


def test_abort_sends_rst():
    a, b, link, client, server = connected()
    client.abort(link.now)
    assert client.state == "CLOSED"
    link.run(lambda: server.state == "CLOSED")
    assert ("tcp_closed", server, "reset") in b.events
    assert ("tcp_closed", client, "aborted") in a.events


def test_connect_to_closed_port_refused():
    a, b = pair()
    link = Link(a, b)
    conn = a.tcp_connect(b.ip, 4444, link.now)
    link.run(lambda: conn.state == "CLOSED")
    assert ("tcp_closed", conn, "refused") in a.events
    assert link.now < 100


def test_connect_timeout_when_peer_silent():
    a, b = pair(tcp_opts={"connect_timeout": 3000})
    b.tcp_listen(PORT)
    link = Link(a, b)
    link.tap = lambda f, src: None if (src is b and f[20] == ipv6.NH_TCP) else f
    conn = a.tcp_connect(b.ip, PORT, link.now)
    link.run(lambda: conn.state == "CLOSED", limit_ms=5000)
    assert ("tcp_closed", conn, "connect timeout") in a.events
    assert 3000 <= link.now <= 3100


def test_retransmission_gives_up_with_backoff():
    a, b, link, client, server = connected()
    times = []

    def tap(f, src):
        if src is a and f[20] == ipv6.NH_TCP:
            times.append(link.now)
        return None if src is b else f           # b's answers all lost
    link.tap = tap
    client.send(b"hello")
    link.run(lambda: client.state == "CLOSED", limit_ms=60000)
    assert ("tcp_closed", client, "timeout") in a.events
    gaps = [times[i + 1] - times[i] for i in range(len(times) - 2)]
    # first send, then retries after 250, 500, 1000, 2000, 4000, 4000 ... ms
    assert gaps[:5] == [250, 500, 1000, 2000, 4000], gaps
    assert len(times) == 1 + 7 + 1          # data, 7 retries, final RST


def test_user_timeout():
    a, b, link, client, server = connected(tcp_opts={"user_timeout": 1200, "max_retries": 50})
    link.tap = lambda f, src: None if src is b else f
    client.send(b"hello")
    link.run(lambda: client.state == "CLOSED", limit_ms=5000)
    assert ("tcp_closed", client, "user timeout") in a.events


def inject(stack, src_stack, conn_from, seq, ack, flags, data=b"", wnd=4096, sport=None, dport=None):
    """Hand-craft a segment from src_stack's address to stack."""
    sport = conn_from.local_port if sport is None else sport
    dport = conn_from.remote_port if dport is None else dport
    seg = tcp.build(src_stack.ip, stack.ip, sport, dport, seq, ack, flags, wnd, data)
    frame = (ipv6.eth_header(stack.mac, src_stack.mac)
             + ipv6.build_header(src_stack.ip, stack.ip, ipv6.NH_TCP, len(seg)) + seg)
    stack.handle_frame(frame, 0)


def tx_segments(s):
    out = []
    for f in s.tx:
        p = ipv6.parse(f[14:])
        if p and p[2] == ipv6.NH_TCP:
            out.append(tcp.parse(p[0], p[1], p[4]))
    s.tx = []
    return out


def test_rst_must_be_exact_or_gets_challenge_ack():
    a, b, link, client, server = connected()
    nxt = server.rcv_nxt
    # In window but not exact: challenge ACK, connection lives.
    inject(b, a, client, tcp.seq_add(nxt, 100), 0, tcp.RST)
    segs = tx_segments(b)
    assert len(segs) == 1 and segs[0][4] == tcp.ACK and segs[0][3] == nxt
    assert server.state == "ESTABLISHED"
    # Out of window: silently dropped.
    inject(b, a, client, tcp.seq_add(nxt, 100000), 0, tcp.RST)
    assert tx_segments(b) == [] and server.state == "ESTABLISHED"
    # Exact: reset.
    inject(b, a, client, nxt, 0, tcp.RST)
    assert server.state == "CLOSED"
    assert ("tcp_closed", server, "reset") in b.events


def test_out_of_window_segment_acked_and_dropped():
    a, b, link, client, server = connected()
    nxt = server.rcv_nxt
    inject(b, a, client, tcp.seq_add(nxt, 70000), server.snd_nxt, tcp.ACK, b"junk")
    segs = tx_segments(b)
    assert len(segs) == 1 and segs[0][3] == nxt       # duplicate ACK
    assert server.available() == 0
    # Old duplicate data (before rcv_nxt) is also just acknowledged.
    inject(b, a, client, tcp.seq_add(nxt, -4 & 0xFFFFFFFF), server.snd_nxt, tcp.ACK, b"old!")
    segs = tx_segments(b)
    assert len(segs) == 1 and segs[0][3] == nxt and server.available() == 0


def test_odd_flags_dropped():
    a, b, link, client, server = connected()
    nxt = server.rcv_nxt
    d0 = b.dropped
    inject(b, a, client, nxt, server.snd_nxt, tcp.SYN | tcp.FIN)       # nonsense
    assert tx_segments(b) == [] and b.dropped == d0 + 1
    inject(b, a, client, nxt, 0, tcp.PSH, b"no ack bit")                 # no ACK: ignored
    assert tx_segments(b) == [] and server.available() == 0
    inject(b, a, client, nxt, server.snd_nxt, tcp.SYN | tcp.ACK)        # SYN in window
    segs = tx_segments(b)
    assert len(segs) == 1 and segs[0][4] == tcp.ACK                      # challenge ACK
    assert server.state == "ESTABLISHED"
    inject(b, a, client, nxt, tcp.seq_add(server.snd_max, 5000), tcp.ACK, b"ack ahead")
    segs = tx_segments(b)
    assert len(segs) == 1 and server.available() == 0                    # acks unsent data: dropped
    assert server.state == "ESTABLISHED"
    # Still works afterwards.
    client.send(b"fine")
    link.run(lambda: server.available() == 4)
    assert server.recv() == b"fine"


def test_unknown_port_syn_gets_rst_and_stray_ack_gets_rst():
    a, b = pair()
    b._learn(a.ip, a.mac, True, 0)          # as if an NS had arrived
    seg = tcp.build(a.ip, b.ip, 40000, 81, 1000, 0, tcp.SYN, 1000)
    frame = ipv6.eth_header(b.mac, a.mac) + ipv6.build_header(a.ip, b.ip, ipv6.NH_TCP, len(seg)) + seg
    b.handle_frame(frame, 0)
    p = ipv6.parse(b.tx[0][14:])
    r = tcp.parse(p[0], p[1], p[4])
    assert r[4] == tcp.RST | tcp.ACK and r[3] == 1001 and r[2] == 0
    b.tx = []
    seg = tcp.build(a.ip, b.ip, 40000, 81, 1000, 5555, tcp.ACK, 1000, b"x")
    b.handle_frame(ipv6.eth_header(b.mac, a.mac) + ipv6.build_header(a.ip, b.ip, ipv6.NH_TCP, len(seg)) + seg, 0)
    p = ipv6.parse(b.tx[0][14:])
    r = tcp.parse(p[0], p[1], p[4])
    assert r[4] == tcp.RST and r[2] == 5555
    b.tx = []
    seg = tcp.build(a.ip, b.ip, 40000, 81, 1000, 5555, tcp.RST, 1000)
    b.handle_frame(ipv6.eth_header(b.mac, a.mac) + ipv6.build_header(a.ip, b.ip, ipv6.NH_TCP, len(seg)) + seg, 0)
    assert b.tx == []                        # never answer a RST


def test_bad_checksum_and_lengths_dropped():
    a, b, link, client, server = connected()
    client.send(b"data")
    a.poll(link.now)
    frame = bytearray(a.tx.pop())
    good = bytes(frame)
    frame[-1] ^= 0xFF                          # payload byte: checksum fails
    b.handle_frame(bytes(frame), link.now)
    assert server.available() == 0 and b.dropped == 1
    short = bytearray(good)
    short[18:20] = bytes(((len(good) - 54 + 10) >> 8, (len(good) - 54 + 10) & 0xFF))
    b.handle_frame(bytes(short), link.now)     # payload length past the frame
    assert b.dropped == 2
    nh = bytearray(good)
    nh[20] = 99                                # unknown next header
    b.handle_frame(bytes(nh), link.now)
    assert b.dropped == 3
    b.handle_frame(good + bytes(20), link.now)  # Ethernet padding is fine
    assert server.recv() == b"data" and b.dropped == 3


def test_reset_closes_connections_silently():
    a, b, link, client, server = connected()
    a.reset()
    assert a.tx == [] and client.state == "CLOSED"
    assert ("tcp_closed", client, "link down") in a.events
    assert a.connections() == [] and a.next_deadline() is None


def test_listener_limit_and_half_open_not_surfaced():
    a, b = pair(max_conns=1)
    b.tcp_listen(PORT)
    link = Link(a, b)
    c1 = a.tcp_connect(b.ip, PORT, link.now)
    link.run(lambda: c1.state == "ESTABLISHED")
    d0 = b.dropped
    c2 = a.tcp_connect(b.ip, PORT, link.now)
    link.settle(100)
    assert c2.state == "SYN_SENT" and b.dropped > d0        # SYN ignored, client retries
    s1 = events(b, "tcp_accept")[0][1]
    c1.close(link.now)
    s1.close(link.now)
    link.run(lambda: c2.state == "ESTABLISHED", limit_ms=10000)
    assert [e[1] for e in b.events if e[0] == "tcp_accept"] != [s1]


def test_sequence_wraparound():
    a, b = pair()
    b.tcp_listen(PORT)
    # Initial sequence numbers just below 2^32.
    a.rng = lambda n: b"\xff\xff\xff\x00"[:n] if n == 4 else Rand(3).bytes(n)
    b.rng = lambda n: b"\xff\xff\xfe\x00"[:n] if n == 4 else Rand(4).bytes(n)
    link = Link(a, b, loss=0.05, reorder=0.1, seed=3)
    client = a.tcp_connect(b.ip, PORT, link.now)
    assert client.iss == 0xFFFFFF00
    link.run(lambda: any(e[0] == "tcp_accept" for e in b.events))
    server = events(b, "tcp_accept")[0][1]
    up = Transfer(client, server, pattern(20000, 5))
    down = Transfer(server, client, pattern(20000, 6))
    link.run(lambda: up.done() and down.done(), limit_ms=120000,
             work=lambda: (up.work(link.now), down.work(link.now)))
    assert up.got == up.data and bytes(down.got) == down.data
    assert client.snd_una < 0x10000 and server.snd_una < 0x10000       # wrapped


def test_seq_helpers():
    assert tcp.seq_lt(0xFFFFFFF0, 5) and not tcp.seq_lt(5, 0xFFFFFFF0)
    assert tcp.seq_le(7, 7) and tcp.seq_add(0xFFFFFFFF, 2) == 1
    assert tcp.seq_diff(3, 0xFFFFFFFE) == 5


def test_ring_buffer_wraps():
    r = tcp._Ring(10)
    assert r.write(b"abcdefgh") == 8
    assert r.read(6) == b"abcdef"
    assert r.write(b"123456789") == 8
    assert r.peek(0, 10) == b"gh12345678"
    r.consume(4)
    assert r.read(6) == b"345678" and r.n == 0


def test_out_of_order_and_duplicate_segments_delivered_once():
    a, b, link, client, server = connected()
    nxt = server.rcv_nxt
    ack = server.snd_nxt
    parts = [b"A" * 100, b"B" * 100, b"C" * 100, b"D" * 100]
    offs = [0, 100, 200, 300]
    for i in (2, 3, 1, 3, 2):                          # holes, duplicates, overlap
        inject(b, a, client, tcp.seq_add(nxt, offs[i]), ack, tcp.ACK, parts[i])
        segs = tx_segments(b)
        assert segs[-1][3] == nxt                      # duplicate ACK: still waiting for A
    assert server.available() == 0
    inject(b, a, client, tcp.seq_add(nxt, 150), ack, tcp.ACK, b"B" * 50 + b"C" * 50)   # overlap inside
    inject(b, a, client, nxt, ack, tcp.ACK, parts[0])
    segs = tx_segments(b)
    assert segs[-1][3] == tcp.seq_add(nxt, 400)        # everything at once
    assert server.recv() == b"".join(parts)
    inject(b, a, client, tcp.seq_add(nxt, 50), ack, tcp.ACK, b"A" * 50 + b"B" * 100)   # old again
    assert server.available() == 0 and tx_segments(b)[-1][3] == tcp.seq_add(nxt, 400)


def test_out_of_order_ranges_are_bounded():
    a, b, link, client, server = connected()
    nxt = server.rcv_nxt
    ack = server.snd_nxt
    for k in range(1, 8):                              # 7 separate islands
        inject(b, a, client, tcp.seq_add(nxt, k * 200), ack, tcp.ACK, b"x" * 100)
    assert len(server._ooo) == tcp.MAX_OOO
    tx_segments(b)


def test_time_wait_answers_retransmitted_fin():
    a, b, link, client, server = connected()
    client.close(link.now)
    link.run(lambda: server.state == "CLOSE_WAIT" and client.state == "FIN_WAIT_2")
    server.close(link.now)
    b.poll(link.now)
    fin = b.tx[0]
    link.run(lambda: client.state == "TIME_WAIT")
    t0 = link.now
    link.settle(600)
    a.handle_frame(fin, link.now)                      # the FIN again (our ACK was lost)
    segs = tx_segments(a)
    assert len(segs) == 1 and segs[0][4] == tcp.ACK
    link.run(lambda: client.state == "CLOSED")
    assert link.now - t0 >= 1600                        # TIME_WAIT restarted


def test_simultaneous_open_connection_level():
    ip1 = ipv6.link_local(b"\x02\x00\x00\x00\x00\x01")
    ip2 = ipv6.link_local(b"\x02\x00\x00\x00\x00\x02")
    c1 = tcp.TcpConnection(ip1, 1000, ip2, 2000, 0x10000)
    c2 = tcp.TcpConnection(ip2, 2000, ip1, 1000, 0xFFFFFFF0)
    c1.open(0)
    c2.open(0)
    for _ in range(6):
        for src, dst, sip, dip in ((c1, c2, ip1, ip2), (c2, c1, ip2, ip1)):
            segs = src.out
            src.out = []
            for seg in segs:
                r = tcp.parse(sip, dip, seg)
                dst.handle(r[2], r[3], r[4], r[5], r[6], r[7], 10)
    assert c1.state == "ESTABLISHED" and c2.state == "ESTABLISHED"
    assert c1.send(b"ping") == 4
    c1.poll(20)
    r = tcp.parse(ip1, ip2, c1.out.pop())
    c2.handle(r[2], r[3], r[4], r[5], r[6], r[7], 20)
    assert c2.recv() == b"ping"


def test_fin_wait_2_times_out_when_peer_never_closes():
    a, b, link, client, server = connected(tcp_opts={"fin_wait_2_timeout": 5000})
    client.close(link.now)
    link.run(lambda: client.state == "FIN_WAIT_2")
    t0 = link.now
    link.run(lambda: client.state == "CLOSED", limit_ms=10000)   # server app never closes
    assert 5000 <= link.now - t0 <= 5010
    assert ("tcp_closed", client, "timeout") in a.events
    link.run(lambda: server.state == "CLOSED")                     # our RST reached it
    assert ("tcp_closed", server, "reset") in b.events


def _closed_pair():
    """A connection both sides closed (in TIME_WAIT and beyond); returns
    (a, b, link, the server's rings while it was open)."""
    a, b, link, client, server = connected()
    rings = (server.rx, server.tx)
    client.close(link.now)
    server.close(link.now)
    link.run(lambda: client.state == "CLOSED" and server.state == "CLOSED", limit_ms=60000)
    return a, b, link, rings


def test_next_connection_takes_over_the_rings_of_a_closed_one():
    a, b, link, rings = _closed_pair()
    b.events = []           # the owner has heard the last of the old connection
    client = a.tcp_connect(b.ip, PORT, link.now)
    link.run(lambda: any(e[0] == "tcp_accept" for e in b.events))
    server = events(b, "tcp_accept")[0][1]
    assert (server.rx, server.tx) == rings and server.rx.n == 0 and server.tx.n == 0
    up = Transfer(client, server, pattern(9000, 3))       # more than a ring holds
    link.run(up.done, limit_ms=60000, work=lambda: up.work(link.now))
    assert up.got == up.data


def test_rings_stay_with_a_closed_connection_the_owner_has_not_heard_of():
    a, b, link, rings = _closed_pair()
    assert any(e[0] == "tcp_closed" for e in b.events)     # not read by the owner yet
    client = a.tcp_connect(b.ip, PORT, link.now)
    link.run(lambda: any(e[0] == "tcp_accept" for e in b.events))
    server = events(b, "tcp_accept")[0][1]
    assert server.rx is not rings[0] and server.tx is not rings[1]


def test_first_connection_uses_the_rings_taken_at_start_up():
    a, b = pair()
    spare = list(b._spare)
    assert len(spare) == 1
    b.tcp_listen(PORT)
    link = Link(a, b)
    a.tcp_connect(b.ip, PORT, link.now)
    link.run(lambda: any(e[0] == "tcp_accept" for e in b.events))
    server = events(b, "tcp_accept")[0][1]
    assert (server.rx, server.tx) == spare[0] and b._spare == []
