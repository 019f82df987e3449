"""NetStack: one link-local IPv6 interface with ND, echo, UDP and TCP.

Sans-I/O: Ethernet frames in through ``handle_frame(frame, now)``, frames
out on ``.tx``, events on ``.events``:

  ('udp', local_port, src_ip, src_port, payload)
  ('tcp_accept', conn)      a passive connection reached ESTABLISHED
  ('tcp_connected', conn)   an active one did
  ('tcp_data', conn)        new bytes to ``conn.recv()``
  ('tcp_eof', conn)         the peer sent FIN (``conn.eof``); close() when done
  ('tcp_closed', conn, reason)   once per connection (see tcp.py for reasons;
                            'link down' after reset())
  ('nd_failed', ip)         no answer to 3 neighbour solicitations; packets
                            queued for it were dropped

After ``conn.send()``, ``conn.recv()`` or ``conn.close()`` the segments leave on
the next ``poll(now)``; ``next_deadline()`` then returns the last ``now`` seen.

Neighbour cache: at most ``nd_cache`` entries, learned from NS source and NA
target link-layer options; entries do not age (a charging link has exactly
one peer; ``reset()`` clears them when the cable goes).  While an address
resolves, up to ``ND_QUEUE`` packets wait; the NS is repeated every
``nd_retrans`` ms and given up after ``nd_retries`` tries.  DAD probes for our
address are ignored (the address comes from the modem-unique MAC).
"""

from . import icmpv6, ipv6, tcp, udp

from ..compat import const

ND_QUEUE = const(3)
MTU = const(1500)        # Ethernet: a longer packet cannot be on the link
_EPHEMERAL = const(49152)


