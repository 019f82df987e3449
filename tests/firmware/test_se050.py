"""SE050 driver, T=1 over I2C and APDU framing, against a small scripted chip
in this file (runs under CPython and MicroPython; the full software model
with the applet and `cryptography` is tests/test_se050_model.py)."""
from micro15118.drivers import se050, se050t1
from micro15118.drivers.se050t1 import T1, T1Error, Se050Error

ATR = (b"\x00\xa0\x00\x00\x03\x96\x04\x03\xe8\x00\xfe\x02\x0b\x03\xe8\x08\x01\x00\x00\x00"
       b"\x00\x64\x00\x00\x0a" + b"JCOP4 ATPO")


def crc_bits(data):
    # CRC-16/X.25 bit by bit, independent of the driver's table
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def blk(nad, pcb, inf=b""):
    head = bytes((nad, pcb, len(inf))) + bytes(inf)
    c = crc_bits(head)
    return head + bytes((c & 0xFF, c >> 8))


def echo(apdu):
    # reversed command, then 9000
    out = bytearray(len(apdu))
    for i in range(len(apdu)):
        out[i] = apdu[len(apdu) - 1 - i]
    return bytes(out) + b"\x90\x00"


class Chip:
    """A scripted SE-side T=1 peer: enough of the protocol to exercise the
    driver, with knobs for NACKs, WTX, corruption and lost blocks."""

    def __init__(self, handler=echo, ifsd=254):
        self.handler = handler
        self.ifsd = ifsd
        self.out = None
        self.pos = 0
        self.nack_reads = 0         # NACK this many reads before answering
        self.nack_all = False
        self.garbage = False        # answer every read with junk
        self.wtx = 0                # WTX requests before the next response
        self.corrupt_out = 0        # break the CRC of our next n blocks
        self.corrupt_in = 0         # take the host's next n blocks as broken
        self.drop_in = 0            # ACK and ignore the host's next n blocks
        self.seq_recv = 0
        self.seq_send = 0
        self.rx = bytearray()
        self.chunks = []
        self.last = None
        self.await_wtx = False
        self.pending = None
        self.blocks = []            # every block the host wrote
        self.apdus = []

    # bus
    def writeto(self, addr, buf, stop=True):
        if self.nack_all or addr != 0x48:
            raise OSError(19)
        data = bytes(buf)
        self.blocks.append(data)
        self.out = None
        if self.drop_in:
            self.drop_in -= 1
            return len(data)
        self.on_block(data)
        return len(data)

    def readfrom_into(self, addr, buf, stop=True):
        if self.nack_all or addr != 0x48:
            raise OSError(19)
        if self.garbage:
            x = len(self.blocks) * 7 + 3
            for i in range(len(buf)):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                buf[i] = (x >> 16) & 0xFF
            return
        if self.out is None or self.pos >= len(self.out):
            raise OSError(19)
        if self.nack_reads:
            self.nack_reads -= 1
            raise OSError(19)
        n = len(buf)
        for i in range(n):
            j = self.pos + i
            buf[i] = self.out[j] if j < len(self.out) else 0xFF
        self.pos += n

    # T=1
    def present(self, b, remember=True):
        if remember:
            self.last = b
        if self.corrupt_out:
            self.corrupt_out -= 1
            b = b[:-1] + bytes((b[-1] ^ 0xFF,))
        self.out = b
        self.pos = 0

    def r(self, err):
        self.present(blk(0xA5, 0x80 | (0x10 if self.seq_recv else 0) | err), False)

    def next_chunk(self):
        c = self.chunks.pop(0)
        pcb = (0x40 if self.seq_send else 0) | (0x20 if self.chunks else 0)
        self.seq_send ^= 1
        self.present(blk(0xA5, pcb, c))

    def respond(self):
        if self.wtx:
            self.wtx -= 1
            self.await_wtx = True
            self.present(blk(0xA5, 0xC3, b"\x02"))
            return
        self.next_chunk()

    def on_block(self, d):
        n = len(d)
        bad = self.corrupt_in
        if bad:
            self.corrupt_in -= 1
        if n < 5 or d[0] != 0x5A or d[2] != n - 5:
            self.r(2)
            return
        c = crc_bits(d[:-2])
        if bad or d[-2] != c & 0xFF or d[-1] != c >> 8:
            self.r(1)
            return
        pcb = d[1]
        inf = d[3:-2]
        if pcb & 0x80 == 0:
            ns = 1 if pcb & 0x40 else 0
            if ns != self.seq_recv:
                if self.last is None:
                    self.r(2)
                else:
                    self.present(self.last)
                return
            self.seq_recv ^= 1
            self.rx += inf
            if pcb & 0x20:
                self.present(blk(0xA5, 0x80 | (0x10 if self.seq_recv else 0)))
                return
            apdu = bytes(self.rx)
            self.rx = bytearray()
            self.apdus.append(apdu)
            rsp = self.handler(apdu)
            self.chunks = [rsp[i:i + self.ifsd] for i in range(0, len(rsp), self.ifsd)]
            self.respond()
        elif pcb & 0xC0 == 0x80:
            nr = 1 if pcb & 0x10 else 0
            if self.chunks and not self.await_wtx and pcb & 3 == 0 and nr == self.seq_send:
                self.next_chunk()
            elif self.last is None:
                self.r(2)
            else:
                self.present(self.last)
        elif pcb == 0xE3 and self.await_wtx:
            self.await_wtx = False
            self.respond()
        elif pcb == 0xC0:
            self.seq_recv = self.seq_send = 0
            self.rx = bytearray()
            self.chunks = []
            self.present(blk(0xA5, 0xE0))
        elif pcb == 0xCF:
            self.seq_recv = self.seq_send = 0
            self.rx = bytearray()
            self.chunks = []
            self.present(blk(0xA5, 0xEF, ATR))
        elif pcb == 0xC1:
            self.ifsd = inf[0]
            self.present(blk(0xA5, 0xE1, inf))
        else:
            self.r(2)


