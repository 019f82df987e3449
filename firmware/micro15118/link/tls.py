"""TLS mode of a V2G link: TLS 1.3 terminated on the host PC, the TCP
connection carried by the MCU (issue 12).  Sans-I/O.

With a TlsMode on `link.tls` (the board layer puts it there when the board
has a host link and TLS is on), the bytes of the V2G TCP connection are not
V2GTP on the MCU:

    TCP payload received        -> host: TLS_RECORD (in frames of the link's chunk)
    host: TLS_RECORD            -> TCP payload sent
    host: APP_DATA (plaintext)  -> the V2GTP reader -> ('v2gtp', ptype, payload)
    link.send(ptype, payload)   -> host: APP_DATA (V2GTP bytes)

and TLS_EVENT says what happens to the connection: the MCU sends OPEN when
TCP is up (the host starts the handshake, server on a charger, client on a
vehicle) and CLOSE when TCP is gone; the host sends ESTABLISHED (detail:
the cipher suite) once the handshake passed, CLOSE after close_notify, ERROR
when TLS failed.  Only ESTABLISHED lets the link report ('connected',
remote): no V2G message ever goes out or comes in in the clear.  A TLS
error, a host link lost or down when TCP comes up, aborts the TCP
connection.

TlsMode talks to its owner (base.Link) only through .events:
    ('connected', suite)        the handshake is done: the session may start
    ('v2gtp', ptype, payload)   ('v2gtp_error', reason)
    ('close',)                  the host sent close_notify: close TCP now
    ('abort', reason)           TLS failed: reset TCP
    ('host_up',)  ('host_lost', reason)     the host link
The owner calls open() when TCP comes up, host_event() with every event of
the host link, close() for a graceful end, sync() after each turn (a stream
the link dropped is reported to the host), poll()/next_deadline().
"""
from ..compat import const
from ..hostlink import msg
from .common import V2gtpStream

CLOSE_WAIT_MS = const(500)      # close() waits this long at most for the host's close_notify


class TlsStream(V2gtpStream):
    """One TCP connection carrying TLS: TCP bytes to and from the host,
    plaintext V2GTP from and to the host."""

    def __init__(self, conn, reader, host, cid):
        V2gtpStream.__init__(self, conn, reader)
        self.host = host
        self.cid = cid
        self.established = False
        self.suite = None
        self.host_closed = False    # the host ended its side (CLOSE, ERROR, link lost)

    def receive(self):
        data = self.conn.recv()
        if data:
            self.host.send_tls(self.cid, data)
        return []                   # V2GTP comes back as APP_DATA

    def queue(self, data):
        """Plaintext V2GTP for the host to encrypt."""
        if self.established and not self.host_closed:
            self.host.send_app_data(self.cid, data)

    def records(self, data):
        """TLS bytes from the host for the TCP connection."""
        self.pending.extend(data)
        self.flush()


class TlsMode:
    def __init__(self, host, close_wait_ms=CLOSE_WAIT_MS):
        self.host = host            # the MCU's hostlink.link.Link
        self.close_wait_ms = close_wait_ms
        self.events = []
        self.stream = None          # the TlsStream the link uses now
        self.cid = 0
        self.close_at = None
        self.handshakes = 0

    def open(self, conn, reader, now):
        """A TlsStream for a TCP connection that just came up, or None when
        the host link is down (the owner aborts the connection)."""
        self.sync(None)
        if not self.host.up:
            return None
        self.cid = self.cid % 255 + 1
        stream = TlsStream(conn, reader, self.host, self.cid)
        self.stream = stream
        self.close_at = None
        self.host.send_tls_event(self.cid, msg.TLS_OPEN)
        return stream

    def sync(self, stream):
        """The owner's current stream: if it dropped ours, tell the host."""
        s = self.stream
        if s is not None and s is not stream:
            if not s.host_closed:
                self.host.send_tls_event(s.cid, msg.TLS_CLOSE)
            self.stream = None
            self.close_at = None

    def close(self, now):
        """Ask the host to end TLS (close_notify); True while waiting for it,
        False when TCP may be closed at once."""
        s = self.stream
        if s is None or s.host_closed or not s.established or not self.host.up:
            return False
        if self.close_at is None:
            self.host.send_tls_event(s.cid, msg.TLS_CLOSE)
            self.close_at = now + self.close_wait_ms
        return True

    def poll(self, now):
        if self.close_at is not None and now >= self.close_at:
            self.close_at = None
            if self.stream is not None:
                self.stream.host_closed = True
                self.events.append(("close",))

    def next_deadline(self):
        return self.close_at

    def host_event(self, ev, now):
        name = ev[0]
        s = self.stream
        if name == "link_up":
            self.events.append(("host_up",))
            return
        if name == "link_lost":
            if s is not None:
                s.host_closed = True
            self.close_at = None
            self.events.append(("host_lost", ev[1]))
            return
        if s is None or name not in ("tls_record", "app_data", "tls_event") or ev[1] != s.cid:
            return                  # another end's, or a connection already gone
        if s.host_closed:
            return
        if name == "tls_record":
            s.records(ev[2])
        elif name == "app_data":
            if not s.established:
                return
            for ptype, payload in s.reader.feed(ev[2]):
                self.events.append(("v2gtp", ptype, payload))
            if s.reader.error:
                self.events.append(("v2gtp_error", s.reader.error))
        else:
            event, code, detail = ev[2], ev[3], ev[4]
            if event == msg.TLS_ESTABLISHED and not s.established:
                s.established = True
                s.suite = _text(detail)
                self.handshakes += 1
                self.events.append(("connected", s.suite))
            elif event == msg.TLS_CLOSE:
                s.host_closed = True
                self.close_at = None
                self.events.append(("close",))
            elif event == msg.TLS_ERROR:
                s.host_closed = True
                self.close_at = None
                why = _text(detail)
                self.events.append(("abort", "tls alert %d: %s" % (code, why) if code else "tls: " + why))


def _text(b):
    try:
        return bytes(b).decode()
    except Exception:           # noqa: BLE001 - a peer's bytes; MicroPython raises UnicodeError
        return repr(bytes(b))
