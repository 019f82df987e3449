"""Frames of the MCU-host link: COBS with 0x00 delimiters, a 6-byte header
and a CRC-32.

On the wire a frame is

    00 | COBS(version, type, seq, length, payload, crc32) | 00

decoded:  version  u8   frame format / protocol major (VERSION)
          type     u8   message type (msg.py)
          seq      u16  BE, the sender's frame counter (wraps)
          length   u16  BE, payload bytes (at most max_payload)
          payload  length bytes
          crc32    u32  BE, CRC-32 (IEEE 802.3, as zlib/binascii) of
                        everything before it

Why COBS: the delimiter is the only 0x00 on the wire, so a frame boundary is
found without trusting any field of a frame.  After garbage, a lost byte, a
bit error or a cut-off frame the decoder loses at most the frame the damage
sits in and is back in sync at the next 0x00; a corrupted length field
cannot make it swallow good frames behind it (with SOF + length it can,
unless each candidate is re-searched byte by byte).  The cost is one byte in
254 plus the delimiters, and no byte of a payload needs escaping by hand.
The sender puts a 0x00 before each frame as well as after it: whatever
garbage came before (line noise at power-up, a half frame of a restarted
peer, a boot message on a shared UART) is closed off and cannot merge with
the frame.  Empty frames (00 00) are idle fill and not counted.

Why CRC-32: payloads run to 2 KiB, where CRC-16 no longer has Hamming
distance 4; binascii.crc32 is in MicroPython's binascii on the MCU ports
(rp2, esp32) and in CPython; a port without it uses crc32_soft (table
driven, in 16-bit halves so it allocates no long integers on a 32-bit
build).

Size: max_payload (default MAX_PAYLOAD = 2048) bounds a frame.  TLS records
are *not* carried whole: TLS_RECORD and APP_DATA carry a chunk of a byte
stream (as TCP delivered it), so a 16 KiB TLS record is simply several
frames, the receiver's TLS engine reassembles records, and no buffer of the
link is larger than one frame.  The decoder's receive buffer holds one
encoded frame (enc_len(max_payload) + 1 bytes) and it decodes into a second
one; both are taken once.

FrameDecoder.feed(data) -> [(type, seq, payload bytes), ...] never raises on
any input.  Each damaged frame is counted once in .errors under one key:

    "crc"        CRC mismatch (bit errors, garbage between delimiters)
    "truncated"  bytes missing: shorter than header + CRC, a COBS block
                 running past the delimiter, or a CRC mismatch in a frame
                 whose length field asks for more bytes than arrived
    "too_long"   more than max_payload (no delimiter in time, or a length
                 field above max_payload in a frame with a good CRC)
    "version"    good CRC, unknown version byte (a peer of another protocol
                 major: its frames are skipped, and counted)
    "length"     good CRC, length field disagrees with the frame (a sender bug)
"""
import struct

from ..compat import const

VERSION = const(1)
HEADER_LEN = const(6)
CRC_LEN = const(4)
OVERHEAD = const(10)            # HEADER_LEN + CRC_LEN
MAX_PAYLOAD = const(2048)
MIN_PAYLOAD = const(256)        # the least a Link takes, and a peer may announce in HELLO:
                                # room for any request (an Ed448 SIGN_REQUEST is ~160 bytes)
DELIM = const(0)

CRC = "crc"
TRUNCATED = "truncated"
TOO_LONG = "too_long"
BAD_VERSION = "version"
BAD_LENGTH = "length"
ERROR_KEYS = (CRC, TRUNCATED, TOO_LONG, BAD_VERSION, BAD_LENGTH)

_Z = b"\x00"


def enc_len(n):
    """Most bytes COBS makes of n bytes (without delimiters)."""
    return n + n // 254 + 1


def frame_len(payload_len):
    """Bytes on the wire for a payload: both delimiters, COBS, header, CRC."""
    return enc_len(payload_len + OVERHEAD) + 2


