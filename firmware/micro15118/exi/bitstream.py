"""Bit-packed EXI streams: read and write n-bit values, unsigned integers and bytes.

EXI bit-packed alignment writes every value MSB first with no padding between
values; only the end of the stream is padded with zero bits to a whole byte.
"""
from .error import ExiError

# Unsigned integers are at most 24 groups of 7 bits (168 bits: xs:unsignedLong
# needs 10; xs:integer is unbounded in EXI, and the largest one -20 carries is
# an X509SerialNumber, up to 20 octets = 160 bits by RFC 5280 4.1.2.2); longer
# encodings are rejected instead of building arbitrarily large numbers.
MAX_UINT_GROUPS = 24
# Unaligned byte strings are shifted this many bytes at a time.
CHUNK = 32


class BitReader:
    def __init__(self, data):
        self.data = data
        self.i = 0          # next byte to load
        self.end = len(data)
        self.acc = 0        # loaded bits not yet consumed
        self.nb = 0         # how many bits acc holds

    @property
    def pos(self):
        return (self.i << 3) - self.nb

    def remaining(self):
        return ((self.end - self.i) << 3) + self.nb

    def bits(self, n):
        acc = self.acc
        nb = self.nb
        while nb < n:
            i = self.i
            if i >= self.end:
                raise ExiError("unexpected end of stream", self.pos)
            acc = (acc << 8) | self.data[i]
            self.i = i + 1
            nb += 8
        nb -= n
        self.nb = nb
        self.acc = acc & ((1 << nb) - 1)
        return acc >> nb

    def uint(self):
        v = 0
        shift = 0
        while True:
            b = self.bits(8)
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v
            shift += 7
            if shift >= 7 * MAX_UINT_GROUPS:
                raise ExiError("unsigned integer too long", self.pos)

    def read_bytes(self, n):
        if n << 3 > self.remaining():
            raise ExiError("length %d runs past the end of the stream" % n, self.pos)
        i = self.i
        self.i = i + n
        nb = self.nb
        if nb == 0:
            return bytes(self.data[i:i + n])
        # Unaligned: shift CHUNK bytes at a time, so that no temporary grows
        # with n (a 1600-byte certificate must fit a fragmented 64 KiB heap).
        out = bytearray(n)
        acc = self.acc
        mask = (1 << nb) - 1
        data = self.data
        for k in range(0, n, CHUNK):
            m = min(CHUNK, n - k)
            v = (acc << (m << 3)) | int.from_bytes(data[i + k:i + k + m], "big")
            out[k:k + m] = (v >> nb).to_bytes(m, "big")
            acc = v & mask
        self.acc = acc
        return bytes(out)

    def mark(self):
        return self.i, self.acc, self.nb

    def reset(self, mark):
        self.i, self.acc, self.nb = mark


class BitWriter:
    """Writes into `buf` (a preallocated bytearray, so that encoding does not
    grow and fragment the heap) or into a fresh growing bytearray."""

    def __init__(self, buf=None):
        self.fixed = buf is not None
        self.buf = buf if buf is not None else bytearray(64)
        self.n = 0          # bytes written
        self.acc = 0
        self.nb = 0

    def _room(self, m):
        if self.n + m > len(self.buf):
            if self.fixed:
                raise ExiError("message does not fit the %d-byte buffer" % len(self.buf))
            self.buf.extend(bytes(max(m, len(self.buf))))

    def bits(self, v, n):
        acc = (self.acc << n) | v
        nb = self.nb + n
        if nb >= 8:
            self._room((nb >> 3) + 1)
            buf = self.buf
            i = self.n
            while nb >= 8:
                nb -= 8
                buf[i] = (acc >> nb) & 0xFF
                i += 1
            self.n = i
        self.nb = nb
        self.acc = acc & ((1 << nb) - 1)

    def uint(self, v):
        while v >= 0x80:
            self.bits((v & 0x7F) | 0x80, 8)
            v >>= 7
        self.bits(v, 8)

    def write_bytes(self, b):
        m = len(b)
        self._room(m + 1)
        buf = self.buf
        i = self.n
        nb = self.nb
        if nb == 0:
            buf[i:i + m] = b
            self.n = i + m
            return
        acc = self.acc
        mask = (1 << nb) - 1
        for k in range(0, m, CHUNK):
            chunk = b[k:k + CHUNK]
            c = len(chunk)
            v = (acc << (c << 3)) | int.from_bytes(chunk, "big")
            buf[i:i + c] = (v >> nb).to_bytes(c, "big")
            i += c
            acc = v & mask
        self.n = i
        self.acc = acc

    def flush(self):
        """Pad the last byte with zero bits; returns the length in bytes."""
        if self.nb:
            self._room(1)
            self.buf[self.n] = (self.acc << (8 - self.nb)) & 0xFF
            self.n += 1
            self.acc = self.nb = 0
        return self.n

    def getvalue(self):
        n = self.flush()
        return bytes(self.buf[:n])
