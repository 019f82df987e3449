"""Host link messages: every type's payload round trip, through a frame too,
the layouts pinned byte by byte, and payloads that must not decode; the PnC
evidence TLVs and PNC_VERIFY between two Links (chunks, reassembly, the
verdict, a timeout or a lost link instead of an answer)."""
from micro15118.hostlink import frame, msg
from micro15118.hostlink.link import Link
from micro15118.hostlink.msg import MsgError


def cases():
    """(type, payload, decoder, expected decode) for every message type."""
    sig = bytes(range(72))
    chain = b"\x30\x82" + bytes(300)
    return [
        (msg.HELLO, msg.encode_hello(msg.ROLE_CHARGER, msg.HELLO_ACK, 2048, 0xDEADBEEF, b"fw 1.2"),
         msg.decode_hello, (1, msg.MINOR, msg.ROLE_CHARGER, msg.HELLO_ACK, 2048, 0xDEADBEEF, b"fw 1.2")),
        (msg.PING, msg.encode_ping(0xBEEF), msg.decode_ping, 0xBEEF),
        (msg.PONG, msg.encode_ping(7), msg.decode_ping, 7),
        (msg.ERROR, msg.encode_error(msg.ERR_UNKNOWN_TYPE, 0x77, 513, b"what"), msg.decode_error,
         (msg.ERR_UNKNOWN_TYPE, 0x77, 513, b"what")),
        (msg.TLS_RECORD, msg.encode_conn_data(3, b"\x16\x03\x03\x00\x05hello"), msg.decode_conn_data,
         (3, b"\x16\x03\x03\x00\x05hello")),
        (msg.TLS_EVENT, msg.encode_tls_event(3, msg.TLS_ERROR, 40, b"handshake_failure"),
         msg.decode_tls_event, (3, msg.TLS_ERROR, 40, b"handshake_failure")),
        (msg.APP_DATA, msg.encode_conn_data(0, b"\x01\xfe\x80\x02\x00\x00\x00\x02\x80\x00"),
         msg.decode_conn_data, (0, b"\x01\xfe\x80\x02\x00\x00\x00\x02\x80\x00")),
        (msg.SIGN_REQUEST, msg.encode_sign_request(9, 0x7FFF0201, msg.ALG_ECDSA_P521_SHA512,
                                                   msg.SIG_RAW, b"\x11" * 64),
         msg.decode_sign_request, (9, 0x7FFF0201, msg.ALG_ECDSA_P521_SHA512, msg.SIG_RAW, b"\x11" * 64)),
        (msg.SIGN_RESPONSE, msg.encode_sign_response(9, msg.OK, msg.SIG_DER, sig),
         msg.decode_sign_response, (9, msg.OK, msg.SIG_DER, sig)),
        (msg.CERT_REQUEST, msg.encode_cert_request(10, msg.CHAIN_OWN, 1000, 512),
         msg.decode_cert_request, (10, msg.CHAIN_OWN, 1000, 512)),
        (msg.CERT_RESPONSE, msg.encode_cert_response(10, msg.OK, 1302, 1000, chain),
         msg.decode_cert_response, (10, msg.OK, 1302, 1000, chain)),
        (msg.PNC_VERIFY_REQUEST, msg.encode_pnc_verify_request(13, 3000, 2040, chain[:500]),
         msg.decode_pnc_verify_request, (13, 3000, 2040, chain[:500])),
        (msg.PNC_VERIFY_RESPONSE, msg.encode_pnc_verify_response(13, msg.OK, b"WARNING_CertificateRevoked",
                                                                 b"contract_leaf: revoked"),
         msg.decode_pnc_verify_response, (13, msg.OK, b"WARNING_CertificateRevoked", b"contract_leaf: revoked")),
        (msg.CONFIG_SET, msg.encode_config_set(11, b"evse_id", b"DE*ABC*E1"), msg.decode_config_set,
         (11, b"evse_id", b"DE*ABC*E1")),
        (msg.CONFIG_GET, msg.encode_config_get(12, b"max_current_a"), msg.decode_config_get,
         (12, b"max_current_a")),
        (msg.CONFIG_RESULT, msg.encode_config_result(12, msg.OK, b"32"), msg.decode_config_result,
         (12, msg.OK, b"32")),
        (msg.OCPP_EVENT, msg.encode_ocpp_event(b'{"event":"plug_in","connector":1}'),
         msg.decode_ocpp_event, b'{"event":"plug_in","connector":1}'),
    ]


def test_every_type_has_a_case_and_distinct_values():
    assert sorted(c[0] for c in cases()) == sorted(msg.TYPES)
    assert len(set(msg.TYPES)) == len(msg.TYPES)
    for t in msg.TYPES:
        assert 0 < t < 256


