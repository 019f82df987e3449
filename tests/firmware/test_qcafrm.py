"""QCA7000 framing: encoder layout, SPI/UART decoding, error counts, resynchronisation."""
from micro15118.drivers import qcafrm


def eth(n, seed=1):
    # A recognisable frame of n bytes.
    b = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        b[i] = (x >> 16) & 0xFF
    return bytes(b)


def spi(frame):
    return qcafrm.encode_spi_rx(frame)


def test_encode_layout():
    f = eth(100)
    out = qcafrm.encode(f)
    assert out[:4] == b"\xaa\xaa\xaa\xaa"
    assert out[4:6] == bytes((100, 0))          # little-endian length
    assert out[6:8] == b"\x00\x00"
    assert out[8:108] == f
    assert out[108:] == b"\x55\x55"
    assert len(out) == qcafrm.framed_len(100) == 110


def test_encode_pads_short_frames_to_60():
    out = qcafrm.encode(b"\x01" * 20)
    assert len(out) == 70
    assert out[4:6] == bytes((60, 0))
    assert out[8:28] == b"\x01" * 20
    assert out[28:68] == bytes(40)
    assert out[68:] == b"\x55\x55"


def test_encode_max_length_is_little_endian():
    out = qcafrm.encode(eth(1518))
    assert out[4] == 1518 & 0xFF and out[5] == 1518 >> 8
    assert len(out) == 1528


def test_encode_into_preallocated_buffer():
    buf = bytearray(200)
    buf[:] = b"\xee" * 200
    n = qcafrm.encode_into(buf, 2, b"\x07" * 10)
    assert n == 70
    assert bytes(buf[2:72]) == qcafrm.encode(b"\x07" * 10)
    assert buf[0] == 0xEE and buf[72] == 0xEE


def test_spi_hw_length_is_frame_length_plus_10():
    out = spi(eth(1518))
    assert out[:4] == bytes((0, 0, (1528 >> 8), 1528 & 0xFF))


def test_spi_decode_back_to_back_frames():
    frames = [eth(60, 1), eth(1518, 2), eth(300, 3), eth(61, 4)]
    stream = b"".join(spi(f) for f in frames)
    d = qcafrm.RxDecoder()
    assert d.feed(stream) == frames
    assert d.error_count() == 0
    assert d.pending() == 0
    assert d.frames == 4


def test_decode_byte_by_byte_and_in_odd_chunks():
    frames = [eth(100, 5), eth(1518, 6), eth(64, 7)]
    stream = b"".join(spi(f) for f in frames)
    d = qcafrm.RxDecoder()
    got = []
    for i in range(len(stream)):
        got += d.feed(stream[i:i + 1])
    assert got == frames
    d = qcafrm.RxDecoder()
    got = []
    i = 0
    step = 1
    while i < len(stream):
        got += d.feed(stream[i:i + step])
        i += step
        step = step * 3 % 1777 + 1
    assert got == frames and d.error_count() == 0


def test_decode_accepts_memoryview_and_bytearray():
    f = eth(80)
    d = qcafrm.RxDecoder()
    assert d.feed(memoryview(bytearray(spi(f)))) == [f]


def test_uart_mode_has_no_hw_length():
    frames = [eth(70, 8), eth(1518, 9)]
    stream = b"".join(qcafrm.encode(f) for f in frames)
    d = qcafrm.RxDecoder(spi=False)
    assert d.feed(stream) == frames
    assert d.error_count() == 0


def test_uart_starts_at_first_aa_after_noise():
    f = eth(90)
    d = qcafrm.RxDecoder(spi=False)
    assert d.feed(b"\x00\x13\x55\xaa\x37" + qcafrm.encode(f)) == [f]
    assert d.errors["no_head"] == 1          # one loss of sync, not one per byte
    assert d.skipped == 5


def decode_after(bad):
    """A decoder fed `bad` (a damaged SPI frame) and a good frame behind it:
    the good one, and only that, comes out."""
    good = eth(100, 2)
    d = qcafrm.RxDecoder()
    assert d.feed(bytes(bad) + spi(good)) == [good]
    return d


def test_bad_hw_length_counted_and_resynced():
    bad = bytearray(spi(eth(100, 1)))
    bad[0] = 1                               # first two bytes must be zero
    assert decode_after(bad).errors["hw_len"] == 1


def test_hw_length_value_must_match():
    bad = bytearray(spi(eth(100, 1)))
    bad[3] ^= 1
    assert decode_after(bad).errors["hw_len"] == 1


