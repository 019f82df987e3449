"""Bit-packed EXI streams: read and write n-bit values, unsigned integers and bytes.

EXI bit-packed alignment writes every value MSB first with no padding between
values; only the end of the stream is padded with zero bits to a whole byte.
"""
from exi.error import ExiError

# Unsigned integers are at most 10 groups of 7 bits (xs:unsignedLong); longer
# encodings are rejected instead of building arbitrarily large numbers.
MAX_UINT_GROUPS = 10


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
        chunk = self.data[i:i + n]
        self.i = i + n
        nb = self.nb
        if nb == 0:
            return bytes(chunk)
        v = (self.acc << (n << 3)) | int.from_bytes(chunk, "big")
        self.acc = v & ((1 << nb) - 1)
        return (v >> nb).to_bytes(n, "big")

    def mark(self):
        return self.i, self.acc, self.nb

    def reset(self, mark):
        self.i, self.acc, self.nb = mark


class BitWriter:
    def __init__(self):
        self.buf = bytearray()
        self.acc = 0
        self.nb = 0

    def bits(self, v, n):
        acc = (self.acc << n) | v
        nb = self.nb + n
        buf = self.buf
        while nb >= 8:
            nb -= 8
            buf.append((acc >> nb) & 0xFF)
        self.nb = nb
        self.acc = acc & ((1 << nb) - 1)

    def uint(self, v):
        while v >= 0x80:
            self.bits((v & 0x7F) | 0x80, 8)
            v >>= 7
        self.bits(v, 8)

    def write_bytes(self, b):
        nb = self.nb
        if nb == 0:
            self.buf.extend(b)
            return
        n = len(b)
        v = (self.acc << (n << 3)) | int.from_bytes(b, "big")
        self.buf.extend((v >> nb).to_bytes(n, "big"))
        self.acc = v & ((1 << nb) - 1)

    def getvalue(self):
        if self.nb:
            return bytes(self.buf) + bytes(((self.acc << (8 - self.nb)) & 0xFF,))
        return bytes(self.buf)