def test_round_trip_every_type():
    for mtype, payload, decode, want in cases():
        got = decode(payload)
        if isinstance(want, tuple):
            got = tuple(got)
        assert got == want, (mtype, got)
        # and through a frame, as bytes, bytearray and memoryview
        (t, s, p), = frame.FrameDecoder().feed(frame.encode(mtype, 99, payload))
        assert (t, s, p) == (mtype, 99, payload)
        for kind in (bytearray, memoryview):
            got = decode(kind(payload))
            assert (tuple(got) if isinstance(want, tuple) else got) == want


def test_layouts():
    assert msg.encode_hello(msg.ROLE_HOST, 1, 2048, 0x01020304, b"h") == \
        bytes((1, msg.MINOR, 3, 1, 0x08, 0x00, 1, 2, 3, 4)) + b"h"
    assert msg.encode_ping(0x0102) == b"\x01\x02"
    assert msg.encode_error(2, 0x20, 0x0304, b"x") == b"\x02\x20\x03\x04x"
    assert msg.encode_conn_data(5, b"ab") == b"\x05ab"
    assert msg.encode_tls_event(1, msg.TLS_OPEN, 0x0203, b"d") == b"\x01\x01\x02\x03d"
    assert msg.encode_sign_request(0x0102, 0x0A0B0C0D, 3, 1, b"\xee") == \
        b"\x01\x02\x0a\x0b\x0c\x0d\x03\x01\xee"
    assert msg.encode_sign_response(0x0102, 0, 0, b"\x30") == b"\x01\x02\x00\x00\x30"
    assert msg.encode_cert_request(0x0102, 1, 0x0304, 0x0506) == b"\x01\x02\x01\x03\x04\x05\x06"
    assert msg.encode_cert_response(0x0102, 0, 0x0304, 0x0005, b"ab") == \
        b"\x01\x02\x00\x03\x04\x00\x05ab"
    assert msg.encode_config_set(0x0102, b"k", b"v") == b"\x01\x02\x01kv"
    assert msg.encode_config_get(0x0102, b"key") == b"\x01\x02key"
    assert msg.encode_config_result(0x0102, 2, b"") == b"\x01\x02\x02"
    assert msg.request_id(b"\x01\x02\x00") == 0x0102 and msg.request_id(b"\x01") is None
    assert msg.encode_pnc_verify_request(0x0102, 0x0304, 0x0005, b"ab") == b"\x01\x02\x03\x04\x00\x05ab"
    assert msg.encode_pnc_verify_response(0x0102, 0, b"OK", b"why") == b"\x01\x02\x00\x02OKwhy"
    assert msg.encode_pnc_evidence({"id": "id1", "method": "m", "element": b"\xe0", "signed_info": b"\x80",
                                    "signature": b"\x01\x02", "leaf": b"\x30", "sub_cas": [b"\x31", b"\x32"],
                                    "challenge": b"\xcc"}) == (
        b"\x01\x00\x03id1" b"\x02\x00\x01m" b"\x03\x00\x01\xe0" b"\x04\x00\x01\x80"
        b"\x05\x00\x02\x01\x02" b"\x07\x00\x01\x30" b"\x08\x00\x01\x31" b"\x08\x00\x01\x32"
        b"\x09\x00\x01\xcc")


def test_hello_firmware_string_is_capped():
    p = msg.encode_hello(msg.ROLE_VEHICLE, 0, 512, 1, b"v" * 100)
    assert len(p) == 10 + msg.FW_MAX
    assert msg.decode_hello(p)[6] == b"v" * msg.FW_MAX


def expect_error(decode, payload):
    try:
        decode(payload)
    except MsgError as e:
        assert e.reason
        return
    raise AssertionError("%s accepted %r" % (decode.__name__, payload))