class NetStack:
    def __init__(self, mac, rng=None, rx_window=4096, mss=tcp.DEFAULT_MSS, tx_buffer=4096,
                 max_conns=4, nd_cache=8, nd_retrans=1000, nd_retries=3, tcp_opts=None,
                 prealloc_conns=1):
        self.mac = bytes(mac)
        if rng is None:
            raise TypeError("NetStack needs rng: the app's random source (no platform default)")
        self.rng = rng
        self.ip = ipv6.link_local(self.mac)
        self.snm = ipv6.solicited_node(self.ip)
        self._snm_mac = ipv6.multicast_mac(self.snm)
        self.rx_window = rx_window
        self.mss = mss
        self.tx_buffer = tx_buffer
        self.max_conns = max_conns
        self.nd_cache = nd_cache
        self.nd_retrans = nd_retrans
        self.nd_retries = nd_retries
        self.tcp_opts = tcp_opts or {}
        self.tx = []
        self.events = []
        self.dropped = 0
        self._nc = {}            # ip -> [mac or None, deadline, tries, queued packets]
        self._udp = set()
        self._listen = set()
        self._conns = {}         # (remote ip, remote port, local port) -> TcpConnection
        self._surfaced = set()   # id() of connections the owner knows about
        self._now = 0
        # Closed connections whose (rx, tx) rings the next ones take over:
        # the largest allocations of the stack are made once per concurrent
        # connection, not once per connection (a fragmented MCU heap may have
        # no contiguous block left for them later).
        self._closed = []
        # Rings for the first prealloc_conns connections, taken now, while
        # the heap is still in one piece (a charging link has one at a time).
        self._spare = [tcp.new_rings(min(rx_window, 65535), tx_buffer) for _ in range(prealloc_conns)]

    # ----------------------------------------------------------- owner API
    def udp_bind(self, port):
        self._udp.add(port)

    def udp_unbind(self, port):
        self._udp.discard(port)

    def tcp_listen(self, port):
        self._listen.add(port)

    def tcp_unlisten(self, port):
        self._listen.discard(port)

    def connections(self):
        return list(self._conns.values())

    def udp_send(self, dst_ip, dst_port, src_port, payload, now):
        self._now = now
        self._send_ip(dst_ip, ipv6.NH_UDP, udp.build(self.ip, dst_ip, src_port, dst_port, payload), now)

    def tcp_connect(self, dst_ip, dst_port, now):
        self._now = now
        while True:
            port = _EPHEMERAL + (int.from_bytes(self.rng(2), "big") & 0x3FFF)
            if (dst_ip, dst_port, port) not in self._conns and port not in self._listen:
                break
        conn = self._new_conn(port, dst_ip, dst_port)
        self._conns[(dst_ip, dst_port, port)] = conn
        self._surfaced.add(id(conn))
        conn.open(now)
        self._drain(conn, now)
        return conn

    def ping(self, dst_ip, ident, seq, data, now):
        self._now = now
        msg = icmpv6.build_echo(self.ip, dst_ip, icmpv6.ECHO_REQUEST, ident, seq, data)
        self._send_ip(dst_ip, ipv6.NH_ICMPV6, msg, now)

    def reset(self):
        """Cable pulled: forget connections and neighbours, send nothing."""
        for conn in list(self._conns.values()):
            if conn.state != tcp.CLOSED:
                conn._closed("link down")
                conn.state = tcp.CLOSED
            conn.out = []
            self._take_events(conn)
            self._retire(conn)
        self._conns = {}
        self._surfaced = set()
        self._nc = {}
        self.tx = []

    # ----------------------------------------------------------- timers
    def next_deadline(self):
        d = None
        for e in self._nc.values():
            if e[0] is None and (d is None or e[1] < d):
                d = e[1]
        for conn in self._conns.values():
            if conn.pending:
                return self._now
            t = conn.next_deadline()
            if t is not None and (d is None or t < d):
                d = t
        return d

    def poll(self, now):
        self._now = now
        for ip in list(self._nc):
            e = self._nc[ip]
            if e[0] is None and now >= e[1]:
                if e[2] >= self.nd_retries:
                    del self._nc[ip]
                    self.events.append(("nd_failed", ip))
                else:
                    e[2] += 1
                    e[1] = now + self.nd_retrans
                    self._send_ns(ip)
        for conn in list(self._conns.values()):
            conn.poll(now)
            self._drain(conn, now)

    # ----------------------------------------------------------- input
    def handle_frame(self, frame, now):
        self._now = now
        if not ipv6.ETH_HLEN + ipv6.HEADER_LEN <= len(frame) <= ipv6.ETH_HLEN + MTU:
            # Too long for the link, too: an echo reply to it would be as long.
            self.dropped += 1
            return
        mv = memoryview(frame)
        dmac = bytes(mv[0:6])
        if not (dmac == self.mac or dmac == ipv6.ALL_NODES_MAC or dmac == self._snm_mac
                or dmac == ipv6.BROADCAST_MAC):
            self.dropped += 1
            return
        if (mv[12] << 8) | mv[13] != ipv6.ETH_P_IPV6:
            self.dropped += 1
            return
        p = ipv6.parse(mv[ipv6.ETH_HLEN:])
        if p is None:
            self.dropped += 1
            return
        src, dst, nh, hop, payload = p
        if ipv6.is_multicast(src) or not (ipv6.is_link_local(src) or src == ipv6.UNSPECIFIED):
            self.dropped += 1
            return
        if not (dst == self.ip or dst == ipv6.ALL_NODES or dst == self.snm):
            self.dropped += 1
            return
        if nh == ipv6.NH_ICMPV6:
            ok = self._icmp(src, dst, hop, payload, bytes(mv[6:12]), now)
        elif src == ipv6.UNSPECIFIED:
            ok = False
        elif nh == ipv6.NH_UDP:
            ok = self._udp_in(src, dst, payload)
        else:
            ok = dst == self.ip and self._tcp_in(src, payload, now)
        if not ok:
            self.dropped += 1

    def _icmp(self, src, dst, hop, payload, smac, now):
        p = icmpv6.parse(src, dst, payload)
        if p is None:
            return False
        typ, code, msg = p
        if typ == icmpv6.NEIGHBOR_SOLICIT:
            r = icmpv6.parse_ns(src, dst, hop, msg)
            if r is None:
                return False
            target, mac = r
            if target != self.ip or src == ipv6.UNSPECIFIED:
                return True
            if mac is not None:
                self._learn(src, mac, True, now)
            na = icmpv6.build_na(self.ip, src, self.ip, self.mac)
            self.tx.append(ipv6.eth_header(mac or smac, self.mac)
                           + ipv6.build_header(self.ip, src, ipv6.NH_ICMPV6, len(na), icmpv6.ND_HOP_LIMIT)
                           + na)
            return True
        if typ == icmpv6.NEIGHBOR_ADVERT:
            r = icmpv6.parse_na(src, dst, hop, msg)
            if r is None:
                return False
            target, flags, mac = r
            if mac is not None:
                self._learn(target, mac, False, now)
            return True
        if typ == icmpv6.ECHO_REQUEST:
            r = icmpv6.parse_echo(msg)
            if r is None or src == ipv6.UNSPECIFIED:
                return False
            ident, seq, data = r
            reply = icmpv6.build_echo(self.ip, src, icmpv6.ECHO_REPLY, ident, seq, data)
            self._send_ip(src, ipv6.NH_ICMPV6, reply, now)
            return True
        if typ == icmpv6.ECHO_REPLY:
            r = icmpv6.parse_echo(msg)
            if r is None:
                return False
            self.events.append(("echo_reply", src, r[0], r[1], bytes(r[2])))
            return True
        return True                               # other ICMPv6: ignored

    def _udp_in(self, src, dst, payload):
        r = udp.parse(src, dst, payload)
        if r is None or r[1] not in self._udp:
            return False
        self.events.append(("udp", r[1], src, r[0], bytes(r[2])))
        return True

    def _tcp_in(self, src, payload, now):
        r = tcp.parse(src, self.ip, payload)
        if r is None:
            return False
        sport, dport, seq, ack, flags, wnd, mss, data = r
        if flags & tcp.SYN and flags & (tcp.FIN | tcp.RST):
            return False                          # nonsense combinations
        conn = self._conns.get((src, sport, dport))
        if conn is not None and conn.state != tcp.CLOSED:
            conn.handle(seq, ack, flags, wnd, mss, data, now)
            self._drain(conn, now)
            return True
        if flags & (tcp.SYN | tcp.ACK | tcp.RST) == tcp.SYN and dport in self._listen:
            live = 0
            for c in self._conns.values():
                if c.state != tcp.CLOSED and c.state != tcp.TIME_WAIT:
                    live += 1
            if live >= self.max_conns:
                return False                      # the client will retry
            conn = self._new_conn(dport, src, sport)
            self._conns[(src, sport, dport)] = conn
            conn.accept(seq, wnd, mss, now)
            self._drain(conn, now)
            return True
        seglen = len(data) + (1 if flags & tcp.SYN else 0) + (1 if flags & tcp.FIN else 0)
        rst = tcp.reset_for(self.ip, src, dport, sport, seq, ack, flags, seglen)
        if rst is not None:
            self._send_ip(src, ipv6.NH_TCP, rst, now)
        return False

    # ----------------------------------------------------------- internals
    def _new_conn(self, lport, rip, rport):
        iss = int.from_bytes(self.rng(4), "big")
        rings = self._reusable_rings()
        return tcp.TcpConnection(self.ip, lport, rip, rport, iss, mss=self.mss,
                                 rx_window=self.rx_window, tx_buffer=self.tx_buffer,
                                 rings=rings, **self.tcp_opts)

    def _drain(self, conn, now):
        if conn.out:
            segs = conn.out
            conn.out = []
            for seg in segs:
                self._send_ip(conn.remote_ip, ipv6.NH_TCP, seg, now)
        self._take_events(conn)
        if conn.state == tcp.CLOSED:
            key = (conn.remote_ip, conn.remote_port, conn.local_port)
            if self._conns.get(key) is conn:
                del self._conns[key]
                self._retire(conn)
            self._surfaced.discard(id(conn))

    def _retire(self, conn):
        self._closed.append(conn)
        if len(self._closed) > self.max_conns:
            self._closed.pop(0)         # its rings go to the collector

    def _reusable_rings(self):
        """Preallocated rings, else those of a closed connection the owner
        has heard the last of (no event about it still queued: a tcp_data
        the owner has not read yet keeps its rx ring), else None."""
        if self._spare:
            return self._spare.pop()
        for i, conn in enumerate(self._closed):
            if not any(len(ev) > 1 and ev[1] is conn for ev in self.events):
                del self._closed[i]
                return conn.release()
        return None

    def _take_events(self, conn):
        if not conn.events:
            return
        evs = conn.events
        conn.events = []
        for ev in evs:
            name = ev[0]
            if name == "accept":
                self._surfaced.add(id(conn))
                self.events.append(("tcp_accept", conn))
            elif id(conn) not in self._surfaced:
                continue                          # a half-open passive connection died
            elif name == "connected":
                self.events.append(("tcp_connected", conn))
            elif name == "data":
                self.events.append(("tcp_data", conn))
            elif name == "eof":
                self.events.append(("tcp_eof", conn))
            elif name == "closed":
                self.events.append(("tcp_closed", conn, ev[1]))

    def _learn(self, ip, mac, create, now):
        e = self._nc.get(ip)
        if e is None:
            if not create:
                return
            if len(self._nc) >= self.nd_cache:
                for k in self._nc:                # evict one entry, any
                    del self._nc[k]
                    break
            self._nc[ip] = [mac, 0, 0, []]
            return
        e[0] = mac
        queued = e[3]
        e[3] = []
        for packet in queued:
            self.tx.append(ipv6.eth_header(mac, self.mac) + packet)

    def _send_ns(self, target):
        snm = ipv6.solicited_node(target)
        ns = icmpv6.build_ns(self.ip, snm, target, self.mac)
        self.tx.append(ipv6.eth_header(ipv6.multicast_mac(snm), self.mac)
                       + ipv6.build_header(self.ip, snm, ipv6.NH_ICMPV6, len(ns), icmpv6.ND_HOP_LIMIT)
                       + ns)

    def _send_ip(self, dst, nh, payload, now):
        packet = ipv6.build_header(self.ip, dst, nh, len(payload)) + payload
        if ipv6.is_multicast(dst):
            self.tx.append(ipv6.eth_header(ipv6.multicast_mac(dst), self.mac) + packet)
            return
        e = self._nc.get(dst)
        if e is not None and e[0] is not None:
            self.tx.append(ipv6.eth_header(e[0], self.mac) + packet)
            return
        if e is None:
            if len(self._nc) >= self.nd_cache:
                for k in self._nc:
                    del self._nc[k]
                    break
            e = self._nc[dst] = [None, now + self.nd_retrans, 1, []]
            self._send_ns(dst)
        if len(e[3]) < ND_QUEUE:
            e[3].append(packet)
