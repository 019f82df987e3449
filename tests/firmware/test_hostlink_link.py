"""Host link supervision on a virtual clock: HELLO handshake, keepalive,
loss after lost_ms (both ends, one direction, a restarted peer), requests
that end with a response, a timeout or a lost link (never a hang), every
message type end to end, bad frames, and the UART edge (UartPort)."""
from micro15118.hostlink import frame, msg
from micro15118.hostlink.link import Link
from micro15118.hostlink.port import UartPort

KA = 100
LOST = 400
REQ = 1000


class Pair:
    """Two Links joined by a wire that can be cut per direction or mangled."""

    def __init__(self, a_max=frame.MAX_PAYLOAD, b_max=frame.MAX_PAYLOAD):
        self.t = 0
        self.a = Link(msg.ROLE_CHARGER, 0, 0xA0A0A0A0, b"mcu 1.0", KA, LOST, REQ, a_max)
        self.b = Link(msg.ROLE_HOST, 0, 0xB0B0, b"host 1.0", KA, LOST, REQ, b_max)
        self.ab = True
        self.ba = True
        self.mangle = None          # fn(bytes) -> bytes on the a -> b direction
        self.ev = {"a": [], "b": []}
        self.wire_ab = 0

    def shuttle(self):
        for _ in range(10):
            moved = False
            for src, dst, name, ok in ((self.a, self.b, "ab", self.ab), (self.b, self.a, "ba", self.ba)):
                frames = src.tx
                src.tx = []
                for f in frames:
                    moved = True
                    if not ok:
                        continue
                    if name == "ab":
                        self.wire_ab += 1
                        if self.mangle:
                            f = self.mangle(f)
                    dst.feed(f, self.t)
            if not moved:
                break
        self.ev["a"] += self.a.events
        self.a.events = []
        self.ev["b"] += self.b.events
        self.b.events = []

    def step(self, ms=10):
        self.a.poll(self.t)
        self.b.poll(self.t)
        self.shuttle()
        self.t += ms

    def run(self, ms, step=10):
        end = self.t + ms
        while self.t < end:
            self.step(step)

    def take(self, who):
        e = self.ev[who]
        self.ev[who] = []
        return e

    def names(self, who):
        return [e[0] for e in self.take(who)]


def up_pair(**kw):
    p = Pair(**kw)
    p.run(50)
    assert p.a.up and p.b.up
    p.take("a")
    p.take("b")
    return p


def test_hello_exchange_brings_both_ends_up():
    p = Pair(a_max=512)
    assert not p.a.up and not p.b.up
    p.step()
    assert p.a.up and p.b.up
    assert p.take("a") == [("link_up", msg.ROLE_HOST, 0, b"host 1.0", 0xB0B0)]
    assert p.take("b") == [("link_up", msg.ROLE_CHARGER, 0, b"mcu 1.0", 0xA0A0A0A0)]
    assert p.a.chunk == 512 and p.b.chunk == 512        # the smaller maximum
    assert p.a.peer[2] == msg.ROLE_HOST and p.b.minor == msg.MINOR
    assert p.a.decoder.error_count() == 0 and p.a.dropped == 0 and p.b.dropped == 0


def test_one_end_starting_later_and_nothing_but_hello_while_down():
    p = Pair()
    p.ba = False                                   # b's HELLOs do not arrive yet
    p.run(KA * 5)
    assert not p.a.up and not p.b.up
    assert p.a.send_tls(1, b"x") is False and p.a.send_ocpp(b"{}") is False
    p.ba = True
    p.run(KA + 20)
    assert p.a.up and p.b.up


def test_keepalive_keeps_an_idle_link_up():
    p = up_pair()
    p.run(10 * LOST)
    assert p.a.up and p.b.up
    assert p.take("a") == [] and p.take("b") == []
    # roughly one PING per keepalive interval from each end (the other's PING
    # or PONG does not stop them: the interval counts what an end sent)
    assert 8 * LOST // KA <= p.a.stats["pings"] <= 11 * LOST // KA
    assert p.a.stats["rtt_ms"] == 0


def test_traffic_replaces_pings():
    p = up_pair()
    pings = p.a.stats["pings"]
    for _ in range(100):
        p.a.send_tls(1, b"data")
        p.step(10)
    assert p.a.stats["pings"] == pings


def test_link_lost_after_timeout_on_both_ends_then_up_again():
    p = up_pair()
    p.ab = p.ba = False
    cut = p.t
    lost_at = {}
    while len(lost_at) < 2 and p.t < cut + 5 * LOST:
        p.step(10)
        for who in ("a", "b"):
            for e in p.take(who):
                assert e == ("link_lost", "timeout")
                lost_at[who] = p.t
    # lost within [lost_ms, lost_ms + one keepalive + one step] of the last frame
    for who in ("a", "b"):
        assert cut + LOST - KA <= lost_at[who] <= cut + LOST + 20, (who, lost_at, cut)
    assert not p.a.up and not p.b.up
    p.run(3 * KA)
    assert p.take("a") == [] and p.take("b") == []          # no flapping while cut
    p.ab = p.ba = True
    p.run(KA + 20)
    assert p.names("a") == ["link_up"] and p.names("b") == ["link_up"]