def test_missing_head_counted():
    bad = bytearray(spi(eth(100, 1)))
    bad[6] = 0xAB
    d = decode_after(bad)
    assert d.errors["no_head"] == 1
    assert d.errors["hw_len"] == 0


def test_bad_length_counted():
    for length in (59, 1519, 0, 0xFFFF):
        bad = bytearray(spi(eth(100, 1)))
        bad[8] = length & 0xFF
        bad[9] = length >> 8
        assert decode_after(bad).errors["bad_len"] == 1, length


def test_custom_max_len():
    d = qcafrm.RxDecoder(max_len=200)
    f = eth(201)
    assert d.feed(spi(f) + spi(eth(200))) == [eth(200)]
    assert d.errors["bad_len"] == 1


def test_missing_tail_counted():
    bad = bytearray(spi(eth(100, 1)))
    bad[-1] = 0x54
    assert decode_after(bad).errors["no_tail"] == 1


def test_corrupt_length_does_not_swallow_following_frames():
    # A length bit error claims 1500 bytes; the frames behind it must survive.
    good = [eth(60, i) for i in range(10)]
    bad = bytearray(spi(eth(60, 99)))
    bad[8], bad[9] = 1500 & 0xFF, 1500 >> 8
    bad[2], bad[3] = 1510 >> 8, 1510 & 0xFF
    stream = bytes(bad) + b"".join(spi(f) for f in good) + b"\x00" * 800
    d = qcafrm.RxDecoder()
    assert d.feed(stream) == good
    assert d.errors["no_tail"] == 1


def test_truncated_frame_waits_then_completes():
    f = eth(500)
    s = spi(f)
    d = qcafrm.RxDecoder()
    assert d.feed(s[:300]) == []
    assert d.pending() == 300
    assert d.feed(s[300:]) == [f]


def test_reset_drops_partial_frame():
    f = eth(500)
    d = qcafrm.RxDecoder()
    d.feed(spi(f)[:100])
    d.reset()
    assert d.pending() == 0
    assert d.feed(spi(f)) == [f]
    assert d.error_count() == 0


def test_garbage_never_raises_and_bounded_memory():
    d = qcafrm.RxDecoder()
    x = 7
    junk = bytearray(5000)
    for i in range(len(junk)):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        junk[i] = (x >> 16) & 0xFF
    for i in range(0, 5000, 333):
        d.feed(junk[i:i + 333])
    assert d.pending() <= 1532
    # Runs of the sync bytes alone.
    d.feed(b"\xaa" * 3000)
    d.feed(b"\x00" * 3000)
    d.feed(b"\x55" * 3000)
    d.feed(b"")
    assert d.pending() <= 1532
    f = eth(77)
    # After any garbage, a clean frame (after enough zeros to end a false candidate) decodes.
    got = d.feed(b"\x00" * 1600 + spi(f))
    assert got == [f]


def test_frame_with_sync_bytes_in_payload():
    f = b"\xaa" * 30 + b"\x55" * 30 + b"\x00\x00\x00\x00\xaa\xaa\xaa\xaa" * 10
    d = qcafrm.RxDecoder()
    assert d.feed(spi(f) + spi(f)) == [f, f]
    d = qcafrm.RxDecoder(spi=False)
    assert d.feed(qcafrm.encode(f) * 3) == [f, f, f]


def test_decoder_without_bytearray_find():
    # Small MicroPython builds lack bytearray.find: the fallback must agree.
    frames = [eth(100, 1), eth(60, 2)]
    stream = b"\x01\xaa\xaa\x00" + b"".join(spi(f) for f in frames) + b"\xaa\xaa\xaa"
    saved = qcafrm._HAS_FIND
    qcafrm._HAS_FIND = False
    try:
        d = qcafrm.RxDecoder()
        got = d.feed(stream)
        assert qcafrm._find_sof(bytearray(b"xx\xaa\xaa\xaa\xaa"), 0, 6) == 2
        assert qcafrm._find_sof(bytearray(b"xx\xaa\xaa\xaa\xaa"), 0, 5) == -1
    finally:
        qcafrm._HAS_FIND = saved
    assert got == frames
    ref = qcafrm.RxDecoder()
    assert ref.feed(stream) == frames
    assert d.errors == ref.errors and d.skipped == ref.skipped
    assert d.errors["hw_len"] == 2          # the junk in front and the AA AA AA after
