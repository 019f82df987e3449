"""QCA7000/QCA7005 frame format ("Atheros framing") for SPI and UART.

A framed packet is SOF (AA AA AA AA) + length (2, little-endian) + 00 00 +
the Ethernet frame (no FCS, zero-padded to 60) + EOF (55 55).  Frames the
chip delivers over SPI are preceded by a 4-byte big-endian hardware length
whose first two bytes are zero and whose value is the frame length + 10;
over UART they are not.

`RxDecoder` keeps a window of undecided bytes instead of the byte-wise state
machine of the Linux driver: when a candidate frame turns out to be bad, the
search restarts one byte after the candidate's start, so a corrupted length
field cannot swallow the good frames behind it.
"""
from ..compat import const

SOF = b"\xaa\xaa\xaa\xaa"
EOF = b"\x55\x55"
MIN_LEN = const(60)          # Ethernet frame without FCS
MAX_LEN = const(1518)        # 1500 + 14 header + 4 VLAN tag
HEADER_LEN = const(8)        # SOF + length + reserved
FOOTER_LEN = const(2)
OVERHEAD = const(10)         # HEADER_LEN + FOOTER_LEN
HW_LEN = const(4)            # SPI receive only

# Keys of RxDecoder.errors
BAD_HW_LEN = "hw_len"        # HW length: first two bytes not zero, or value != len + 10
NO_HEAD = "no_head"          # AA AA AA AA missing where a frame should start
BAD_LEN = "bad_len"          # length below 60 or above max_len
NO_TAIL = "no_tail"          # 55 55 missing after the frame


# bytearray.find is missing from some small MicroPython builds.
_HAS_FIND = hasattr(bytearray(1), "find")


def _find_sof(buf, start, end):
    if _HAS_FIND:
        return buf.find(SOF, start, end)
    i = start
    end -= 3
    while i < end:
        if buf[i] == 0xAA and buf[i + 1] == 0xAA and buf[i + 2] == 0xAA and buf[i + 3] == 0xAA:
            return i
        i += 1
    return -1


def framed_len(n):
    """Bytes on the wire for an Ethernet frame of n bytes (header + padded frame + footer)."""
    return (n if n > MIN_LEN else MIN_LEN) + OVERHEAD


def encode_into(buf, pos, frame):
    """Frame `frame` into `buf` at `pos` (no allocation); returns the framed length."""
    n = len(frame)
    padded = n if n > MIN_LEN else MIN_LEN
    buf[pos:pos + 4] = SOF
    buf[pos + 4] = padded & 0xFF
    buf[pos + 5] = padded >> 8
    buf[pos + 6] = 0
    buf[pos + 7] = 0
    p = pos + HEADER_LEN
    buf[p:p + n] = frame
    for i in range(p + n, p + padded):
        buf[i] = 0
    p += padded
    buf[p] = 0x55
    buf[p + 1] = 0x55
    return padded + OVERHEAD


def encode(frame):
    """The framed bytes (without HW length) for an Ethernet frame."""
    buf = bytearray(framed_len(len(frame)))
    encode_into(buf, 0, frame)
    return bytes(buf)


def encode_spi_rx(frame):
    """What the chip sends the host over SPI: HW length + framed bytes (used by chip models)."""
    body = encode(frame)
    n = len(body)
    return bytes((0, 0, n >> 8, n & 0xFF)) + body