# -- CRC-32 ---------------------------------------------------------------------

_TLO = None
_THI = None


def _tables():
    global _TLO, _THI
    from array import array
    lo = array("H", bytes(512))
    hi = array("H", bytes(512))
    for n in range(256):
        lw = n
        hw = 0
        for _ in range(8):
            carry = lw & 1
            lw = (lw >> 1) | ((hw & 1) << 15)
            hw >>= 1
            if carry:
                lw ^= 0x8320
                hw ^= 0xEDB8
        lo[n] = lw
        hi[n] = hw
    _TLO = lo
    _THI = hi


def crc32_soft(data, crc=0):
    """binascii.crc32 without binascii: same value, any buffer."""
    if _TLO is None:
        _tables()
    tlo = _TLO
    thi = _THI
    lw = (crc & 0xFFFF) ^ 0xFFFF
    hw = ((crc >> 16) & 0xFFFF) ^ 0xFFFF
    for b in data:
        i = (lw ^ b) & 0xFF
        lw = ((lw >> 8) | ((hw & 0xFF) << 8)) ^ tlo[i]
        hw = (hw >> 8) ^ thi[i]
    return ((hw ^ 0xFFFF) << 16) | (lw ^ 0xFFFF)


try:
    from binascii import crc32
except ImportError:  # a MicroPython build without binascii.crc32
    crc32 = crc32_soft


# bytearray.find is missing from some small MicroPython builds.
_HAS_FIND = hasattr(bytearray(1), "find")


def _find_zero(buf, start, end):
    if _HAS_FIND:
        return buf.find(_Z, start, end)
    while start < end:
        if buf[start] == 0:
            return start
        start += 1
    return -1


# -- encoder --------------------------------------------------------------------

def cobs_encode_into(src, n, out, o):
    """COBS of src[0:n] (a bytearray) into out at o; returns the end.  out
    needs room for enc_len(n).  Canonical COBS (no code byte after a full
    block at the end); the decoder also takes the form with one."""
    smv = memoryview(src)
    omv = memoryview(out)
    i = 0
    while True:
        z = _find_zero(src, i, n)
        end = n if z < 0 else z
        run = end - i
        full = run >= 254
        while run >= 254:
            out[o] = 0xFF
            omv[o + 1:o + 255] = smv[i:i + 254]
            o += 255
            i += 254
            run -= 254
        if z < 0 and full and not run:
            return o            # the last block was full: no code byte for nothing
        out[o] = run + 1
        omv[o + 1:o + 1 + run] = smv[i:i + run]
        o += run + 1
        if z < 0:
            return o
        i = z + 1


