"""One end of the MCU-host link: framing, supervision, requests (sans-I/O).

    link = Link(msg.ROLE_CHARGER, now, boot_id)     # host: msg.ROLE_HOST
    link.feed(bytes_from_the_port, now)             # any chunks
    link.poll(now)                                   # by link.next_deadline() at the latest
    frames = link.tx; link.tx = []                   # write them to the port, in order
    events = link.events; link.events = []

Both ends run the same object (the host through host.hostlink).

Supervision.  The link starts down.  While down an end sends HELLO every
keepalive_ms; flags.ACK says "I have heard a HELLO of yours since my link
went down".  A HELLO without ACK is answered at once with one with ACK; a
HELLO with ACK, received while down, brings the link up (the peer heard us
and we hear the peer: both directions work) and is answered with ACK too,
so the peer comes up as well:

    A: HELLO  ->  B: HELLO+ACK  ->  A up, HELLO+ACK  ->  B up, HELLO+ACK (ignored)

While up, an end that has sent nothing for keepalive_ms sends PING (the
peer answers PONG); any valid frame counts as a sign of life.  After
lost_ms without a valid frame the link is lost.  A HELLO without ACK while
up means the peer lost the link (or restarted): it is lost here too, and
the handshake runs again.  One direction broken: both ends stay down, with
no up/lost flapping.  Frames other than HELLO received while down are
dropped (counted), and nothing but HELLO is sent.

Timing (defaults): keepalive_ms 250, lost_ms 1000, request_ms 2000.
lost_ms must stay well above the time the port needs for what can queue in
front of a PING or PONG: one full frame (2 KiB) takes 180 ms at 115200
baud.  So the owner keeps the port's queue short (Link.queued(),
UartPort.waiting()) before it hands the link more stream data.

Events (tuples in .events):
    ("link_up", peer_role, minor, peer_fw, peer_boot_id)
    ("link_lost", reason)                 "timeout" | "peer_reset"
    ("tls_record", conn, data)            ("app_data", conn, data)
    ("tls_event", conn, event, code, detail)
    ("ocpp_event", json_bytes)
    ("error", code, ref_type, ref_seq, text)    an ERROR the peer sent
    requests of the peer, to answer with respond_*():
    ("sign_request", id, key_id, alg, fmt, digest)
    ("cert_request", id, chain, offset, max_len)
    ("config_set", id, key, value)        ("config_get", id, key)
    ("pnc_verify_request", id, evidence)  the whole evidence (msg TLVs), once
                                          every chunk of it has arrived in order
    responses to this end's requests (exactly one per id request_*() returned):
    ("sign_response", id, status, fmt, signature)
    ("cert_response", id, status, total, offset, chunk)
    ("pnc_verify_response", id, status, code, detail)
    ("config_result", id, status, value)
request_*() return the id, or None when every slot is taken; a payload
longer than .chunk (the smaller of both ends' max_payload, at least 256)
raises ValueError and changes nothing, as send_*() do (streams are cut
into frames of .chunk instead; request_pnc_verify cuts its evidence into
chunks that fit, all sent at once under one id).
A request that gets no response within its timeout ends with status
msg.TIMEOUT; a request pending when the link is lost, or made while it is
down, ends with msg.LINK_LOST: a pending signature never hangs.  A response
that comes after that is dropped (stats["late"]).

Bad input never raises out of feed(): damaged frames are counted by the
decoder (.decoder.errors); a valid frame that cannot be used (link down,
unknown type, bad payload, late response) is counted in .dropped and
.stats.  An unknown type or a payload that does not decode is answered
with ERROR.  Times are ms ints (`now`), monotonic.
"""
from ..compat import const
from . import msg
from .frame import FrameDecoder, FrameEncoder, MAX_PAYLOAD, MIN_PAYLOAD, VERSION

KEEPALIVE_MS = const(250)
LOST_MS = const(1000)
REQUEST_MS = const(2000)
SLOTS = const(8)                # requests pending at once

STAT_KEYS = ("tx", "rx", "seq_gaps", "not_up", "unknown_type", "bad_payload", "late",
             "timeouts", "failed_link", "busy", "peer_errors", "pings", "rtt_ms")

