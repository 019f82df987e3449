"""What the charger and vehicle links share, so each role file holds only
what its role decides.

Both links are made of the same parts: a pilot, a SLAC state machine, a link
monitor, the IPv6 stack, the leave-network key and, once TCP is up, one
V2GTP stream.  `Link` feeds them the inputs, polls them, drains their events
into the role's handlers and collects their frames on `.tx`.  A role adds
its pilot and SLAC objects, how and when SLAC (re)starts, how the V2G
connection comes about and what a lost link means.

A role defines:
    _linked()        True in the states where IP traffic flows (SLAC matched)
    _retry_at()      when SLAC starts again after a failure, None when not waiting
    _on_pilot, _on_slac, _on_net (ev, now)   its event handlers; _on_net passes
                     what it does not handle to Link._on_net
    _link_lost(reason, now)
and may extend _homeplug_frame, _start_slac, _event_sources (more parts to
drain) and _send_datagrams (UDP a part queued).

TLS mode: with `link.tls` set (a link/tls.py TlsMode, put there by the board
layer when the board has a host link and TLS is on), the TCP connection
carries TLS terminated on the host: the stream's bytes go to and come from
the host link, the link reports 'connected' only once the host's handshake
passed, and host_event(ev, now) takes the host link's events (the runner
passes them on).  Extra events then: ('tls_open', suite), ('tls_failed',
reason), ('host_up',), ('host_lost', reason).
"""

from .. import v2gtp
from ..net.stack import NetStack
from ..slac.linkmon import LinkMonitor
from .common import (
    ETH_HOMEPLUG, ETH_IPV6, RX_WINDOW, LeaveNetwork, V2gtpStream, earliest, ethertype,
)

SLAC = "slac"           # matching: the state both roles have under this name