class Sleeper:
    def __init__(self):
        self.ms = 0
        self.calls = 0

    def __call__(self, ms):
        self.ms += ms
        self.calls += 1


def link(chip=None, **kw):
    chip = chip if chip is not None else Chip()
    sleep = Sleeper()
    return chip, sleep, T1(chip, sleep, **kw)


def pattern(n, seed=1):
    b = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        b[i] = (x >> 16) & 0xFF
    return bytes(b)


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    assert False, "no " + exc.__name__


# -- framing ---------------------------------------------------------------------

def test_crc_of_the_interface_soft_reset_block():
    buf = bytearray(8)
    n = se050t1.frame(buf, 0x5A, 0xCF)
    assert bytes(buf[:n]) == b"\x5a\xcf\x00\x37\x7f"


def test_crc_table_matches_the_bitwise_crc():
    for n in (0, 1, 2, 17, 254):
        d = pattern(n, n + 3)
        assert se050t1.crc16(d, n) == crc_bits(d)


def test_frame_and_check():
    buf = bytearray(se050t1.FRAME_MAX)
    inf = pattern(254)
    n = se050t1.frame(buf, 0x5A, 0x40, inf, 254)
    assert n == 259 and bytes(buf[:n]) == blk(0x5A, 0x40, inf)
    assert se050t1.check(buf, n)
    buf[100] ^= 1
    assert not se050t1.check(buf, n)
    assert not se050t1.check(buf, 4)


def test_parse_atr():
    assert se050t1.parse_atr(ATR) == (1000, 254, 1)
    assert se050t1.parse_atr(ATR[:10]) is None
    assert se050t1.parse_atr(b"") is None


# -- T=1 exchanges -----------------------------------------------------------------

def test_soft_reset_reads_the_atr():
    chip, sleep, t1 = link(bwt_ms=50)
    assert t1.soft_reset() == ATR
    assert t1.bwt_ms == 1000 and t1.ifsc == 254 and t1.poll_ms == 1
    assert chip.blocks[-1] == b"\x5a\xcf\x00\x37\x7f"


def test_short_apdu():
    chip, sleep, t1 = link()
    rsp = t1.transceive(b"\x80\x04\x00\x20\x00")
    assert bytes(rsp) == b"\x00\x20\x00\x04\x80\x90\x00"
    assert chip.blocks[0] == blk(0x5A, 0x00, b"\x80\x04\x00\x20\x00")
    rsp = t1.transceive(b"\x01\x02")
    assert bytes(rsp) == b"\x02\x01\x90\x00"
    assert chip.blocks[1][1] == 0x40            # N(S) toggles


def test_chained_command_longer_than_ifsc():
    chip, sleep, t1 = link()
    apdu = pattern(600)
    rsp = t1.transceive(apdu)
    assert chip.apdus == [apdu]
    pcbs = [b[1] for b in chip.blocks[:3]]
    assert pcbs == [0x20, 0x60, 0x00]             # M set on all but the last
    assert [b[2] for b in chip.blocks[:3]] == [254, 254, 92]
    assert bytes(rsp[:-2]) == echo(apdu)[:-2]


def test_chained_response():
    chip, sleep, t1 = link(Chip(lambda a: pattern(700) + b"\x90\x00"))
    rsp = t1.transceive(b"\x80\x02\x00\x00")
    assert bytes(rsp) == pattern(700) + b"\x90\x00"
    acks = [b[1] for b in chip.blocks[1:]]
    assert acks == [0x90, 0x80]                   # R(N(R)=1), R(N(R)=0)