def test_bad_payloads_raise_msgerror():
    bad = [
        (msg.decode_hello, b""), (msg.decode_hello, b"\x01\x00\x01\x00\x08\x00\x00\x00\x00"),
        (msg.decode_hello, bytes(10 + msg.FW_MAX + 1)),
        (msg.decode_ping, b""), (msg.decode_ping, b"\x01"), (msg.decode_ping, b"\x01\x02\x03"),
        (msg.decode_error, b"\x01\x02\x03"),
        (msg.decode_conn_data, b""),
        (msg.decode_tls_event, b"\x01\x01\x00"), (msg.decode_tls_event, b"\x01\x00\x00\x00"),
        (msg.decode_tls_event, b"\x01\x05\x00\x00"),
        (msg.decode_sign_request, b"\x00\x01\x00\x00\x00\x01\x01\x00"),     # no digest
        (msg.decode_sign_response, b"\x00\x01\x00"),
        (msg.decode_cert_request, b"\x00\x01\x00\x00\x00\x00"),
        (msg.decode_cert_request, b"\x00\x01\x00\x00\x00\x00\x00\x00"),
        (msg.decode_cert_response, b"\x00\x01\x00\x00\x00\x00"),
        (msg.decode_cert_response, b"\x00\x01\x00\x00\x02\x00\x01ab"),     # past total
        (msg.decode_pnc_verify_request, b"\x00\x01\x00\x05\x00\x00"),       # no chunk
        (msg.decode_pnc_verify_request, b"\x00\x01\x00\x02\x00\x01ab"),     # past total
        (msg.decode_pnc_verify_request, b"\x00\x01\x40\x01\x00\x00a"),      # total > PNC_MAX
        (msg.decode_pnc_verify_response, b"\x00\x01\x00"),
        (msg.decode_pnc_verify_response, b"\x00\x01\x00\x03OK"),           # code cut short
        (msg.decode_pnc_verify_response, b"\x00\x01\x00\x41" + b"W" * 65),  # code too long
        (msg.decode_config_set, b"\x00\x01"), (msg.decode_config_set, b"\x00\x01\x00v"),
        (msg.decode_config_set, b"\x00\x01\x05abc"),
        (msg.decode_config_get, b"\x00\x01"), (msg.decode_config_get, b"\x00\x01" + b"k" * 256),
        (msg.decode_config_result, b"\x00\x01"),
        (msg.decode_ocpp_event, b""),
    ]
    for decode, payload in bad:
        expect_error(decode, payload)


def test_encoders_refuse_out_of_range_fields():
    for call in (lambda: msg.encode_sign_request(70000, 1, 1, 0, b"d"),
                 lambda: msg.encode_config_set(1, b"", b"v"),
                 lambda: msg.encode_config_get(1, b"k" * 256),
                 lambda: msg.encode_cert_request(1, 0, -1, 0),
                 lambda: msg.encode_pnc_verify_request(1, 70000, 0, b"x"),
                 lambda: msg.encode_pnc_verify_response(1, 0, b"W" * 65),
                 lambda: msg.encode_pnc_evidence({"id": "id1"}),
                 lambda: msg.encode_pnc_evidence(dict(evidence(), element=bytes(msg.PNC_MAX)))):
        try:
            call()
        except ValueError:
            continue
        raise AssertionError("accepted")


# -- PnC evidence and PNC_VERIFY ---------------------------------------------------------

def evidence(n_subs=2):
    """An evidence dict as the SECC builds it (iso20/secc/authorization.py)."""
    return {"id": "id1", "method": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
            "element": bytes(range(256)) * 9, "signed_info": b"\x80\x01" * 120, "signature": b"\x5a" * 132,
            "digest": b"\x11" * 64, "leaf": b"\x30\x82" + bytes(700),
            "sub_cas": [b"\x30\x82" + bytes((i,)) * 650 for i in range(n_subs)],
            "challenge": b"\xc0" * 16, "evccid": "020000000002"}


def test_evidence_round_trip():
    for n in (1, 2, 3):
        ev = evidence(n)
        assert msg.decode_pnc_evidence(msg.encode_pnc_evidence(ev)) == ev
    # optional fields left out (None or absent): decoded without them
    ev = evidence()
    ev["digest"] = None
    del ev["evccid"]
    got = msg.decode_pnc_evidence(msg.encode_pnc_evidence(ev))
    assert "digest" not in got and "evccid" not in got and got["leaf"] == ev["leaf"]


def test_bad_evidence_raises_msgerror():
    good = msg.encode_pnc_evidence(evidence())
    bad = [good[:-1], good[:2], good + b"\x0b\x00\x00",          # truncated, unknown tag
           good + b"\x01\x00\x01x",                             # id twice
           good[good.index(b"\x02\x00"):],                        # no id
           b"\x01\x00\x02\xff\xfe" + good[6:]]                    # id not UTF-8
    for p in bad:
        expect_error(msg.decode_pnc_evidence, p)


KA, LOST, REQ = 100, 400, 1000


