"""Host link messages: every type's payload round trip, through a frame too,
the layouts pinned byte by byte, and payloads that must not decode."""
from micro15118.hostlink import frame, msg
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
                 lambda: msg.encode_cert_request(1, 0, -1, 0)):
        try:
            call()
        except ValueError:
            continue
        raise AssertionError("accepted")