def test_one_direction_broken_no_flapping():
    for direction in ("ab", "ba"):
        p = up_pair()
        setattr(p, direction, False)
        p.run(LOST * 10)
        ea = p.names("a")
        eb = p.names("b")
        assert ea == ["link_lost"] and eb == ["link_lost"], (direction, ea, eb)
        assert not p.a.up and not p.b.up
        setattr(p, direction, True)
        p.run(KA * 2)
        assert p.names("a") == ["link_up"] and p.names("b") == ["link_up"]


def test_restarted_peer_is_a_lost_link_then_up():
    p = up_pair()
    p.a = Link(msg.ROLE_CHARGER, p.t, 0x12345678, b"mcu 1.1", KA, LOST, REQ)
    p.run(50)
    assert p.take("b") == [("link_lost", "peer_reset"),
                           ("link_up", msg.ROLE_CHARGER, 0, b"mcu 1.1", 0x12345678)]
    assert p.a.up and p.b.up


def test_every_message_type_end_to_end():
    p = up_pair()
    a, b = p.a, p.b
    big = bytes(i & 0xFF for i in range(5000))
    assert a.send_tls(2, big) and b.send_tls(2, b"\x17\x03\x03")
    assert a.send_tls_event(2, msg.TLS_OPEN) and b.send_tls_event(2, msg.TLS_ESTABLISHED, 0, b"TLS_AES_256")
    assert b.send_app_data(2, big) and a.send_app_data(2, b"\x01\xfe")
    assert a.send_ocpp(b'{"event":"authorize"}') and b.send_ocpp(b'{"accepted":true}')
    p.step()
    ea = p.take("a")
    eb = p.take("b")
    assert b"".join(e[2] for e in eb if e[0] == "tls_record" and e[1] == 2) == big
    assert len([e for e in eb if e[0] == "tls_record"]) == 3       # 2047 bytes a frame
    assert b"".join(e[2] for e in ea if e[0] == "app_data") == big
    assert ("tls_record", 2, b"\x17\x03\x03") in ea and ("app_data", 2, b"\x01\xfe") in eb
    assert ("tls_event", 2, msg.TLS_OPEN, 0, b"") in eb
    assert ("tls_event", 2, msg.TLS_ESTABLISHED, 0, b"TLS_AES_256") in ea
    assert ("ocpp_event", b'{"event":"authorize"}') in eb and ("ocpp_event", b'{"accepted":true}') in ea

    # SIGN: host asks, MCU signs
    rid = b.request_sign(0x7FFF0201, msg.ALG_ECDSA_P521_SHA512, b"\x42" * 64, p.t)
    p.shuttle()
    (ev,) = p.take("a")
    assert ev == ("sign_request", rid, 0x7FFF0201, msg.ALG_ECDSA_P521_SHA512, msg.SIG_DER, b"\x42" * 64)
    assert a.respond_sign(rid, msg.OK, msg.SIG_DER, b"\x30\x81\x88" + bytes(136))
    p.shuttle()
    assert p.take("b") == [("sign_response", rid, msg.OK, msg.SIG_DER, b"\x30\x81\x88" + bytes(136))]
    assert b.pending() == []

    # CERT: the host pulls a 4000-byte chain in parts
    chain = bytes((i * 7) & 0xFF for i in range(4000))
    got = b""
    while True:
        rid = b.request_cert(msg.CHAIN_OWN, len(got), p.t, 1500)
        p.shuttle()
        (ev,) = p.take("a")
        assert ev == ("cert_request", rid, msg.CHAIN_OWN, len(got), 1500)
        a.serve_cert(rid, chain, ev[3], ev[4])
        p.shuttle()
        (ev,) = p.take("b")
        assert ev[:3] == ("cert_response", rid, msg.OK) and ev[3] == 4000 and ev[4] == len(got)
        got += ev[5]
        if len(got) == ev[3]:
            break
    assert got == chain
    rid = b.request_cert(msg.CHAIN_CONTRACT, 0, p.t)
    p.shuttle()
    a.serve_cert(p.take("a")[0][1], None, 0)
    p.shuttle()
    assert p.take("b") == [("cert_response", rid, msg.UNKNOWN, 0, 0, b"")]

    # CONFIG
    r1 = b.request_config_set(b"evse_id", b"DE*X*E1", p.t)
    r2 = b.request_config_get(b"evse_id", p.t)
    p.shuttle()
    assert p.take("a") == [("config_set", r1, b"evse_id", b"DE*X*E1"), ("config_get", r2, b"evse_id")]
    a.respond_config(r2, msg.OK, b"DE*X*E1")
    a.respond_config(r1, msg.OK)
    p.shuttle()
    assert p.take("b") == [("config_result", r2, msg.OK, b"DE*X*E1"), ("config_result", r1, msg.OK, b"")]

    # ERROR, PING/PONG
    assert a.send_error(msg.ERR_UNKNOWN_CONN, msg.APP_DATA, 5, b"no conn 9")
    p.shuttle()
    assert p.take("b") == [("error", msg.ERR_UNKNOWN_CONN, msg.APP_DATA, 5, b"no conn 9")]
    p.run(3 * KA)
    assert a.stats["pings"] and b.stats["pings"]
    assert a.dropped == 0 and b.dropped == 0
    assert a.decoder.error_count() == 0 and b.decoder.error_count() == 0
    assert a.stats["seq_gaps"] == 0 and b.stats["seq_gaps"] == 0


