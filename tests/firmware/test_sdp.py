"""SDP codec, server (charger) and client (vehicle)."""
from micro15118 import sdp
from micro15118 import v2gtp

from reasons import reason_of

IP = bytes.fromhex('fe80000000000000020000fffe000e01')


def _raises(fn, *args):
    return reason_of(sdp.SdpError, fn, *args)


def test_request_codec():
    req = sdp.encode_request(sdp.SECURITY_NO_TLS)
    assert req == bytes.fromhex('01fe9000000000021000')
    assert sdp.parse_request(req) == (0x10, 0x00)
    assert sdp.parse_request(sdp.encode_request(sdp.TLS)) == (0x00, 0x00)
    assert sdp.parse_request(sdp.encode_request(sdp.NO_TLS, sdp.TRANSPORT_UDP)) == (0x10, 0x10)
    assert _raises(sdp.parse_request, req[:-1]) == 'bad length'
    assert _raises(sdp.parse_request, req + b'\x00') == 'bad length'
    assert _raises(sdp.parse_request, bytes.fromhex('01fe9000000000031000')) == 'payload too long'
    assert _raises(sdp.parse_request, bytes.fromhex('01fe9000000000011000')) == 'bad length'
    assert _raises(sdp.parse_request, bytes.fromhex('01fe9001000000021000')) == 'unknown payload type'
    assert _raises(sdp.parse_request, bytes.fromhex('02fd9000000000021000')) == 'bad version'
    assert _raises(sdp.parse_request, bytes.fromhex('01fe9000000000022000')) == 'bad security'
    assert _raises(sdp.parse_request, b'') == 'short header'


def test_response_codec():
    res = sdp.encode_response(IP, 50000, sdp.SECURITY_TLS)
    assert len(res) == 28
    assert res[:8] == bytes.fromhex('01fe900100000014')
    assert res[8:24] == IP and res[24:] == bytes.fromhex('c3500000')
    assert sdp.parse_response(res) == (IP, 50000, 0x00, 0x00)
    assert _raises(sdp.parse_response, res[:-1]) == 'bad length'
    assert _raises(sdp.parse_response, sdp.encode_request()) == 'unknown payload type'
    bad = bytearray(res)
    bad[26] = 0x20
    assert _raises(sdp.parse_response, bytes(bad)) == 'bad security'
    try:
        sdp.encode_response(IP[:15], 1, 0)
    except ValueError:
        pass
    else:
        assert False


def test_server_answers_and_drops():
    s = sdp.SdpServer(IP, 61000)
    assert sdp.parse_response(s.handle(sdp.encode_request(sdp.NO_TLS))) == (IP, 61000, 0x10, 0)
    # asked for TLS, there is no TLS server: falls back to plain
    assert sdp.parse_response(s.handle(sdp.encode_request(sdp.TLS))) == (IP, 61000, 0x10, 0)
    for junk in (b'', b'\x01\xfe', sdp.encode_request()[:-1], sdp.encode_request() + b'\x00',
                 sdp.encode_request(sdp.NO_TLS, sdp.TRANSPORT_UDP),
                 sdp.encode_response(IP, 1, 0), bytes.fromhex('01fe9000000000022000'),
                 v2gtp.encode(v2gtp.SDP_REQ_WIRELESS, b'\x10\x00'), None, 'text'):
        assert s.handle(junk) is None
    assert s.dropped == 10 and s.answered == 2


def test_server_policies():
    req_tls = sdp.encode_request(sdp.TLS)
    req_plain = sdp.encode_request(sdp.NO_TLS)
    accept = sdp.SdpServer(IP, 61000, tls_port=64000)
    assert sdp.parse_response(accept.handle(req_tls))[1:3] == (64000, 0x00)
    assert sdp.parse_response(accept.handle(req_plain))[1:3] == (61000, 0x10)
    tls = sdp.SdpServer(IP, 61000, tls_port=64000, policy='enforce_tls')
    assert sdp.parse_response(tls.handle(req_plain))[1:3] == (64000, 0x00)
    plain = sdp.SdpServer(IP, 61000, tls_port=64000, policy='enforce_no_tls')
    assert sdp.parse_response(plain.handle(req_tls))[1:3] == (61000, 0x10)
    tls_only = sdp.SdpServer(IP, None, tls_port=64000)
    assert sdp.parse_response(tls_only.handle(req_plain))[1:3] == (64000, 0x00)
    for args in ((IP, None), (IP, 1, None, 'enforce_tls'), (IP, None, 2, 'enforce_no_tls'),
                 (IP, 1, 2, 'maybe')):
        try:
            sdp.SdpServer(*args)
        except ValueError:
            pass
        else:
            assert False, args


def test_client_retries_then_fails():
    c = sdp.SdpClient(now=1000)
    assert c.next_deadline() == 1000
    c.poll(999)
    assert c.tx == []
    c.poll(1000)
    assert c.tx == [sdp.encode_request(sdp.NO_TLS)]
    c.poll(1100)
    assert len(c.tx) == 1 and c.next_deadline() == 1250
    t = 1250
    while c.next_deadline() is not None:
        c.poll(c.next_deadline())
        t += 1
        assert t < 2000
    assert len(c.tx) == 50 and c.events == [('sdp_failed',)]
    assert c.sent == 50
    c.restart(20000)
    c.poll(20000)
    assert len(c.tx) == 51 and c.next_deadline() == 20250


def test_client_takes_first_valid_answer():
    c = sdp.SdpClient(security=sdp.TLS, now=0, interval_ms=100, max_requests=3)
    c.poll(0)
    assert sdp.parse_request(c.tx[0]) == (0x00, 0x00)
    server = sdp.SdpServer(IP, 61000, tls_port=64000)
    assert c.handle(c.tx[0], 10) is None                     # our own multicast
    assert c.handle(sdp.encode_response(IP, 1, 0, sdp.TRANSPORT_UDP), 10) is None
    assert c.handle(sdp.encode_response(IP, 0, 0), 10) is None
    assert c.handle(b'\x01', 10) is None and c.dropped == 4
    ev = c.handle(server.handle(c.tx[0]), 20)
    assert ev == ('secc', IP, 64000, 0x00) and c.events == [ev]
    assert c.next_deadline() is None
    c.poll(1000)
    assert len(c.tx) == 1 and c.events == [ev]
    assert c.handle(server.handle(c.tx[0]), 30) is None      # late duplicate


def test_client_rejects_bad_security_setting():
    try:
        sdp.SdpClient(security=0x20)
    except ValueError:
        pass
    else:
        assert False