class Ends:
    """An MCU Link and a host Link joined by a wire (`cut`: nothing passes)."""

    def __init__(self, mcu_max=frame.MAX_PAYLOAD, host_max=frame.MAX_PAYLOAD):
        self.t = 0
        self.mcu = Link(msg.ROLE_CHARGER, 0, 1, b"mcu", KA, LOST, REQ, mcu_max)
        self.host = Link(msg.ROLE_HOST, 0, 2, b"host", KA, LOST, REQ, host_max)
        self.cut = False
        self.frames = 0             # MCU -> host
        self.ev = {"mcu": [], "host": []}
        self.step(0)

    def shuttle(self):
        for _ in range(10):
            moved = False
            for src, dst in ((self.mcu, self.host), (self.host, self.mcu)):
                frames = src.tx
                src.tx = []
                for f in frames:
                    moved = True
                    if src is self.mcu:
                        self.frames += 1
                    if not self.cut:
                        dst.feed(f, self.t)
            if not moved:
                break
        for name, link in (("mcu", self.mcu), ("host", self.host)):
            self.ev[name].extend(link.events)
            link.events = []

    def step(self, dt):
        self.t += dt
        for link in (self.mcu, self.host):
            link.poll(self.t)
        self.shuttle()

    def up(self):
        for _ in range(20):
            if self.mcu.up and self.host.up:
                return
            self.step(KA)
        raise AssertionError("link not up")

    def take(self, end, name):
        got = [e for e in self.ev[end] if e[0] == name]
        self.ev[end] = [e for e in self.ev[end] if e[0] != name]
        return got


def test_pnc_verify_in_chunks_and_the_verdict():
    for mcu_max, host_max in ((frame.MAX_PAYLOAD, frame.MAX_PAYLOAD), (256, frame.MAX_PAYLOAD),
                              (frame.MAX_PAYLOAD, 300)):
        e = Ends(mcu_max, host_max)
        e.up()
        blob = msg.encode_pnc_evidence(evidence(3))
        rid = e.mcu.request_pnc_verify(blob, e.t, timeout_ms=5000)
        assert rid and e.mcu.pending() == [rid]
        n = len(e.mcu.tx)
        assert n == (len(blob) + e.mcu.chunk - 7) // (e.mcu.chunk - 6) and n > 1
        e.shuttle()
        (req,) = e.take("host", "pnc_verify_request")
        assert req == ("pnc_verify_request", rid, blob)
        assert msg.decode_pnc_evidence(req[2]) == evidence(3)
        e.host.respond_pnc_verify(rid, msg.OK, b"WARNING_CertificateExpired", b"expired " * 100)
        e.shuttle()
        (res,) = e.take("mcu", "pnc_verify_response")
        assert res[:4] == ("pnc_verify_response", rid, msg.OK, b"WARNING_CertificateExpired")
        assert res[4].startswith(b"expired") and e.mcu.pending() == []


def test_pnc_verify_ends_with_timeout_or_link_lost_never_a_hang():
    e = Ends()
    e.up()
    blob = msg.encode_pnc_evidence(evidence())
    rid = e.mcu.request_pnc_verify(blob, e.t, timeout_ms=300)
    e.shuttle()
    assert len(e.take("host", "pnc_verify_request")) == 1
    e.step(200)
    e.step(150)                     # the host never answered
    assert e.take("mcu", "pnc_verify_response") == [("pnc_verify_response", rid, msg.TIMEOUT, b"", b"")]
    e.host.respond_pnc_verify(rid, msg.OK, b"OK")      # too late: dropped
    e.shuttle()
    assert e.take("mcu", "pnc_verify_response") == [] and e.mcu.stats["late"] == 1
    # pending when the link is lost
    rid = e.mcu.request_pnc_verify(blob, e.t)
    e.shuttle()
    e.cut = True
    for _ in range(6):
        e.step(KA)
    assert not e.mcu.up
    assert e.take("mcu", "pnc_verify_response") == [("pnc_verify_response", rid, msg.LINK_LOST, b"", b"")]
    # made while down: ends at once, nothing sent
    queued = len(e.mcu.tx)
    rid = e.mcu.request_pnc_verify(blob, e.t)
    assert e.mcu.events[-1] == ("pnc_verify_response", rid, msg.LINK_LOST, b"", b"")
    assert len(e.mcu.tx) == queued and e.mcu.pending() == []


def test_pnc_chunks_out_of_order_never_make_a_request():
    e = Ends(256, 256)
    e.up()
    blob = msg.encode_pnc_evidence(evidence(1))
    e.mcu.request_pnc_verify(blob, e.t)
    frames = e.mcu.tx
    e.mcu.tx = []
    assert len(frames) > 3
    # the first chunk twice and one missing: a restart, then a bad chunk
    for f in [frames[0], frames[1], frames[0]] + frames[2:]:
        e.host.feed(f, e.t)
    assert [x for x in e.host.events if x[0] == "pnc_verify_request"] == []
    assert e.host.stats["bad_payload"] >= 1
    # in order again: one request
    e.host.events = []
    for f in frames:
        e.host.feed(f, e.t)
    assert [x[0] for x in e.host.events if x[0] == "pnc_verify_request"] == ["pnc_verify_request"]
    try:
        e.mcu.request_pnc_verify(b"", e.t)
    except ValueError:
        pass
    else:
        raise AssertionError("an empty evidence was taken")