def test_request_timeout_and_late_response():
    p = up_pair()
    rid = p.b.request_sign(1, msg.ALG_ECDSA_P256_SHA256, b"\x01" * 32, p.t)
    start = p.t
    p.shuttle()
    assert p.names("a") == ["sign_request"]
    done = None
    while done is None:
        p.step(10)
        for e in p.take("b"):
            assert e == ("sign_response", rid, msg.TIMEOUT, msg.SIG_DER, b"")
            done = p.t
        assert p.t < start + 3 * REQ
    assert start + REQ <= done <= start + REQ + 20
    assert p.b.stats["timeouts"] == 1 and p.b.pending() == []
    p.a.respond_sign(rid, msg.OK, msg.SIG_RAW, b"late")
    p.step()
    assert p.take("b") == [] and p.b.stats["late"] == 1
    assert p.b.up                                       # a late answer is no harm


def test_timeout_per_request():
    p = up_pair()
    r1 = p.b.request_config_get(b"a", p.t, timeout_ms=50)
    r2 = p.b.request_config_get(b"b", p.t)
    p.run(100)
    assert p.take("b") == [("config_result", r1, msg.TIMEOUT, b"")]
    assert p.b.pending() == [r2]


def test_lost_link_ends_pending_requests_at_once():
    p = up_pair()
    r1 = p.b.request_sign(5, msg.ALG_ED448, b"message to sign", p.t)
    r2 = p.b.request_cert(msg.CHAIN_TRUST, 0, p.t)
    p.shuttle()
    p.take("a")
    p.ab = p.ba = False
    p.run(LOST + 50)
    ev = p.take("b")
    assert ev[0] == ("link_lost", "timeout")
    assert ("sign_response", r1, msg.LINK_LOST, msg.SIG_DER, b"") in ev
    assert ("cert_response", r2, msg.LINK_LOST, 0, 0, b"") in ev
    assert p.b.pending() == [] and p.b.stats["timeouts"] == 0
    # a request made while down ends at once, with an id all the same
    r3 = p.b.request_config_get(b"k", p.t)
    assert r3 and p.b.events == [("config_result", r3, msg.LINK_LOST, b"")]
    assert [t for t, _, _ in frame.FrameDecoder().feed(b"".join(p.b.tx))] in ([], [msg.HELLO])


def test_too_many_pending_requests():
    p = up_pair()
    ids = [p.b.request_config_get(b"k", p.t) for _ in range(8)]
    assert None not in ids and len(set(ids)) == 8
    assert p.b.request_config_get(b"k", p.t) is None and p.b.stats["busy"] == 1


def test_unknown_type_and_bad_payload_are_answered_with_error():
    p = up_pair()
    p.a.tx.append(frame.encode(0x66, 40, b"future"))
    p.a.tx.append(frame.encode(msg.SIGN_REQUEST, 41, b"\x00"))
    p.a.tx.append(frame.encode(msg.ERROR, 42, b"\x00"))      # a bad ERROR is not answered
    p.shuttle()
    assert p.take("b") == []
    errs = p.take("a")
    assert errs == [("error", msg.ERR_UNKNOWN_TYPE, 0x66, 40, b""),
                    ("error", msg.ERR_BAD_PAYLOAD, msg.SIGN_REQUEST, 41, b"")]
    assert p.b.stats["unknown_type"] == 1 and p.b.stats["bad_payload"] == 2 and p.b.dropped == 3
    assert p.b.up


def test_frames_while_down_are_dropped():
    p = Pair()
    p.b.feed(frame.encode(msg.TLS_RECORD, 0, b"\x01abc"), 0)
    assert p.b.events == [] and p.b.stats["not_up"] == 1 and p.b.dropped == 1


