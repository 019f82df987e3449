"""Host link framing: CRC-32, COBS vectors, frame layout, round trips, and a
decoder that skips damage (garbage, bad CRC, truncation, too long, wrong
version, bad length), counts it once, and never loses the next good frame."""
import binascii
import struct

from micro15118.hostlink import frame
from micro15118.hostlink.frame import FrameDecoder, encode


def data(n, seed=1, zeros=True):
    """n recognisable bytes (with zeros in them unless zeros=False)."""
    b = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        v = (x >> 16) & 0xFF
        if not zeros and v == 0:
            v = 0x5A
        b[i] = v
    return bytes(b)


def cobs(raw):
    raw = bytearray(raw)
    out = bytearray(frame.enc_len(len(raw)))
    n = frame.cobs_encode_into(raw, len(raw), out, 0)
    return bytes(out[:n])


def unframe(wire):
    """Reference decode of one wire frame: header + payload + crc bytes."""
    assert wire[0] == 0 and wire[-1] == 0
    enc = wire[1:-1]
    out = bytearray()
    i = 0
    while i < len(enc):
        c = enc[i]
        out += enc[i + 1:i + c]
        i += c
        if c != 0xFF and i < len(enc):
            out.append(0)
    return bytes(out)


def raw_frame(version, mtype, seq, length, payload, crc=None):
    """A frame with any header fields (crc None: the right one)."""
    raw = struct.pack(">BBHH", version, mtype, seq, length) + payload
    if crc is None:
        crc = binascii.crc32(raw) & 0xFFFFFFFF
    return b"\x00" + cobs(raw + struct.pack(">I", crc)) + b"\x00"


GOOD = encode(0x10, 7, b"good frame \x00 after")
GOOD_OUT = (0x10, 7, b"good frame \x00 after")


