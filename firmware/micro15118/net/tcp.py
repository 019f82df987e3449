"""A small sans-I/O TCP (RFC 9293 subset) for one connection.

What is in: three-way handshake (active, passive and simultaneous open), the
MSS option (ours sent, the peer's honoured; no other option is sent, window
scaling and SACK are not offered), sequence arithmetic mod 2^32, a bounded
receive ring whose free space is the advertised window (the right edge never
shrinks), up to ``MAX_OOO`` out-of-order ranges kept in that same ring (so the
receive side uses exactly ``rx_window`` bytes), a bounded send ring
(``send`` returns how much it took), segmentation to min(peer MSS, peer
window), FIN both ways (half-close), RST validation (RFC 5961: exact sequence
resets, in-window ones get a challenge ACK), zero-window probes.

Retransmission: one timer, initial RTO ``rto`` (250 ms), doubled on every
expiry up to ``rto_max`` (4 s); on expiry everything unacknowledged is resent
from SND.UNA (go-back-N, the peer's out-of-order buffer makes that cheap).
After ``max_retries`` (7) consecutive expiries the connection is aborted with
reason 'timeout' (about 20 s with the defaults).  There is no RTT estimation
and no congestion control: the only path is one hop on a dedicated link.
Three duplicate ACKs trigger an early go-back-N retransmission.

Timers besides: ``connect_timeout`` (handshake), ``user_timeout`` (data
unacknowledged that long aborts, RFC 9293 §3.8.3; this includes a peer that
keeps its window shut that long), ``fin_wait_2_timeout`` (60 s: a peer that
never closes its half does not pin the connection's buffers forever) and a
short ``time_wait`` (1 s instead of 2 MSL: a charging link is point-to-point
and client ports are random).  No keep-alives: V2G has its own timeouts.

Not done: sender-side silly-window avoidance and Nagle (V2G writes whole
messages), delayed ACKs (every data segment is acknowledged at once),
urgent data (URG is ignored), window scaling, SACK, timestamps.

The connection produces TCP segments (checksummed) in ``.out`` and events in
``.events``: ('accept',) ('connected',) ('data',) ('eof',) ('closed', reason).
'closed' comes exactly once, when both directions are done (entering
TIME_WAIT or CLOSED) or the connection dies; reasons: 'closed', 'reset',
'refused', 'timeout', 'connect timeout', 'user timeout', 'aborted'.
"""
import struct

from . import ipv6

from ..compat import const

FIN = const(0x01)
SYN = const(0x02)
RST = const(0x04)
PSH = const(0x08)
ACK = const(0x10)
URG = const(0x20)
HEADER_LEN = const(20)
DEFAULT_MSS = const(1220)     # RFC 9293 §3.7.1 default for IPv6
MAX_MSS = const(1440)         # 1500-byte Ethernet MTU - 40 - 20
MIN_MSS = const(64)
MAX_OOO = const(4)
_M = const(0xFFFFFFFF)

CLOSED = "CLOSED"
LISTEN = "LISTEN"
SYN_SENT = "SYN_SENT"
SYN_RCVD = "SYN_RCVD"
ESTABLISHED = "ESTABLISHED"
FIN_WAIT_1 = "FIN_WAIT_1"
FIN_WAIT_2 = "FIN_WAIT_2"
CLOSE_WAIT = "CLOSE_WAIT"
CLOSING = "CLOSING"
LAST_ACK = "LAST_ACK"
TIME_WAIT = "TIME_WAIT"

# States in which our sequence numbers are synchronised with the peer's.
_SYNCED = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)
_RECEIVING = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2)
_SENDING = (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK)


def seq_lt(a, b):
    return a != b and ((a - b) & _M) > 0x7FFFFFFF


def seq_le(a, b):
    return a == b or ((a - b) & _M) > 0x7FFFFFFF


def seq_add(a, n):
    return (a + n) & _M


def seq_diff(a, b):
    """a - b mod 2^32 (a distance when a is at or after b)."""
    return (a - b) & _M


