"""V2GTP header codec and stream reassembly."""
from micro15118 import v2gtp

from reasons import reason_of


def _err(fn, *args):
    return reason_of(v2gtp.V2gtpError, fn, *args)


def test_payload_type_constants():
    assert v2gtp.SAP == 0x8001
    assert (v2gtp.COMMON, v2gtp.AC, v2gtp.DC, v2gtp.ACDP, v2gtp.WPT) == (
        0x8002, 0x8003, 0x8004, 0x8005, 0x8006)
    assert (v2gtp.SCHEDULE_RENEGOTIATION, v2gtp.METERING_CONFIRMATION,
            v2gtp.ACDP_SYSTEM_STATUS, v2gtp.PARKING_STATUS) == (0x8101, 0x8102, 0x8103, 0x8104)
    assert (v2gtp.SDP_REQ, v2gtp.SDP_RES, v2gtp.SDP_REQ_WIRELESS, v2gtp.SDP_RES_WIRELESS) == (
        0x9000, 0x9001, 0x9002, 0x9003)
    assert len(v2gtp.PAYLOAD_TYPES) == 14


def test_encode_layout():
    m = v2gtp.encode(0x8002, b'\x80\x01\x02')
    assert m == b'\x01\xfe\x80\x02\x00\x00\x00\x03\x80\x01\x02'
    assert v2gtp.encode(0x9000, bytearray(b'\x10\x00')) == bytes.fromhex('01fe9000000000021000')
    assert v2gtp.parse_header(m) == (0x8002, 3)


def test_parse_header_errors():
    good = v2gtp.encode(0x8001, b'')
    assert v2gtp.parse_header(good) == (0x8001, 0)
    assert _err(v2gtp.parse_header, good[:7]) == 'short header'
    assert _err(v2gtp.parse_header, b'\x02\xfd' + good[2:]) == 'bad version'
    assert _err(v2gtp.parse_header, b'\x01\xff' + good[2:]) == 'bad version'
    assert _err(v2gtp.parse_header, b'\x01\xfe\x80\x07\x00\x00\x00\x00') == 'unknown payload type'
    assert _err(v2gtp.parse_header, b'\x01\xfe\xa0\x00\x00\x00\x00\x00') == 'unknown payload type'
    big = b'\x01\xfe\x80\x02\x00\x00\x20\x01'          # 8193
    assert _err(v2gtp.parse_header, big) == 'payload too long'
    assert v2gtp.parse_header(big, 8193) == (0x8002, 8193)
    assert _err(v2gtp.parse_header, b'\x01\xfe\x80\x02\xff\xff\xff\xff') == 'payload too long'
    assert _err(v2gtp.parse_header, good, 100, (0x8002,)) == 'unknown payload type'


def test_reader_whole_and_byte_by_byte():
    msgs = [(0x8001, b'\x80\x00\xf1'), (0x8002, b''), (0x8004, bytes(range(200)))]
    stream = b''.join(v2gtp.encode(t, p) for t, p in msgs)
    r = v2gtp.V2gtpReader()
    assert r.feed(stream) == msgs and r.error is None and r.pending() == 0
    r = v2gtp.V2gtpReader()
    got = []
    for i in range(len(stream)):
        got.extend(r.feed(stream[i:i + 1]))
        if i < 8:
            assert r.pending() == i + 1
    assert got == msgs


def test_reader_any_split_and_input_types():
    msgs = [(0x8003, b'ab'), (0x8101, b'c' * 33), (0x9001, b'x' * 20)]
    stream = v2gtp.encode(*msgs[0]) + v2gtp.encode(*msgs[1]) + v2gtp.encode(*msgs[2])
    for a in range(len(stream)):
        for b in range(a, len(stream), 7):
            r = v2gtp.V2gtpReader(max_payload=64)
            got = r.feed(stream[:a])
            got += r.feed(bytearray(stream[a:b]))
            got += r.feed(memoryview(stream)[b:])
            assert got == msgs, (a, b)
            for _, p in got:
                assert isinstance(p, bytes)


def test_reader_payloads_do_not_alias_the_buffer():
    r = v2gtp.V2gtpReader(max_payload=16)
    first = r.feed(v2gtp.encode(0x8002, b'AAAA'))[0][1]
    r.feed(v2gtp.encode(0x8002, b'BBBB'))
    assert first == b'AAAA'


def test_reader_stops_after_header_error():
    r = v2gtp.V2gtpReader(max_payload=100)
    good = v2gtp.encode(0x8002, b'ok')
    bad = b'\x01\xfe\x80\x02\x00\x00\x00\x65'        # 101 > 100
    assert r.feed(good + bad + good) == [(0x8002, b'ok')]
    assert r.error == 'payload too long'
    assert r.feed(good) == [] and r.error == 'payload too long'
    r = v2gtp.V2gtpReader()
    assert r.feed(b'\x01\xfe\x80') == [] and r.error is None
    assert r.feed(b'\x09') == [] and r.error is None
    assert r.feed(b'\x00\x00\x00\x00') == [] and r.error == 'unknown payload type'
    r = v2gtp.V2gtpReader()
    assert r.feed(b'\x00') == [] and r.feed(b'\xfe\x80\x01\x00\x00\x00\x00') == []
    assert r.error == 'bad version'


def test_reader_allowed_types():
    r = v2gtp.V2gtpReader(allowed_types=(v2gtp.SAP, v2gtp.COMMON, v2gtp.DC))
    assert r.feed(v2gtp.encode(v2gtp.DC, b'x')) == [(v2gtp.DC, b'x')]
    assert r.feed(v2gtp.encode(v2gtp.AC, b'x')) == []
    assert r.error == 'unknown payload type'


def test_reader_large_message_in_many_segments():
    payload = bytes(i & 0xFF for i in range(8000))
    stream = v2gtp.encode(0x8002, payload) + v2gtp.encode(0x8002, b'z')
    r = v2gtp.V2gtpReader()
    got = []
    i = 0
    seg = 1
    while i < len(stream):
        got.extend(r.feed(stream[i:i + seg]))
        i += seg
        seg = seg % 13 + 1
    assert got == [(0x8002, payload), (0x8002, b'z')]
    assert r.pending() == 0


def test_reader_reset_starts_a_new_connection_clean():
    r = v2gtp.V2gtpReader(64)
    frame = v2gtp.encode(0x8001, b"abc")
    assert r.feed(frame[:10]) == [] and r.pending() == 10
    r.reset()
    assert r.pending() == 0 and r.feed(frame) == [(0x8001, b"abc")]
    assert r.feed(b"\x02\xfd\x80\x01\x00\x00\x01\x00") == [] and r.error   # too long for 64
    r.reset()
    assert r.error is None and r.feed(frame) == [(0x8001, b"abc")]