_RESPONSES = (msg.SIGN_RESPONSE, msg.CERT_RESPONSE, msg.PNC_VERIFY_RESPONSE, msg.CONFIG_RESULT)


class Link:
    def __init__(self, role, now, boot_id, fw=b"", keepalive_ms=KEEPALIVE_MS, lost_ms=LOST_MS,
                 request_ms=REQUEST_MS, max_payload=MAX_PAYLOAD, slots=SLOTS):
        if max_payload < MIN_PAYLOAD:
            raise ValueError("max_payload below %d" % MIN_PAYLOAD)
        self.role = role
        self.boot_id = boot_id
        self.fw = bytes(fw)[:msg.FW_MAX]
        self.keepalive_ms = keepalive_ms
        self.lost_ms = lost_ms
        self.request_ms = request_ms
        self.max_payload = max_payload
        self.decoder = FrameDecoder(max_payload)
        self.encoder = FrameEncoder(max_payload)
        self.tx = []
        self.events = []
        self.dropped = 0
        self.stats = {}
        for k in STAT_KEYS:
            self.stats[k] = 0
        self.up = False
        self.peer = None            # the peer's last HELLO: (major, minor, role, flags,
                                    # max_payload, boot_id, fw)
        self.minor = msg.MINOR      # negotiated: the lower of both
        self.chunk = max_payload    # payload bytes a frame may carry (the peer's limit too)
        self._heard = False
        self._seq = 0
        self._rx_seq = -1
        self._rid = 0
        self._now = now
        self._last_rx = now
        self._last_tx = now
        self._next_hello = now
        self._ping_nonce = 0
        self._ping_at = -1
        # pending requests, in lists taken once: id (0 = free), type, deadline
        self._p_id = [0] * slots
        self._p_type = [0] * slots
        self._p_deadline = [0] * slots
        self._pnc = None            # a PNC_VERIFY_REQUEST coming in: [id, total, bytearray]

    # -- I/O edge ---------------------------------------------------------------

    def feed(self, data, now):
        """Bytes from the port; frames are handled at once."""
        self._now = now
        for mtype, seq, payload in self.decoder.feed(data):
            self._handle(mtype, seq, payload, now)

    def poll(self, now):
        self._now = now
        if self.up:
            if now - self._last_rx >= self.lost_ms:
                self._lose("timeout", now)
            elif now - self._last_tx >= self.keepalive_ms:
                self._ping_nonce = (self._ping_nonce + 1) & 0xFFFF
                self._ping_at = now
                self.stats["pings"] += 1
                self._send(msg.PING, msg.encode_ping(self._ping_nonce))
        if not self.up and now >= self._next_hello:
            self._send_hello()
        ids = self._p_id
        for i in range(len(ids)):
            if ids[i] and now >= self._p_deadline[i]:
                self.stats["timeouts"] += 1
                self._fail(i, msg.TIMEOUT)

    def next_deadline(self):
        if self.up:
            d = self._last_rx + self.lost_ms
            k = self._last_tx + self.keepalive_ms
            if k < d:
                d = k
        else:
            d = self._next_hello
        ids = self._p_id
        for i in range(len(ids)):
            if ids[i] and self._p_deadline[i] < d:
                d = self._p_deadline[i]
        return d

    def queued(self):
        """Bytes waiting in .tx."""
        n = 0
        for f in self.tx:
            n += len(f)
        return n

    def drop(self, reason, now):
        """The port says the peer is gone (a pty or socket hung up): the link
        is lost now, as after lost_ms of silence, with this reason."""
        self._now = now
        if self.up:
            self._lose(reason, now)

    def pending(self):
        """Ids of this end's requests waiting for a response."""
        return [r for r in self._p_id if r]

    # -- sending ----------------------------------------------------------------

    def _send(self, mtype, payload):
        if len(payload) > self.chunk:
            raise ValueError("payload too long for the link")
        self.tx.append(bytes(self.encoder.encode(mtype, self._seq, payload)))
        self._seq = (self._seq + 1) & 0xFFFF
        self._last_tx = self._now
        self.stats["tx"] += 1

    def _send_hello(self):
        self._send(msg.HELLO, msg.encode_hello(self.role, msg.HELLO_ACK if self._heard else 0,
                                               self.max_payload, self.boot_id, self.fw))
        self._next_hello = self._now + self.keepalive_ms

    def _stream(self, mtype, conn, data):
        if not self.up:
            return False
        n = len(data)
        step = self.chunk - 1
        mv = memoryview(data)
        i = 0
        while i < n:
            self._send(mtype, msg.encode_conn_data(conn, mv[i:i + step]))
            i += step
        return True

    def send_tls(self, conn, data):
        """TLS bytes for connection conn, in frames of at most .chunk; False if down."""
        return self._stream(msg.TLS_RECORD, conn, data)

    def send_app_data(self, conn, data):
        """Plaintext V2GTP bytes for connection conn; False if down."""
        return self._stream(msg.APP_DATA, conn, data)

    def send_tls_event(self, conn, event, code=0, detail=b""):
        return self._if_up(msg.TLS_EVENT, msg.encode_tls_event(conn, event, code, detail))

    def send_ocpp(self, json_bytes):
        return self._if_up(msg.OCPP_EVENT, msg.encode_ocpp_event(json_bytes))

    def send_error(self, code, ref_type=0, ref_seq=0, text=b""):
        return self._if_up(msg.ERROR, msg.encode_error(code, ref_type, ref_seq, text))

    def _if_up(self, mtype, payload):
        if not self.up:
            return False
        self._send(mtype, payload)
        return True

    # -- requests ---------------------------------------------------------------

    def _request(self, rtype, payload, now, timeout_ms):
        """Sends a request whose payload was built with id 0 (or a list of
        them: the frames of one request); its id, or None when every slot
        is taken.  Down, the request ends at once (LINK_LOST event) and
        nothing is sent."""
        parts = payload if isinstance(payload, list) else [payload]
        for p in parts:
            if len(p) > self.chunk:
                raise ValueError("request too long for the link")
        self._now = now
        ids = self._p_id
        slot = -1
        if self.up:
            for i in range(len(ids)):
                if not ids[i]:
                    slot = i
                    break
            if slot < 0:
                self.stats["busy"] += 1
                return None
        self._rid = self._rid % 0xFFFF + 1
        rid = self._rid
        if slot < 0:
            self.stats["failed_link"] += 1
            self._failed_event(rtype, rid, msg.LINK_LOST)
            return rid
        ids[slot] = rid
        self._p_type[slot] = rtype
        self._p_deadline[slot] = now + (self.request_ms if timeout_ms is None else timeout_ms)
        for part in parts:
            p = bytearray(part)
            p[0] = rid >> 8
            p[1] = rid & 0xFF
            self._send(rtype, p)
        return rid

    def request_sign(self, key_id, alg, digest, now, fmt=msg.SIG_DER, timeout_ms=None):
        """Ask the peer's secure element for a signature: the request id (its
        sign_response event follows), or None if too many are pending."""
        return self._request(msg.SIGN_REQUEST, msg.encode_sign_request(0, key_id, alg, fmt, digest),
                             now, timeout_ms)

    def request_cert(self, chain, offset, now, max_len=0, timeout_ms=None):
        """Part of a chain from offset (max_len 0: as much as a frame holds)."""
        return self._request(msg.CERT_REQUEST, msg.encode_cert_request(0, chain, offset, max_len),
                             now, timeout_ms)

    def request_pnc_verify(self, evidence, now, timeout_ms=None):
        """Ask the host to judge a PnC evidence (msg.encode_pnc_evidence
        bytes, 1..PNC_MAX): its chunks go out at once under one id; the
        pnc_verify_response event follows (TIMEOUT, LINK_LOST as for any
        request)."""
        total = len(evidence)
        if not 0 < total <= msg.PNC_MAX:
            raise ValueError("evidence length")
        step = self.chunk - 6
        mv = memoryview(evidence)
        parts = []
        off = 0
        while off < total:
            parts.append(msg.encode_pnc_verify_request(0, total, off, mv[off:off + step]))
            off += step
        return self._request(msg.PNC_VERIFY_REQUEST, parts, now, timeout_ms)

    def request_config_set(self, key, value, now, timeout_ms=None):
        return self._request(msg.CONFIG_SET, msg.encode_config_set(0, key, value), now, timeout_ms)

    def request_config_get(self, key, now, timeout_ms=None):
        return self._request(msg.CONFIG_GET, msg.encode_config_get(0, key), now, timeout_ms)

    def respond_sign(self, rid, status, fmt=msg.SIG_DER, signature=b""):
        return self._if_up(msg.SIGN_RESPONSE, msg.encode_sign_response(rid, status, fmt, signature))

    def respond_cert(self, rid, status, total=0, offset=0, chunk=b""):
        return self._if_up(msg.CERT_RESPONSE, msg.encode_cert_response(rid, status, total, offset, chunk))

    def serve_cert(self, rid, chain_bytes, offset, max_len=0):
        """Answer a cert_request from the whole chain: the part at offset
        that fits (UNKNOWN for chain_bytes None, BAD_REQUEST past the end)."""
        if chain_bytes is None:
            return self.respond_cert(rid, msg.UNKNOWN)
        total = len(chain_bytes)
        if offset > total or total > 0xFFFF:
            return self.respond_cert(rid, msg.BAD_REQUEST, total if total <= 0xFFFF else 0)
        n = self.chunk - 7
        if max_len and max_len < n:
            n = max_len
        return self.respond_cert(rid, msg.OK, total, offset, memoryview(chain_bytes)[offset:offset + n])

    def respond_pnc_verify(self, rid, status, code=b"", detail=b""):
        """The verdict on a pnc_verify_request: status OK and the -20
        ResponseCode; detail (text for logs) is cut to what a frame holds."""
        room = self.chunk - 4 - len(code)
        return self._if_up(msg.PNC_VERIFY_RESPONSE,
                           msg.encode_pnc_verify_response(rid, status, code, bytes(detail)[:max(room, 0)]))

    def respond_config(self, rid, status, value=b""):
        return self._if_up(msg.CONFIG_RESULT, msg.encode_config_result(rid, status, value))

    def _failed_event(self, rtype, rid, status):
        if rtype == msg.SIGN_REQUEST:
            self.events.append(("sign_response", rid, status, msg.SIG_DER, b""))
        elif rtype == msg.CERT_REQUEST:
            self.events.append(("cert_response", rid, status, 0, 0, b""))
        elif rtype == msg.PNC_VERIFY_REQUEST:
            self.events.append(("pnc_verify_response", rid, status, b"", b""))
        else:
            self.events.append(("config_result", rid, status, b""))

    def _fail(self, slot, status):
        rid = self._p_id[slot]
        self._p_id[slot] = 0
        self._failed_event(self._p_type[slot], rid, status)

    def _take(self, rid, rtype):
        """Frees the slot of pending request rid if its response is of type
        rtype; True if it was pending."""
        ids = self._p_id
        for i in range(len(ids)):
            if ids[i] == rid and rid and msg.RESPONSE_TO[self._p_type[i]] == rtype:
                ids[i] = 0
                return True
        return False

    # -- receiving --------------------------------------------------------------

    def _go_up(self, now):
        peer = self.peer
        self.up = True
        self._last_rx = now
        self._last_tx = now
        self.minor = peer[1] if peer[1] < msg.MINOR else msg.MINOR
        self.chunk = peer[4] if peer[4] < self.max_payload else self.max_payload
        self.events.append(("link_up", peer[2], self.minor, peer[6], peer[5]))

    def _lose(self, reason, now):
        self.up = False
        self._heard = False
        self.chunk = self.max_payload
        self._next_hello = now
        self.events.append(("link_lost", reason))
        self._pnc = None
        ids = self._p_id
        for i in range(len(ids)):
            if ids[i]:
                self.stats["failed_link"] += 1
                self._fail(i, msg.LINK_LOST)

    def _hello(self, payload, now):
        h = msg.decode_hello(payload)
        if h[0] != VERSION or h[4] < MIN_PAYLOAD:
            raise msg.MsgError("hello")
        if not h[3] & msg.HELLO_ACK:
            if self.up:
                self._lose("peer_reset", now)
            self.peer = h
            self._heard = True
            self._send_hello()
            return
        self.peer = h
        self._heard = True
        if self.up:
            self._last_rx = now
            return
        self._go_up(now)
        self._send_hello()

    def _handle(self, mtype, seq, payload, now):
        st = self.stats
        st["rx"] += 1
        if self._rx_seq >= 0 and seq != self._rx_seq:
            st["seq_gaps"] += 1
        self._rx_seq = (seq + 1) & 0xFFFF
        try:
            if mtype == msg.HELLO:
                self._hello(payload, now)
                return
            if not self.up:
                st["not_up"] += 1
                self.dropped += 1
                return
            self._last_rx = now
            self._dispatch(mtype, seq, payload, now)
        except msg.MsgError:
            st["bad_payload"] += 1
            self.dropped += 1
            if mtype != msg.ERROR and self.up:
                self._send(msg.ERROR, msg.encode_error(msg.ERR_BAD_PAYLOAD, mtype, seq))

    def _dispatch(self, mtype, seq, p, now):
        ev = self.events
        if mtype == msg.TLS_RECORD:
            conn, data = msg.decode_conn_data(p)
            ev.append(("tls_record", conn, data))
        elif mtype == msg.APP_DATA:
            conn, data = msg.decode_conn_data(p)
            ev.append(("app_data", conn, data))
        elif mtype == msg.PING:
            self._send(msg.PONG, msg.encode_ping(msg.decode_ping(p)))
        elif mtype == msg.PONG:
            if msg.decode_ping(p) == self._ping_nonce and self._ping_at >= 0:
                self.stats["rtt_ms"] = now - self._ping_at
                self._ping_at = -1
        elif mtype == msg.TLS_EVENT:
            ev.append(("tls_event",) + msg.decode_tls_event(p))
        elif mtype == msg.OCPP_EVENT:
            ev.append(("ocpp_event", msg.decode_ocpp_event(p)))
        elif mtype == msg.SIGN_REQUEST:
            ev.append(("sign_request",) + msg.decode_sign_request(p))
        elif mtype == msg.CERT_REQUEST:
            ev.append(("cert_request",) + tuple(msg.decode_cert_request(p)))
        elif mtype == msg.PNC_VERIFY_REQUEST:
            self._pnc_part(msg.decode_pnc_verify_request(p))
        elif mtype == msg.CONFIG_SET:
            ev.append(("config_set",) + msg.decode_config_set(p))
        elif mtype == msg.CONFIG_GET:
            ev.append(("config_get",) + msg.decode_config_get(p))
        elif mtype in _RESPONSES:
            if mtype == msg.SIGN_RESPONSE:
                r = ("sign_response",) + msg.decode_sign_response(p)
            elif mtype == msg.CERT_RESPONSE:
                r = ("cert_response",) + msg.decode_cert_response(p)
            elif mtype == msg.PNC_VERIFY_RESPONSE:
                r = ("pnc_verify_response",) + msg.decode_pnc_verify_response(p)
            else:
                r = ("config_result",) + msg.decode_config_result(p)
            if self._take(r[1], mtype):
                ev.append(r)
            else:
                self.stats["late"] += 1
                self.dropped += 1
        elif mtype == msg.ERROR:
            self.stats["peer_errors"] += 1
            ev.append(("error",) + msg.decode_error(p))
        else:
            self.stats["unknown_type"] += 1
            self.dropped += 1
            self._send(msg.ERROR, msg.encode_error(msg.ERR_UNKNOWN_TYPE, mtype, seq))

    def _pnc_part(self, part):
        """A chunk of a PNC_VERIFY_REQUEST: offset 0 starts a request (one
        half-received is given up), the next chunk of it goes on; anything
        else is a bad payload.  The whole evidence makes one event."""
        rid, total, offset, chunk = part
        a = self._pnc
        if offset == 0:
            a = self._pnc = [rid, total, bytearray(chunk)]
        elif a is None or a[0] != rid or a[1] != total or len(a[2]) != offset:
            self._pnc = None
            raise msg.MsgError("chunk")
        else:
            a[2].extend(chunk)
        if len(a[2]) == total:
            self._pnc = None
            self.events.append(("pnc_verify_request", rid, bytes(a[2])))