def test_crc32_check_value_and_soft_crc():
    assert binascii.crc32(b"123456789") & 0xFFFFFFFF == 0xCBF43926
    assert frame.crc32(b"123456789") & 0xFFFFFFFF == 0xCBF43926
    assert frame.crc32_soft(b"123456789") == 0xCBF43926
    for n in (0, 1, 3, 255, 1000):
        d = data(n, n + 1)
        assert frame.crc32_soft(d) == binascii.crc32(d) & 0xFFFFFFFF
        # incremental, as binascii
        assert frame.crc32_soft(d[n // 2:], frame.crc32_soft(d[:n // 2])) == frame.crc32_soft(d)


def test_cobs_vectors():
    # the examples of Cheshire & Baker's paper / Wikipedia
    h = bytes.fromhex
    assert cobs(h("00")) == h("0101")
    assert cobs(h("0000")) == h("010101")
    assert cobs(h("001100")) == h("01021101")
    assert cobs(h("11220033")) == h("0311220233")
    assert cobs(h("11223344")) == h("0511223344")
    assert cobs(h("11000000")) == h("0211010101")
    r = bytes(range(1, 255))
    assert cobs(r) == b"\xff" + r
    assert cobs(b"\x00" + r) == b"\x01\xff" + r
    assert cobs(bytes(range(1, 256))) == b"\xff" + r + b"\x02\xff"
    assert cobs(bytes(range(2, 256)) + b"\x00") == b"\xff" + bytes(range(2, 256)) + b"\x01\x01"
    assert cobs(bytes(range(3, 256)) + b"\x00\x01") == b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"
    assert cobs(b"") == b"\x01"


def test_frame_layout():
    w = encode(0x21, 0x1234, b"\x00ab")
    assert w[0] == 0 and w[-1] == 0 and 0 not in w[1:-1]
    raw = unframe(w)
    assert raw[:6] == bytes((frame.VERSION, 0x21, 0x12, 0x34, 0x00, 0x03))
    assert raw[6:9] == b"\x00ab"
    assert raw[9:] == struct.pack(">I", binascii.crc32(raw[:9]) & 0xFFFFFFFF)
    assert len(w) <= frame.frame_len(3)


def test_round_trip_sizes_and_contents():
    dec = FrameDecoder()
    for n in (0, 1, 2, 253, 254, 255, 500, 1000, 2047, 2048):
        for p in (data(n, n), bytes(n), b"\xff" * n, data(n, 3, zeros=False)):
            w = encode(0x12, n, p)
            assert len(w) <= frame.frame_len(n)
            assert dec.feed(w) == [(0x12, n, p)]
    assert dec.error_count() == 0 and dec.pending() == 0


def test_byte_by_byte_and_any_chunking_gives_the_same_frames():
    frames = [(0x10 + i % 3, i, data(i * 37 % 600, i)) for i in range(12)]
    stream = b"".join(encode(t, s, p) for t, s, p in frames)
    for step in (1, 2, 3, 7, 64, 255, 1000, len(stream)):
        dec = FrameDecoder()
        got = []
        for i in range(0, len(stream), step):
            got += dec.feed(stream[i:i + step])
        assert got == frames, step
        assert dec.error_count() == 0


def test_bytes_bytearray_memoryview_inputs():
    for kind in (bytes, bytearray, memoryview):
        assert FrameDecoder().feed(kind(GOOD)) == [GOOD_OUT]


def test_encoder_buffer_is_reused_and_checks_length():
    enc = frame.FrameEncoder(100)
    a = bytes(enc.encode(1, 1, b"x" * 100))
    b = enc.encode(2, 2, b"y")
    assert FrameDecoder().feed(a + bytes(b)) == [(1, 1, b"x" * 100), (2, 2, b"y")]
    try:
        enc.encode(1, 1, b"x" * 101)
    except ValueError:
        pass
    else:
        raise AssertionError("too long payload accepted")


def test_idle_delimiters_are_not_errors():
    dec = FrameDecoder()
    assert dec.feed(b"\x00" * 50 + GOOD + b"\x00\x00" + GOOD) == [GOOD_OUT, GOOD_OUT]
    assert dec.error_count() == 0


def test_garbage_before_between_and_after_frames():
    for garbage in (b"\x01", b"hello world", data(300, 5, zeros=False), data(300, 6),
                    b"\xff" * 3000, b"\x00\x02\x00\x13", data(5000, 9)):
        dec = FrameDecoder()
        got = dec.feed(garbage + GOOD + garbage + GOOD + garbage)
        got += dec.feed(GOOD)
        assert got == [GOOD_OUT] * 3, garbage[:8]
        assert dec.pending() == 0


def test_garbage_inside_a_frame_loses_only_that_frame():
    w = GOOD
    for cut in (2, 3, 6, 10, len(w) - 2):
        for garbage in (b"\x55", b"\x00", b"\x12\x00\x34", data(40, cut), data(40, cut, zeros=False)):
            dec = FrameDecoder()
            got = dec.feed(w + w[:cut] + garbage + w[cut:] + w)
            assert got == [GOOD_OUT, GOOD_OUT], (cut, garbage)
            assert dec.error_count() >= 1
            if 0 not in garbage:
                assert dec.error_count() == 1


def test_bad_crc_is_counted_and_the_next_frame_kept():
    w = bytearray(GOOD)
    w[8] ^= 0x04                    # a payload bit
    dec = FrameDecoder()
    assert dec.feed(bytes(w) + GOOD) == [GOOD_OUT]
    assert dec.errors["crc"] == 1 and dec.error_count() == 1
    # a wrong CRC field
    dec = FrameDecoder()
    assert dec.feed(raw_frame(1, 0x10, 1, 2, b"ab", crc=1234) + GOOD) == [GOOD_OUT]
    assert dec.errors["crc"] == 1 and dec.error_count() == 1


def test_truncated_frames():
    w = encode(0x10, 9, data(200, 2, zeros=False))
    for cut in (2, 5, 9, 11, 100, len(w) - 5, len(w) - 2):
        dec = FrameDecoder()
        # the tail of the frame is lost; the next frame's leading 00 closes it
        assert dec.feed(w[:cut] + GOOD) == [GOOD_OUT], cut
        assert dec.errors["truncated"] == 1 and dec.error_count() == 1, (cut, dec.errors)
    dec = FrameDecoder()
    assert dec.feed(b"\x00\x05\x01\x02\x00" + GOOD) == [GOOD_OUT]   # shorter than a header
    assert dec.errors["truncated"] == 1
    dec = FrameDecoder()
    assert dec.feed(b"\x00\x09\x01\x02\x00" + GOOD) == [GOOD_OUT]   # COBS block past the end
    assert dec.errors["truncated"] == 1


def test_too_long_frames():
    dec = FrameDecoder(100)
    big = encode(0x10, 1, data(500, 1))
    small = encode(0x10, 2, b"fits")
    assert dec.feed(big + small) == [(0x10, 2, b"fits")]
    assert dec.errors["too_long"] == 1 and dec.error_count() == 1
    # the same, a byte at a time
    dec = FrameDecoder(100)
    got = []
    for b in big + small:
        got += dec.feed(bytes((b,)))
    assert got == [(0x10, 2, b"fits")] and dec.errors["too_long"] == 1
    # endless bytes with no delimiter: counted once, memory stays bounded
    dec = FrameDecoder()
    for _ in range(20):
        assert dec.feed(b"\x5a" * 1000) == []
    assert dec.errors["too_long"] == 1 and dec.pending() == 0
    assert dec.feed(GOOD) == [GOOD_OUT]
    # a length field above max_payload in a frame with a good CRC
    dec = FrameDecoder(100)
    assert dec.feed(raw_frame(1, 0x10, 1, 3000, b"abc") + GOOD) == [GOOD_OUT]
    assert dec.errors["too_long"] == 1 and dec.error_count() == 1
    # the largest frame still fits
    dec = FrameDecoder(100)
    assert dec.feed(encode(0x10, 3, b"\xff" * 100)) == [(0x10, 3, b"\xff" * 100)]


def test_wrong_version_is_counted_and_skipped():
    dec = FrameDecoder()
    assert dec.feed(encode(0x10, 1, b"v2", version=2) + GOOD) == [GOOD_OUT]
    assert dec.errors["version"] == 1 and dec.error_count() == 1


def test_length_field_disagreeing_with_a_good_frame():
    dec = FrameDecoder()
    assert dec.feed(raw_frame(1, 0x10, 1, 4, b"abcde") + raw_frame(1, 0x10, 1, 6, b"abcde") + GOOD) \
        == [GOOD_OUT]
    # with a good CRC nothing is missing: the sender wrote a wrong length
    assert dec.errors["length"] == 2 and dec.error_count() == 2
    assert dec.feed(raw_frame(1, 0x10, 1, 5, b"abcde")) == [(0x10, 1, b"abcde")]


def test_feed_never_raises():
    dec = FrameDecoder(64)
    for junk in (None, 5, 1.5, "text", b"", (1, 2)):
        dec.feed(junk)
    assert dec.feed(encode(1, 1, b"ok")) == [(1, 1, b"ok")]


def test_reset_forgets_a_partial_frame():
    dec = FrameDecoder()
    dec.feed(GOOD[:10])
    assert dec.pending() == 9
    dec.reset()
    assert dec.pending() == 0
    assert dec.feed(GOOD[5:] + GOOD) == [GOOD_OUT]


def test_codec_with_the_soft_crc():
    # a port without binascii.crc32 frames the same bytes
    want = encode(0x10, 3, data(700, 4))
    real = frame.crc32
    frame.crc32 = frame.crc32_soft
    try:
        assert encode(0x10, 3, data(700, 4)) == want
        assert FrameDecoder().feed(want) == [(0x10, 3, data(700, 4))]
    finally:
        frame.crc32 = real