def parse(src, dst, msg):
    """(sport, dport, seq, ack, flags, window, mss or 0, payload memoryview) or
    None (short, bad checksum, bad data offset, malformed options)."""
    n = len(msg)
    if n < HEADER_LEN or ipv6.upper_checksum(src, dst, ipv6.NH_TCP, msg) != 0:
        return None
    sport, dport, seq, ack, off, flags, wnd = struct.unpack_from(">HHIIBBH", msg, 0)
    doff = (off >> 4) * 4
    if doff < HEADER_LEN or doff > n or sport == 0 or dport == 0:
        return None
    mss = 0
    i = HEADER_LEN
    while i < doff:
        kind = msg[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= doff:
            return None
        ln = msg[i + 1]
        if ln < 2 or i + ln > doff:
            return None
        if kind == 2:
            if ln != 4:
                return None
            mss = (msg[i + 2] << 8) | msg[i + 3]
        i += ln
    return sport, dport, seq, ack, flags & 0x3F, wnd, mss, memoryview(msg)[doff:]


def build(src, dst, sport, dport, seq, ack, flags, wnd, payload=b"", mss=0):
    opts = struct.pack(">BBH", 2, 4, mss) if mss else b""
    hlen = HEADER_LEN + len(opts)
    msg = bytearray(struct.pack(">HHIIBBHHH", sport, dport, seq, ack, (hlen // 4) << 4,
                                flags, wnd, 0, 0))
    msg += opts
    msg += payload
    c = ipv6.upper_checksum(src, dst, ipv6.NH_TCP, msg)
    msg[16] = c >> 8
    msg[17] = c & 0xFF
    return bytes(msg)


def reset_for(src, dst, sport, dport, seq, ack, flags, seglen):
    """The RST answering a segment that matches no connection (RFC 9293
    §3.10.7.1), or None if the segment itself is a RST.  src/dst/ports are
    those of the answer."""
    if flags & RST:
        return None
    if flags & ACK:
        return build(src, dst, sport, dport, ack, 0, RST, 0)
    return build(src, dst, sport, dport, 0, seq_add(seq, seglen), RST | ACK, 0)


class _Ring:
    """Fixed-size byte ring; preallocated once (MicroPython cannot delete
    bytearray slices, and a ring never moves data)."""

    def __init__(self, size):
        self.buf = bytearray(size)
        self.size = size
        self.head = 0
        self.n = 0

    def free(self):
        return self.size - self.n

    def _put(self, pos, data):
        k = len(data)
        first = self.size - pos
        if k <= first:
            self.buf[pos:pos + k] = data
        else:
            self.buf[pos:] = data[:first]
            self.buf[:k - first] = data[first:]

    def put_at(self, off, data):
        """Write beyond the committed bytes (off counts from their end)."""
        self._put((self.head + self.n + off) % self.size, data)

    def write(self, data):
        k = min(len(data), self.size - self.n)
        if k:
            self.put_at(0, memoryview(data)[:k])
            self.n += k
        return k

    def peek(self, off, k):
        pos = (self.head + off) % self.size
        first = self.size - pos
        if k <= first:
            return bytes(self.buf[pos:pos + k])
        return bytes(self.buf[pos:]) + bytes(self.buf[:k - first])

    def consume(self, k):
        self.head = (self.head + k) % self.size
        self.n -= k

    def clear(self):
        self.head = 0
        self.n = 0

    def read(self, k):
        data = self.peek(0, k)
        self.consume(k)
        return data


def new_rings(rx_size, tx_size):
    """An (rx, tx) ring pair for a TcpConnection."""
    return _Ring(rx_size), _Ring(tx_size)


_NO_RING = _Ring(1)      # what a released connection holds (n = 0: no data)


class TcpConnection:
    def __init__(self, local_ip, local_port, remote_ip, remote_port, iss,
                 mss=DEFAULT_MSS, rx_window=4096, tx_buffer=4096, rto=250, rto_max=4000,
                 max_retries=7, connect_timeout=10000, user_timeout=30000, time_wait=1000,
                 fin_wait_2_timeout=60000, rings=None):
        self.local_ip = local_ip
        self.local_port = local_port
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.mss = mss
        self.rto = rto
        self.rto_max = rto_max
        self.max_retries = max_retries
        self.connect_timeout = connect_timeout
        self.user_timeout = user_timeout
        self.time_wait = time_wait
        self.fin_wait_2_timeout = fin_wait_2_timeout
        self.state = CLOSED
        self.out = []
        self.events = []
        # rings: an (rx, tx) pair to reuse (NetStack recycles them, see
        # release()), else new ones
        if rings is None:
            rings = new_rings(min(rx_window, 65535), tx_buffer)
        self.rx, self.tx = rings
        self.iss = iss & _M
        self.snd_una = self.iss
        self.snd_nxt = self.iss
        self.snd_max = self.iss       # highest sequence number sent + 1
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.peer_mss = DEFAULT_MSS
        self.irs = 0
        self.rcv_nxt = 0
        self._adv_right = 0           # right edge of the window we advertised
        self._ooo = []                # [start_seq, end_seq) ranges held beyond rcv_nxt
        self.fin_pending = False      # close() called: FIN follows the data
        self.fin_acked = False
        self.eof = False              # the peer's FIN arrived (in order)
        self.closed_reason = None
        self._rto_cur = rto
        self._retries = 0
        self._dupacks = 0
        self._rtx_at = None
        self._una_since = 0
        self._connect_by = None
        self._tw_until = None
        self._fw2_until = None
        self._ack_needed = False
        self.pending = False          # send()/recv() left work for poll()

    # ----------------------------------------------------------- user API
    @property
    def remote(self):
        return self.remote_ip, self.remote_port

    @property
    def local(self):
        return self.local_ip, self.local_port

    def open(self, now):
        """Active open: send SYN."""
        self.state = SYN_SENT
        self._send_syn(now)
        self._connect_by = now + self.connect_timeout

    def accept(self, seq, wnd, mss, now):
        """Passive open from a listener's SYN."""
        self.irs = seq
        self.rcv_nxt = seq_add(seq, 1)
        self._peer(wnd, mss, seq, self.iss)
        self.state = SYN_RCVD
        self._send_syn(now)
        self._connect_by = now + self.connect_timeout

    def send(self, data):
        """Queue data; returns how many bytes fit in the send buffer.  The
        segments leave on the next poll()."""
        if self.fin_pending or self.state not in (SYN_SENT, SYN_RCVD, ESTABLISHED, CLOSE_WAIT):
            return 0
        k = self.tx.write(data)
        if k:
            self.pending = True
        return k

    def send_space(self):
        if self.fin_pending or self.state not in (SYN_SENT, SYN_RCVD, ESTABLISHED, CLOSE_WAIT):
            return 0
        return self.tx.free()

    def recv(self, maxlen=None):
        k = self.rx.n if maxlen is None else min(maxlen, self.rx.n)
        if k <= 0:
            return b""
        data = self.rx.read(k)
        # Window update once it opened by a useful amount (receiver SWS
        # avoidance, RFC 9293 §3.8.6.2.2).
        if self.state in _RECEIVING:
            grow = seq_diff(seq_add(self.rcv_nxt, self.rx.free()), self._adv_right)
            if grow < 0x80000000 and grow >= min(self.mss, self.rx.size // 2):
                self._ack_needed = True
                self.pending = True
        return data

    def available(self):
        return self.rx.n

    def release(self):
        """The (rx, tx) rings of a CLOSED connection, emptied, for the next
        one; this connection keeps empty rings (nothing to read or send)."""
        rings = self.rx, self.tx
        self.rx = self.tx = _NO_RING
        for r in rings:
            r.clear()
        return rings

    def close(self, now):
        st = self.state
        if st in (SYN_SENT, LISTEN):
            self._closed("closed")
            self.state = CLOSED
            self.pending = True
            return
        if self.fin_pending or st not in (SYN_RCVD, ESTABLISHED, CLOSE_WAIT):
            return
        self.fin_pending = True
        self.pending = True
        if st == ESTABLISHED:
            self.state = FIN_WAIT_1
        elif st == CLOSE_WAIT:
            self.state = LAST_ACK
        self._output(now)
        self._flush()

    def abort(self, now, reason="aborted"):
        if self.state == CLOSED:
            return
        if self.state in _SYNCED or self.state == SYN_RCVD:
            self._emit(self.snd_nxt, 0, RST)
            self.pending = True                 # the owner's poll() drains it
        self._closed(reason)
        self.state = CLOSED

    # ----------------------------------------------------------- timers
    def next_deadline(self):
        d = None
        for t in (self._rtx_at, self._connect_by, self._tw_until, self._fw2_until,
                  self._user_deadline()):
            if t is not None and (d is None or t < d):
                d = t
        return d

    def _user_deadline(self):
        if self.user_timeout and self.state in _SYNCED and self.snd_una != self.snd_max:
            return self._una_since + self.user_timeout
        return None

    def poll(self, now):
        st = self.state
        if st == CLOSED:
            return
        if st == TIME_WAIT:
            if self._tw_until is not None and now >= self._tw_until:
                self.state = CLOSED
                self._tw_until = None
            return
        if self._connect_by is not None and now >= self._connect_by:
            self.abort(now, "connect timeout")
            return
        if self._fw2_until is not None and now >= self._fw2_until:
            if st == FIN_WAIT_2:
                self.abort(now, "timeout")      # the peer never closed its side
                return
            self._fw2_until = None
        ud = self._user_deadline()
        if ud is not None and now >= ud:
            self.abort(now, "user timeout")
            return
        if self._rtx_at is not None and now >= self._rtx_at:
            self._timeout(now)
            if self.state == CLOSED:
                return
        if self.pending:
            self.pending = False
            self._output(now)
        self._flush()

    def _timeout(self, now):
        st = self.state
        outstanding = self.snd_una != self.snd_max
        if not outstanding and not (st in _SENDING and self._unsent() > 0):
            self._rtx_at = None
            return
        if outstanding:
            self._retries += 1
            if self._retries > self.max_retries:
                self.abort(now, "timeout")
                return
        self._rto_cur = min(self._rto_cur * 2, self.rto_max)
        self._rtx_at = now + self._rto_cur
        if st == SYN_SENT or st == SYN_RCVD:
            self._send_syn(now, retransmit=True)
            return
        self.snd_nxt = self.snd_una
        self._output(now, probe=True)

    # ----------------------------------------------------------- input
    def handle(self, seq, ack, flags, wnd, mss, data, now):
        """Process one segment addressed to this connection."""
        st = self.state
        if st == CLOSED or st == LISTEN:
            return
        if st == SYN_SENT:
            self._in_syn_sent(seq, ack, flags, wnd, mss, now)
            self._flush()
            return
        seglen = len(data)
        if flags & SYN:
            seglen += 1
        if flags & FIN:
            seglen += 1
        rwnd = self.rx.free()
        if not self._acceptable(seq, seglen, rwnd):
            if flags & RST:
                return
            if st == SYN_RCVD and flags & SYN and not flags & ACK and seq == self.irs:
                self._send_syn(now, retransmit=True)     # our SYN-ACK was lost
                return
            if rwnd == 0 and seq == self.rcv_nxt and flags & ACK and not flags & SYN:
                # Zero window: still take ACK and window information.
                data = b""
                flags &= ~FIN
                self._ack_needed = True
            else:
                if st == TIME_WAIT and flags & FIN:
                    self._tw_until = now + self.time_wait
                self._ack_needed = True
                self._flush()
                return
        if flags & RST:
            if seq == self.rcv_nxt:
                self._closed("reset")
                self.state = CLOSED
            else:
                self._ack_needed = True        # challenge ACK (RFC 5961 §3)
                self._flush()
            return
        if flags & SYN:
            self._ack_needed = True            # challenge ACK (RFC 5961 §4)
            self._flush()
            return
        if not flags & ACK:
            return
        if st == SYN_RCVD:
            if seq_lt(self.snd_una, ack) and seq_le(ack, self.snd_max):
                self.snd_una = ack
                self.snd_wnd = wnd
                self.snd_wl1 = seq
                self.snd_wl2 = ack
                self._connect_by = None
                self._retries = 0
                self._rto_cur = self.rto
                self._rtx_at = None
                self.state = FIN_WAIT_1 if self.fin_pending else ESTABLISHED
                self.events.append(("accept",))
            else:
                self._emit(ack, 0, RST)
                return
        elif not self._in_ack(seq, ack, wnd, len(data) > 0 or flags & FIN, now):
            self._flush()
            return
        st = self.state
        if st == CLOSED or st == TIME_WAIT and not flags & FIN:
            self._flush()
            return
        if data and st in _RECEIVING:
            self._receive(seq, data)
            self._ack_needed = True
            if self._fw2_until is not None:
                self._fw2_until = now + self.fin_wait_2_timeout   # an idle limit, not a total
        if flags & FIN and seq_add(seq, len(data)) == self.rcv_nxt:
            self._in_fin(now)
        self._output(now)
        self._flush()

    def _acceptable(self, seq, seglen, rwnd):
        rn = self.rcv_nxt
        if seglen == 0:
            if rwnd == 0:
                return seq == rn
            return seq_diff(seq, rn) < rwnd
        if rwnd == 0:
            return False
        return seq_diff(seq, rn) < rwnd or seq_diff(seq_add(seq, seglen - 1), rn) < rwnd

    def _in_ack(self, seq, ack, wnd, has_payload, now):
        """ACK processing in synchronised states; False = drop the segment."""
        if seq_lt(self.snd_max, ack):
            self._ack_needed = True            # acks something never sent
            return False
        if seq_lt(self.snd_una, ack):
            n = seq_diff(ack, self.snd_una)
            k = min(n, self.tx.n)
            self.tx.consume(k)
            if n > k and self.fin_pending:
                self.fin_acked = True
            self.snd_una = ack
            if seq_lt(self.snd_nxt, ack):
                self.snd_nxt = ack
            self._retries = 0
            self._dupacks = 0
            self._rto_cur = self.rto
            self._una_since = now
            self._rtx_at = now + self._rto_cur if ack != self.snd_max else None
        elif (ack == self.snd_una and not has_payload and wnd == self.snd_wnd
              and self.snd_una != self.snd_max):
            self._dupacks += 1
            if self._dupacks == 3:
                self.snd_nxt = self.snd_una    # early go-back-N
        if seq_lt(self.snd_wl1, seq) or (self.snd_wl1 == seq and seq_le(self.snd_wl2, ack)):
            if self.snd_wnd == 0:
                if wnd == 0:
                    self._retries = 0          # the peer answers our probes
                else:
                    self.snd_nxt = self.snd_una    # window opened: resend the probe byte at once
            self.snd_wnd = wnd
            self.snd_wl1 = seq
            self.snd_wl2 = ack
        if self.fin_acked:
            st = self.state
            if st == FIN_WAIT_1:
                self.state = FIN_WAIT_2
                self._rtx_at = None
                if self.fin_wait_2_timeout:
                    self._fw2_until = now + self.fin_wait_2_timeout
            elif st == CLOSING:
                self._enter_time_wait(now)
            elif st == LAST_ACK:
                self._closed("closed")
                self.state = CLOSED
        return True

    def _receive(self, seq, data):
        rn = self.rcv_nxt
        if seq_lt(seq, rn):
            cut = seq_diff(rn, seq)
            data = data[cut:]
            seq = rn
        rel = seq_diff(seq, rn)
        free = self.rx.free()
        if rel >= free or not data:
            return
        data = data[:free - rel]
        end = seq_add(seq, len(data))
        self.rx.put_at(rel, data)
        if rel:
            self._add_range(seq, end)
            return
        # In order: absorb the held ranges it now reaches.
        new_end = end
        merged = True
        while merged:
            merged = False
            for r in self._ooo:
                if seq_le(r[0], new_end):
                    if seq_lt(new_end, r[1]):
                        new_end = r[1]
                    self._ooo.remove(r)
                    merged = True
                    break
        self.rx.n += seq_diff(new_end, rn)
        self.rcv_nxt = new_end
        self.events.append(("data",))

    def _add_range(self, start, end):
        ooo = self._ooo
        for r in ooo:
            if seq_le(r[0], end) and seq_le(start, r[1]):
                if seq_lt(start, r[0]):
                    r[0] = start
                if seq_lt(r[1], end):
                    r[1] = end
                # A grown range may now touch its neighbours.
                for o in ooo:
                    if o is not r and seq_le(o[0], r[1]) and seq_le(r[0], o[1]):
                        if seq_lt(o[0], r[0]):
                            r[0] = o[0]
                        if seq_lt(r[1], o[1]):
                            r[1] = o[1]
                        ooo.remove(o)
                        break
                return
        if len(ooo) < MAX_OOO:
            ooo.append([start, end])
        # else: forget it; the bytes already written are simply not counted.

    def _in_fin(self, now):
        self.rcv_nxt = seq_add(self.rcv_nxt, 1)
        self._ack_needed = True
        if self.eof:
            return
        self.eof = True
        self.events.append(("eof",))
        st = self.state
        if st == ESTABLISHED or st == SYN_RCVD:
            self.state = CLOSE_WAIT
        elif st == FIN_WAIT_1:
            if self.fin_acked:
                self._enter_time_wait(now)
            else:
                self.state = CLOSING
        elif st == FIN_WAIT_2:
            self._enter_time_wait(now)

    def _in_syn_sent(self, seq, ack, flags, wnd, mss, now):
        has_ack = flags & ACK
        if has_ack and (seq_le(ack, self.iss) or seq_lt(self.snd_max, ack)):
            if not flags & RST:
                self._emit(ack, 0, RST)
            return
        if flags & RST:
            if has_ack:
                self._closed("refused")
                self.state = CLOSED
            return
        if not flags & SYN or flags & FIN:
            return
        self.irs = seq
        self.rcv_nxt = seq_add(seq, 1)
        self._peer(wnd, mss, seq, ack)
        if has_ack:
            self.snd_una = ack
            self._connect_by = None
            self._retries = 0
            self._rto_cur = self.rto
            self._rtx_at = None
            self.state = ESTABLISHED
            self.events.append(("connected",))
            self._ack_needed = True
            self._output(now)
        else:
            self.state = SYN_RCVD             # simultaneous open
            self._send_syn(now, retransmit=True)

    def _peer(self, wnd, mss, seq, ack):
        if mss:
            self.peer_mss = max(MIN_MSS, min(mss, MAX_MSS))
        self.snd_wnd = wnd
        self.snd_wl1 = seq
        self.snd_wl2 = ack

    # ----------------------------------------------------------- output
    def _unsent(self):
        off = seq_diff(self.snd_nxt, self.snd_una)
        return self.tx.n - off if off <= self.tx.n else 0

    def _send_syn(self, now, retransmit=False):
        flags = SYN | ACK if self.state == SYN_RCVD else SYN
        self._emit(self.iss, self.rcv_nxt if flags & ACK else 0, flags, mss=self.mss)
        self.snd_nxt = self.snd_max = seq_add(self.iss, 1)
        if not retransmit:
            self._rto_cur = self.rto
            self._rtx_at = now + self.rto

    def _output(self, now, probe=False):
        if self.state not in _SENDING:
            return
        while True:
            off = seq_diff(self.snd_nxt, self.snd_una)
            if off > self.tx.n:
                return                          # FIN already sent
            unsent = self.tx.n - off
            wnd = self.snd_wnd
            if wnd == 0 and probe and off == 0:
                wnd = 1                         # zero-window probe (one byte)
            usable = wnd - off
            if unsent > 0:
                if usable <= 0:
                    if self._rtx_at is None:    # persist timer
                        self._rtx_at = now + self._rto_cur
                    return
                k = min(unsent, usable, self.peer_mss)
                fin = self.fin_pending and k == unsent
                flags = ACK | PSH | FIN if fin else ACK | PSH
                self._send_data(off, k, flags, now)
                if fin:
                    return
            elif self.fin_pending:
                self._send_data(off, 0, ACK | FIN, now)
                return
            else:
                return

    def _send_data(self, off, k, flags, now):
        if self.snd_una == self.snd_max:
            self._una_since = now
        data = self.tx.peek(off, k) if k else b""
        self._emit(self.snd_nxt, self.rcv_nxt, flags, data)
        self.snd_nxt = seq_add(self.snd_nxt, k + (1 if flags & FIN else 0))
        if seq_lt(self.snd_max, self.snd_nxt):
            self.snd_max = self.snd_nxt
        if self._rtx_at is None:
            self._rtx_at = now + self._rto_cur

    def _flush(self):
        if self._ack_needed and self.state != CLOSED:
            self._emit(self.snd_nxt, self.rcv_nxt, ACK)

    def _emit(self, seq, ack, flags, data=b"", mss=0):
        wnd = 0
        if flags & ACK:
            wnd = self.rx.free()
            if wnd > 65535:
                wnd = 65535
            right = seq_add(self.rcv_nxt, wnd)
            if seq_lt(self._adv_right, right) or not self._adv_right:
                self._adv_right = right
            self._ack_needed = False
        self.out.append(build(self.local_ip, self.remote_ip, self.local_port, self.remote_port,
                              seq, ack, flags, wnd, data, mss))

    def _enter_time_wait(self, now):
        self.state = TIME_WAIT
        self._rtx_at = None
        self._fw2_until = None
        self._tw_until = now + self.time_wait
        self._closed("closed")

    def _closed(self, reason):
        self._rtx_at = None
        self._connect_by = None
        if self.closed_reason is None:
            self.closed_reason = reason
            self.events.append(("closed", reason))