class RxDecoder:
    """Split a received byte stream into Ethernet frames.

    `feed(data)` returns the list of frames (bytes) completed by `data`; bytes
    of an unfinished frame are kept for the next call.  Bad input is counted
    in `.errors` (one count per loss of sync, not per skipped byte) and
    skipped; `feed` never raises on any input.
    """

    def __init__(self, spi=True, max_len=MAX_LEN):
        self.spi = spi
        self.max_len = max_len
        self.pre = HW_LEN if spi else 0     # bytes before the SOF
        # Longest undecided candidate: HW length + header + frame + footer.
        self._need_max = self.pre + HEADER_LEN + max_len + FOOTER_LEN
        self._buf = bytearray(2 * self._need_max)
        self._mv = memoryview(self._buf)
        self.errors = {BAD_HW_LEN: 0, NO_HEAD: 0, BAD_LEN: 0, NO_TAIL: 0}
        self.frames = 0
        self.skipped = 0        # bytes thrown away while hunting for a frame
        self.reset()

    def reset(self):
        """Forget buffered bytes (after a chip reset) and expect a frame start."""
        self._n = 0
        self._synced = True

    def pending(self):
        return self._n

    def error_count(self):
        e = self.errors
        return e[BAD_HW_LEN] + e[NO_HEAD] + e[BAD_LEN] + e[NO_TAIL]

    def feed(self, data):
        out = []
        src = memoryview(data)
        total = len(src)
        i = 0
        buf = self._buf
        cap = len(buf)
        while i < total:
            k = cap - self._n
            if k > total - i:
                k = total - i
            self._mv[self._n:self._n + k] = src[i:i + k]
            self._n += k
            i += k
            self._parse(out)
        return out

    def _check(self, p):
        """Judge the candidate frame starting at p: frame length if good, 0 if more bytes are
        needed, or the error key."""
        buf = self._buf
        n = self._n
        pre = self.pre
        if n - p < pre + HEADER_LEN:
            # Reject early what can already be judged, so hunting stays cheap.
            if pre and n - p >= 2 and (buf[p] or buf[p + 1]):
                return BAD_HW_LEN
            s = p + pre
            e = n if n < s + 4 else s + 4
            while s < e:
                if buf[s] != 0xAA:
                    return NO_HEAD
                s += 1
            return 0
        if pre and (buf[p] or buf[p + 1]):
            return BAD_HW_LEN
        s = p + pre
        if buf[s] != 0xAA or buf[s + 1] != 0xAA or buf[s + 2] != 0xAA or buf[s + 3] != 0xAA:
            return NO_HEAD
        length = buf[s + 4] | (buf[s + 5] << 8)
        if length < MIN_LEN or length > self.max_len:
            return BAD_LEN
        if pre and ((buf[p + 2] << 8) | buf[p + 3]) != length + OVERHEAD:
            return BAD_HW_LEN
        e = s + HEADER_LEN + length
        if n < e + FOOTER_LEN:
            return 0
        if buf[e] != 0x55 or buf[e + 1] != 0x55:
            return NO_TAIL
        return length

    def _parse(self, out):
        buf = self._buf
        p = 0
        pre = self.pre
        while True:
            n = self._n
            if not self._synced:
                # Hunt: the next SOF, with room for the HW length before it.
                j = _find_sof(buf, p + pre, n) if n - p >= pre + 4 else -1
                if j < 0:
                    # Keep the tail that could still begin a frame.
                    keep = n - (pre + 3)
                    if keep > p:
                        self.skipped += keep - p
                        p = keep
                    break
                self.skipped += j - pre - p
                p = j - pre
            r = self._check(p)
            if r == 0:
                break
            if isinstance(r, int):
                s = p + pre + HEADER_LEN
                out.append(bytes(self._mv[s:s + r]))
                self.frames += 1
                p = s + r + FOOTER_LEN
                self._synced = True
                continue
            if self._synced:
                self.errors[r] += 1
                self._synced = False
            self.skipped += 1
            p += 1
        # Move what is undecided to the front (overlapping forward copy).
        rest = self._n - p
        if p and rest:
            self._mv[0:rest] = self._mv[p:self._n]
        self._n = rest


def may_send(stats, ready, n):
    """Whether a modem may take an Ethernet frame of n bytes now; when not,
    counts why in stats ("tx_not_ready", "tx_too_long")."""
    if not ready:
        stats["tx_not_ready"] += 1
        return False
    if n > MAX_LEN:
        stats["tx_too_long"] += 1
        return False
    return True


def modem_outputs(modem, stat_keys):
    """The outputs the link Runner reads of any modem driver: received
    frames, events, and counters (all stat_keys at 0)."""
    modem.rx = []
    modem.events = []
    modem.stats = {}
    for k in stat_keys:
        modem.stats[k] = 0