class FrameEncoder:
    """Frames into buffers taken once: encode() returns a memoryview of its
    own buffer, valid until the next call (copy it with bytes() to keep it)."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self._raw = bytearray(max_payload + OVERHEAD)
        self._out = bytearray(frame_len(max_payload))
        self._omv = memoryview(self._out)

    def encode(self, mtype, seq, payload, version=VERSION):
        n = len(payload)
        if n > self.max_payload:
            raise ValueError("payload too long")
        raw = self._raw
        struct.pack_into(">BBHH", raw, 0, version, mtype, seq & 0xFFFF, n)
        rmv = memoryview(raw)
        rmv[HEADER_LEN:HEADER_LEN + n] = payload
        m = HEADER_LEN + n
        struct.pack_into(">I", raw, m, crc32(rmv[:m]) & 0xFFFFFFFF)
        out = self._out
        out[0] = 0
        o = cobs_encode_into(raw, m + CRC_LEN, out, 1)
        out[o] = 0
        return self._omv[:o + 1]


_encoder = None


def encode(mtype, seq, payload, version=VERSION):
    """The wire bytes of one frame (a fresh bytes object); for hosts and tests."""
    global _encoder
    if _encoder is None or _encoder.max_payload < len(payload):
        _encoder = FrameEncoder(len(payload) if len(payload) > MAX_PAYLOAD else MAX_PAYLOAD)
    return bytes(_encoder.encode(mtype, seq, payload, version))


# -- decoder --------------------------------------------------------------------

class FrameDecoder:
    """Splits a received byte stream (any chunks: bytes, bytearray,
    memoryview) into frames.  feed(data) returns the list of
    (type, seq, payload) the data completed; a partial frame waits for the
    next call.  Never raises; damage is counted in .errors (module doc)."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self._enc_max = enc_len(max_payload + OVERHEAD)
        self._rx = bytearray(self._enc_max + 1)     # one byte more: "too long" is then certain
        self._rxmv = memoryview(self._rx)
        self._dec = bytearray(self._enc_max)
        self._decmv = memoryview(self._dec)
        self.errors = {}
        for k in ERROR_KEYS:
            self.errors[k] = 0
        self.frames = 0
        self.skipped = 0        # bytes thrown away in damaged frames
        self.reset()

    def reset(self):
        """Forget a partial frame (after the port was reopened, say)."""
        self._n = 0
        self._discard = False

    def pending(self):
        """Bytes held of a frame not yet closed by a delimiter."""
        return self._n

    def error_count(self):
        e = self.errors
        return e[CRC] + e[TRUNCATED] + e[TOO_LONG] + e[BAD_VERSION] + e[BAD_LENGTH]

    def feed(self, data):
        out = []
        try:
            src = memoryview(data)
        except TypeError:
            return out
        total = len(src)
        i = 0
        rx = self._rx
        cap = len(rx)
        while i < total:
            n = self._n
            k = cap - n
            if k > total - i:
                k = total - i
            self._rxmv[n:n + k] = src[i:i + k]
            i += k
            scan = n
            n += k
            start = 0
            while True:
                z = _find_zero(rx, scan, n)
                if z < 0:
                    break
                if self._discard:
                    self._discard = False
                    self.skipped += z - start
                elif z > start:
                    self._frame(start, z, out)
                start = scan = z + 1
            if self._discard:
                self.skipped += n - start
                n = 0
            else:
                rest = n - start
                if rest >= cap:
                    # a full buffer and no delimiter: longer than any frame
                    self.errors[TOO_LONG] += 1
                    self.skipped += rest
                    self._discard = True
                    n = 0
                else:
                    if start and rest:
                        self._rxmv[0:rest] = self._rxmv[start:n]    # overlapping forward copy
                    n = rest
            self._n = n
        return out

    def _bad(self, key, n):
        self.errors[key] += 1
        self.skipped += n

    def _frame(self, start, end, out):
        """Judge the encoded frame rx[start:end] (no delimiters)."""
        rx = self._rx
        rxmv = self._rxmv
        dec = self._dec
        dmv = self._decmv
        n = end - start
        i = start
        o = 0
        while i < end:
            c = rx[i]
            j = i + c
            if j > end:
                self._bad(TRUNCATED, n)
                return
            dmv[o:o + c - 1] = rxmv[i + 1:j]
            o += c - 1
            i = j
            if c != 0xFF and i < end:
                dec[o] = 0
                o += 1
        if o < OVERHEAD:
            self._bad(TRUNCATED, n)
            return
        m = o - CRC_LEN
        (want,) = struct.unpack_from(">I", dec, m)
        length = (dec[4] << 8) | dec[5]
        if crc32(dmv[:m]) & 0xFFFFFFFF != want:
            if dec[0] == VERSION and length > m - HEADER_LEN and length <= self.max_payload:
                self._bad(TRUNCATED, n)
            else:
                self._bad(CRC, n)
            return
        if dec[0] != VERSION:
            self._bad(BAD_VERSION, n)
            return
        if length > self.max_payload:
            self._bad(TOO_LONG, n)
            return
        if length != m - HEADER_LEN:
            self._bad(BAD_LENGTH, n)
            return
        self.frames += 1
        out.append((dec[1], (dec[2] << 8) | dec[3], bytes(dmv[HEADER_LEN:m])))