class Link:
    def __init__(self, host_mac, rng, max_payload):
        if rng is None:
            raise TypeError(type(self).__name__
                            + " needs rng: the app's random source (no platform default)")
        self.host_mac = bytes(host_mac)
        self.rng = rng
        self.tx = []
        self.events = []
        self.max_payload = max_payload
        self.dropped = 0
        self.monitor = LinkMonitor(self.host_mac)
        self.monitor_kick = False   # poll at once on the peer's first IPv6 frame
        self.net = NetStack(self.host_mac, rng=rng, rx_window=RX_WINDOW)
        self.stream = None
        # one reader for every connection (see V2gtpReader.reset)
        self.reader = v2gtp.V2gtpReader(max_payload)
        self.leave = LeaveNetwork(self.host_mac, rng)
        self.tls = None             # TlsMode (link/tls.py): TLS terminated on the host

    # ---- inputs -------------------------------------------------------
    def modem_frame(self, frame, now):
        kind = ethertype(frame)
        if kind == ETH_HOMEPLUG:
            self._homeplug_frame(frame, now)
        elif kind == ETH_IPV6:
            if self._linked():
                if self.monitor_kick and not self.monitor.up:
                    # The peer's traffic says its modem has joined our AVLN:
                    # ask our modem now instead of at the next 1 s poll.  The
                    # monitor reports the loss only of a link it has seen up,
                    # and its first poll (at the match) comes while the EV's
                    # modem restarts with the key, so without this a PLC loss
                    # in the first second of the session went unnoticed until
                    # TT_match_join (12 s), power flowing all along.
                    self.monitor_kick = False
                    self.monitor.start(now)
                self.net.handle_frame(frame, now)
        else:
            self.dropped += 1
        self._pump(now)

    def poll(self, now):
        self.leave.poll(now)
        at = self._retry_at()
        if at is not None and now >= at:
            self._start_slac(now)
        if self.state == SLAC:
            self.slac.poll(now)
        elif self._linked():
            self.monitor.poll(now)
            self.net.poll(now)
            if self.stream is not None:
                self.stream.flush()
        if self.tls is not None:
            self.tls.poll(now)
        self._pump(now)

    def host_event(self, ev, now):
        """An event of the host link (TLS records, plaintext, TLS events,
        link up/lost); nothing to do without TLS mode."""
        if self.tls is None:
            return
        self.tls.host_event(ev, now)
        if self.stream is not None and self._linked():
            self.net.poll(now)      # TLS records the host sent go out
        self._pump(now)

    def next_deadline(self):
        d = earliest(self.leave.next_deadline(), self._retry_at())
        if self.tls is not None:
            d = earliest(d, self.tls.next_deadline())
        if self.state == SLAC:
            d = earliest(d, self.slac.next_deadline())
        elif self._linked():
            d = earliest(d, self.monitor.next_deadline(), self.net.next_deadline())
        return d

    def send(self, ptype, payload, now):
        """Queue one V2GTP message; False when no TCP connection is open."""
        if self.stream is None:
            return False
        self.stream.queue(v2gtp.encode(ptype, payload))
        self.net.poll(now)
        self._pump(now)
        return True

    # ---- internals ----------------------------------------------------
    def _emit(self, *event):
        self.events.append(event)

    def _homeplug_frame(self, frame, now):
        if self.state == SLAC:
            self.slac.handle_frame(frame, now)
        self.monitor.handle_frame(frame, now)
        self.leave.handle_frame(frame)

    def _start_slac(self, now):
        self.leave.stop()           # SLAC sets a fresh key of its own
        self.state = SLAC
        self.slac.start(now)

    def _slac_matched(self, peer_mac, now):
        # The role has entered its linked state: watch the new PLC link.
        self.monitor.start(now)
        self.monitor_kick = True
        self._emit("slac_matched", peer_mac)

    def _open_stream(self, conn, now):
        self.reader.reset()
        if self.tls is None:
            self.stream = V2gtpStream(conn, self.reader)
            self._emit("connected", conn.remote)
            return
        # TLS: 'connected' once the host's handshake passed (_on_tls)
        stream = self.tls.open(conn, self.reader, now)
        if stream is None:
            self._emit("tls_failed", "host link down")
            conn.abort(now)
            return
        self.stream = stream

    def _close_stream(self, now):
        """Close the V2G connection gracefully; with TLS the host first sends
        close_notify (a ('close',) of the TlsMode closes TCP then)."""
        if self.tls is not None and self.tls.close(now):
            return
        self.stream.conn.close(now)
        self._pump(now)

    def _on_tls(self, ev, now):
        name = ev[0]
        stream = self.stream
        if name == "v2gtp" or name == "host_up":
            self._emit(*ev)
        elif name == "connected":
            if stream is not None:
                self._emit("tls_open", ev[1])
                self._emit("connected", stream.conn.remote)
        elif name == "close":
            if stream is not None:
                stream.conn.close(now)
        elif name == "host_lost":
            # TLS cannot go on without the host: the session never continues in the clear
            self._emit(*ev)
            if stream is not None:
                stream.conn.abort(now)
        else:       # 'abort' (TLS failed) and 'v2gtp_error'
            self._emit("tls_failed" if name == "abort" else name, ev[1])
            if stream is not None:
                stream.conn.abort(now)

    def _on_monitor(self, ev, now):
        if ev[0] == "link_up":
            self._emit("link_up")
        elif ev[0] == "link_lost" and self._linked():
            self._link_lost(ev[1] if len(ev) > 1 else "link_status", now)

    def _on_net(self, ev, now):
        name = ev[0]
        if name == "tcp_data":
            stream = self.stream
            if stream is not None and ev[1] is stream.conn:
                for ptype, payload in stream.receive():
                    self._emit("v2gtp", ptype, payload)
                if stream.reader.error:
                    # A broken V2GTP header leaves no way to find the next
                    # message in the stream: close the connection.
                    self._emit("v2gtp_error", stream.reader.error)
                    stream.conn.abort(now)
        elif name == "tcp_eof":
            # V2G has no use for a half-open connection: the peer's FIN ends it.
            ev[1].close(now)

    def _event_sources(self):
        # (part, handler) pairs, drained in this order
        return ((self.pilot, self._on_pilot), (self.slac, self._on_slac),
                (self.monitor, self._on_monitor), (self.net, self._on_net),
                (self.tls, self._on_tls))

    def _send_datagrams(self, now):
        """Send what a part queued for UDP; True when there was any."""
        return False

    def _pump(self, now):
        # Drain sub-components until nothing moves: handling one event can
        # produce frames and events in another.
        for _ in range(16):
            busy = False
            for part, handler in self._event_sources():
                if part is None or not part.events:
                    continue
                evs = part.events
                part.events = []
                busy = True
                for ev in evs:
                    handler(ev, now)
            if self._send_datagrams(now):
                busy = True
            for part in (self.slac, self.monitor, self.net, self.leave):
                if part.tx:
                    self.tx.extend(part.tx)
                    part.tx = []
            if not busy:
                break
        if self.tls is not None:
            self.tls.sync(self.stream)      # a connection the link dropped: tell the host