def test_corruption_costs_one_frame_and_not_the_link():
    p = up_pair()
    n = [0]

    def mangle(f):
        n[0] += 1
        if n[0] % 3 == 0:
            f = bytearray(f)
            f[len(f) // 2] ^= 0x10
            return b"\x13\x37garbage" + bytes(f)
        return f
    p.mangle = mangle
    sent = []
    for i in range(30):
        d = bytes((i,)) * 20
        p.a.send_tls(1, d)
        sent.append(d)
        p.step(10)
    got = [e[2] for e in p.take("b") if e[0] == "tls_record"]
    assert p.a.up and p.b.up
    mangled = n[0] // 3
    assert mangled >= 10
    assert 30 - mangled <= len(got) < 30
    where = [sent.index(d) for d in got]
    assert where == sorted(where)                       # in order, nothing invented
    assert p.b.decoder.error_count() >= 2 * mangled     # the garbage and the frame
    assert p.b.stats["seq_gaps"] >= 1


def test_next_deadline_is_enough_to_drive_the_timers():
    p = up_pair()
    a = p.a                         # alone from here: b never answers
    t = p.t
    rid = a.request_sign(1, 1, b"d", t, timeout_ms=250)
    a.tx = []
    lost_at = a._last_rx + LOST
    seen = []
    while a.up:
        d = a.next_deadline()
        assert t <= d <= lost_at
        t = d
        a.poll(t)
        a.tx = []
        seen += [(t, e) for e in a.events]
        a.events = []
    assert seen == [(p.t + 250, ("sign_response", rid, msg.TIMEOUT, msg.SIG_DER, b"")),
                    (lost_at, ("link_lost", "timeout"))]


class FakeUart:
    """machine.UART with timeout=0: readinto gives what is waiting, write takes
    at most `room` bytes a call."""

    def __init__(self, room=1000):
        self.inbox = bytearray()
        self.sent = bytearray()
        self.room = room

    def readinto(self, buf):
        n = min(len(buf), len(self.inbox))
        if not n:
            return None
        buf[:n] = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return n

    def write(self, b):
        n = min(len(b), self.room)
        self.sent += bytes(b[:n])
        return n


def test_uart_port_between_two_links():
    ua = FakeUart(room=64)       # 64 bytes in 5 ms, about 115200 baud: frames go out in pieces
    ub = FakeUart()
    a = UartPort(ua, Link(msg.ROLE_VEHICLE, 0, 1, b"ev", KA, LOST, REQ), bufsize=16)
    b = UartPort(ub, Link(msg.ROLE_HOST, 0, 2, b"pc", KA, LOST, REQ))
    events = []
    t = 0
    sent = False
    for _ in range(200):
        a.service(t)
        b.service(t)
        ub.inbox += ua.sent
        ua.sent = bytearray()
        ua.inbox += ub.sent
        ub.sent = bytearray()
        events += b.link.events
        b.link.events = []
        if a.link.up and not sent:
            a.link.send_app_data(0, b"\x01\xfe" * 300)
            sent = True
        t += 5
    assert a.link.up and b.link.up
    assert [e[0] for e in events if e[0] != "app_data"] == ["link_up"]
    assert b"".join(e[2] for e in events if e[0] == "app_data") == b"\x01\xfe" * 300
    assert a.waiting() == 0 and a.tx_bytes > 600
    assert b.link.decoder.error_count() == 0


def test_request_too_long_for_the_peer_changes_nothing():
    p = up_pair(a_max=frame.MIN_PAYLOAD)            # a takes frames of 256 bytes at most
    assert p.b.chunk == frame.MIN_PAYLOAD
    try:
        p.b.request_config_set(b"key", b"v" * 300, p.t)
    except ValueError:
        pass
    else:
        raise AssertionError("a request longer than the peer takes was accepted")
    assert p.b.pending() == [] and p.b.tx == [] and p.b.events == []
    # an Ed448 signature request fits the smallest link
    rid = p.b.request_sign(1, msg.ALG_ED448, b"m" * 180, p.t)
    p.shuttle()
    assert p.take("a") == [("sign_request", rid, 1, msg.ALG_ED448, msg.SIG_DER, b"m" * 180)]


def test_max_payload_below_the_minimum_is_refused():
    try:
        Link(msg.ROLE_HOST, 0, 1, b"", max_payload=frame.MIN_PAYLOAD - 1)
    except ValueError:
        pass
    else:
        raise AssertionError("accepted")
    b = Link(msg.ROLE_HOST, 0, 1, b"")
    b.feed(frame.encode(msg.HELLO, 0, msg.encode_hello(msg.ROLE_CHARGER, msg.HELLO_ACK, 100, 2)), 0)
    assert not b.up and b.stats["bad_payload"] == 1