def test_busy_chip_is_polled():
    chip, sleep, t1 = link()
    chip.nack_reads = 25
    assert bytes(t1.transceive(b"\x01")) == b"\x01\x90\x00"
    assert sleep.ms == 25 and t1.stats["nacks"] == 25


def test_wtx_requests_are_answered():
    chip, sleep, t1 = link()
    chip.wtx = 3
    assert bytes(t1.transceive(b"\x07\x08")) == b"\x08\x07\x90\x00"
    wtx = [b for b in chip.blocks if b[1] == 0xE3]
    assert wtx == [blk(0x5A, 0xE3, b"\x02")] * 3     # the multiplier comes back
    assert t1.stats["wtx"] == 3


def test_too_many_wtx_requests_give_up():
    chip, sleep, t1 = link(max_wtx=2)
    chip.wtx = 100
    e = raises(T1Error, t1.transceive, b"\x01")
    assert isinstance(e, Se050Error) and e.sw is None


def test_bad_crc_from_the_chip_is_repeated():
    chip, sleep, t1 = link()
    chip.corrupt_out = 1
    assert bytes(t1.transceive(b"\x05\x06")) == b"\x06\x05\x90\x00"
    assert chip.blocks[1] == blk(0x5A, 0x81)          # R(N(R)=0, CRC error)
    assert t1.stats["bad_blocks"] == 1 and t1.stats["resyncs"] == 0


def test_bad_crc_at_the_chip_makes_the_driver_resend():
    chip, sleep, t1 = link()
    chip.corrupt_in = 1
    assert bytes(t1.transceive(b"\x05\x06")) == b"\x06\x05\x90\x00"
    assert chip.blocks[0] == chip.blocks[1]           # the same I-block twice
    assert t1.stats["retransmits"] == 1


def test_corrupted_chain_acknowledgement():
    chip, sleep, t1 = link()
    t1.transceive(b"\x00")                      # leaves a last block in the chip
    chip.corrupt_out = 1                        # the R-ack of the first chained block
    apdu = pattern(400, 9)
    assert bytes(t1.transceive(apdu)[:-2]) == echo(apdu)[:-2]
    assert chip.apdus[-1] == apdu


def test_lost_block_resyncs_and_resends():
    chip, sleep, t1 = link(bwt_ms=20)
    t1.transceive(b"\x01")
    chip.drop_in = 1
    assert bytes(t1.transceive(b"\x02\x03")) == b"\x03\x02\x90\x00"
    assert t1.stats["resyncs"] == 1 and t1.stats["redos"] == 1
    assert b"\x5a\xc0\x00" == chip.blocks[-2][:3]     # S(RESYNCH) before the resend


def test_lost_block_without_redo_raises():
    chip, sleep, t1 = link(bwt_ms=20)
    t1.transceive(b"\x01")
    chip.drop_in = 1
    raises(T1Error, t1.transceive, b"\x02", None, False)
    assert bytes(t1.transceive(b"\x04")) == b"\x04\x90\x00"   # the link works again


def test_no_device_is_a_t1_error_in_bounded_time():
    chip, sleep, t1 = link(bwt_ms=30)
    chip.nack_all = True
    raises(T1Error, t1.transceive, b"\x01")
    assert sleep.ms <= 30 * 10
    raises(T1Error, t1.soft_reset)


def test_garbage_from_the_chip_is_a_t1_error():
    chip, sleep, t1 = link(bwt_ms=10)
    chip.garbage = True
    raises(T1Error, t1.transceive, b"\x01\x02\x03")
    raises(T1Error, t1.soft_reset)
    chip.garbage = False
    assert t1.soft_reset() == ATR
    assert bytes(t1.transceive(b"\x09")) == b"\x09\x90\x00"


def test_oversized_response_is_refused():
    chip, sleep, t1 = link(Chip(lambda a: pattern(300) + b"\x90\x00"), rsp_size=200)
    e = raises(Se050Error, t1.transceive, b"\x01")
    assert "302 bytes" in str(e)
    assert t1.stats["resyncs"] == 0
    chip.handler = echo
    assert bytes(t1.transceive(b"\x01")) == b"\x01\x90\x00"     # still in step


def test_ifsd_can_be_lowered():
    chip, sleep, t1 = link(Chip(lambda a: pattern(100) + b"\x90\x00"))
    t1.set_ifsd(32)
    assert bytes(t1.transceive(b"\x01")) == pattern(100) + b"\x90\x00"
    assert chip.ifsd == 32 and len([b for b in chip.blocks if b[1] & 0xC0 == 0x80]) == 3


# -- APDUs ---------------------------------------------------------------------------

class Recorder:
    def __init__(self, rsp=b"\x90\x00"):
        self.rsp = rsp

    def __call__(self, apdu):
        return self.rsp


def se_with(rsp=b"\x90\x00"):
    chip = Chip(Recorder(rsp))
    return chip, se050.Se050(chip, Sleeper())


def test_tlv_find_and_lengths():
    b = b"\x41\x02\xaa\xbb\x42\x81\x80" + bytes(128) + b"\x43\x82\x01\x00" + bytes(256)
    assert se050.tlv_find(b, len(b), 0x41) == (2, 2)
    assert se050.tlv_find(b, len(b), 0x42) == (7, 128)
    assert se050.tlv_find(b, len(b), 0x43) == (139, 256)
    raises(Se050Error, se050.tlv_find, b, len(b), 0x44)
    raises(Se050Error, se050.tlv_find, b"\x41\x05\x00", 3, 0x41)
    raises(Se050Error, se050.tlv_find, b"\x41\x83\x00\x00\x00", 5, 0x41)


def test_policy_entry():
    p = se050.policy(se050.ALLOW_SIGN | se050.ALLOW_READ)
    assert p == b"\x08\x00\x00\x00\x00\x10\x20\x00\x00"
    assert se050.policy(se050.ALLOW_KA, 0x7FFF0201)[1:5] == b"\x7f\xff\x02\x01"


def test_select_apdu_and_version():
    chip, se = se_with(b"\x03\x01\x00\x2f\xff\x00\x00\x90\x00")
    assert se.select() == (3, 1, 0) and se.applet_config == 0x2FFF
    assert chip.apdus[0] == b"\x00\xa4\x04\x00\x10" + se050.AID + b"\x00"


def test_sign_apdu_is_short_case_4():
    chip, se = se_with(b"\x41\x03\x30\x01\x00\x90\x00")
    der = se.sign_sha512(0x7FFF0001, bytes(range(64)))
    assert der == b"\x30\x01\x00"
    a = chip.apdus[0]
    assert a[:5] == b"\x80\x03\x0c\x09\x4b"        # Lc 75
    assert a[5:11] == b"\x41\x04\x7f\xff\x00\x01"
    assert a[11:14] == b"\x42\x01\x26"             # ECDSA SHA-512
    assert a[14:16] == b"\x43\x40" and a[16:80] == bytes(range(64))
    assert a[80:] == b"\x00" and len(a) == 81      # Le 00


def test_long_payload_is_extended():
    chip, se = se_with(b"\x41\x01\x01\x90\x00")
    se.verify(1, se050.ECDSA_SHA512, bytes(64), bytes(250))
    a = chip.apdus[0]
    lc = 6 + 3 + 66 + 3 + 250
    assert a[4] == 0 and (a[5] << 8 | a[6]) == lc and len(a) == 7 + lc + 2
    assert a[-2:] == b"\x00\x00"


def test_read_object_uses_an_extended_le():
    chip, se = se_with(b"\x41\x03\x04\x01\x02\x90\x00")
    assert se.read_object(0x10) == b"\x04\x01\x02"
    assert chip.apdus[0] == b"\x80\x02\x00\x00\x00\x00\x06\x41\x04\x00\x00\x00\x10\x00\x00"


def test_status_word_is_in_the_error():
    chip, se = se_with(b"\x69\x85")
    e = raises(Se050Error, se.read_object, 0x10)
    assert e.sw == 0x6985 and "6985" in str(e)


def test_missing_tlv_in_a_response():
    chip, se = se_with(b"\x42\x01\x00\x90\x00")
    raises(Se050Error, se.random, 4)


def test_digest_length_checked():
    chip, se = se_with()
    raises(ValueError, se.sign_sha512, 1, bytes(32))
    raises(ValueError, se.verify_sha512, 1, bytes(63), b"")


def test_payload_limit():
    chip, se = se_with()
    raises(ValueError, se.ecdh, 1, bytes(900))


def test_random_in_chunks():
    calls = []

    def rnd(apdu):
        n = apdu[7] << 8 | apdu[8]
        calls.append(n)
        return b"\x41\x81" + bytes((n,)) + pattern(n, len(calls)) + b"\x90\x00"
    chip = Chip(rnd)
    se = se050.Se050(chip, Sleeper())
    r = se.random(300)
    assert len(r) == 300 and calls == [253, 47]


def test_write_private_key_wipes_the_buffers():
    chip, se = se_with()
    scalar = b"\x5a" * 66
    se.write_private_key(0x20, se050.NIST_P521, scalar, b"\x04" + bytes(132))
    assert scalar in chip.apdus[0]
    assert scalar not in bytes(se._cmd) and b"\x5a\x5a\x5a\x5a" not in bytes(se.t1._tx)
