"""T=1 over I2C for the NXP SE050 (NXP UM11225 variant: 1-byte LEN).

    t1 = T1(i2c, sleep_ms)            # i2c: machine.I2C (readfrom_into, writeto)
    atr = t1.soft_reset()             # S(SWR): interface soft reset, returns the ATR
    rsp = t1.transceive(apdu)         # memoryview: response data + SW1 SW2

A block is NAD PCB LEN INF(0..254) CRC(2).  NAD is 0x5A host->SE and 0xA5
SE->host; the CRC is CRC-16/X.25 (reflected 0x8408, init and xorout 0xFFFF)
over NAD..INF, sent least significant byte first.  PCB:
  I-block  0 N(S) M 00000    (N(S) 0x40 send sequence, M 0x20 more data)
  R-block  100 N(R) 00 ee    (ee: 0 ack, 1 CRC error, 2 other error)
  S-block  11 r ttttt        (r 0x20 response; t RESYNCH 0, IFS 1, ABORT 2,
                              WTX 3, end of APDU session 5, chip reset 6,
                              GET ATR 7, interface soft reset 0x0F)

The SE NACKs its address while it is busy; the driver polls every `poll_ms`
(MPOT from the ATR, 1 ms by default) for up to the block waiting time (BWT
from the ATR, 1000 ms by default, believed up to `max_bwt_ms`; a WTX
request multiplies it for the next block).  A block is read as a 3-byte
header, then INF and CRC.

Error recovery (ISO 7816-3 §11.6.3): a bad block (CRC, NAD, LEN, PCB, wrong
sequence number, no answer within the BWT) is answered with an R-block
asking for a repeat; an R-block from the SE whose N(R) is the N(S) of our
last I-block makes the driver send its last block again; one with the
other N(R) (the SE has our I-block) is answered by asking for the SE's
block (or, while we chain, is the acknowledgement that lets us send the
next part).  After `retries` failures in a row the driver
resynchronises (S(RESYNCH), falling back to an interface soft reset) and
sends the whole APDU again once if the caller allows it (`redo`), else
raises.  Every failure the driver gives up on is a T1Error (a Se050Error);
bus exceptions (OSError, a NACK) never escape.  The time spent is bounded by
the retry counts, the BWT and `max_wtx` WTX requests per exchange.

Timing goes through the injected `sleep_ms`, the bus through the injected
`bus` (machine.I2C on a board, the software model in tests): no platform
call here.  Buffers are taken once: a frame each way and the response.
"""
from ..compat import const

NAD_HOST = const(0x5A)
NAD_SE = const(0xA5)
ADDR = const(0x48)

I_SEQ = const(0x40)
I_MORE = const(0x20)
R_BLOCK = const(0x80)
R_SEQ = const(0x10)
S_BLOCK = const(0xC0)
S_RESP = const(0x20)

S_RESYNCH = const(0x00)
S_IFS = const(0x01)
S_ABORT = const(0x02)
S_WTX = const(0x03)
S_END_SESSION = const(0x05)
S_CHIP_RESET = const(0x06)
S_GET_ATR = const(0x07)
S_SOFT_RESET = const(0x0F)

ERR_NONE = const(0)
ERR_CRC = const(1)
ERR_OTHER = const(2)

IFS_MAX = const(254)          # 1-byte LEN (UM11225): 254 is the largest INF
HDR = const(3)
FRAME_MAX = const(259)        # 3 + 254 + 2
RSP_MAX = const(65538)        # the longest response APDU: 65536 bytes + SW

# CRC-16/X.25 by nibbles: T[i] is nibble i run through 4 rounds of the
# reflected polynomial 0x8408.
_CRC_T = (0x0000, 0x1081, 0x2102, 0x3183, 0x4204, 0x5285, 0x6306, 0x7387,
          0x8408, 0x9489, 0xA50A, 0xB58B, 0xC60C, 0xD68D, 0xE70E, 0xF78F)

STAT_KEYS = ("blocks_tx", "blocks_rx", "bad_blocks", "retransmits", "requests", "wtx", "nacks",
             "resyncs", "soft_resets", "redos", "failures")


class Se050Error(Exception):
    """The SE050 refused (sw = the status word) or could not be talked to
    (sw = None).  `str(e)` says which."""

    def __init__(self, msg, sw=None):
        super().__init__(msg)
        self.sw = sw


class T1Error(Se050Error):
    """The T=1 link failed: no answer, or a protocol the driver gave up on."""


class _Broken(Exception):
    # internal: this exchange cannot go on (sequence lost); resync decides
    pass


class _TooLong(Exception):
    # internal: a whole response, longer than the buffer (the link is in step)
    pass


def crc16(buf, n, start=0):
    """CRC-16/X.25 of buf[start:start+n]."""
    t = _CRC_T
    crc = 0xFFFF
    for i in range(start, start + n):
        b = buf[i]
        crc = (crc >> 4) ^ t[(crc ^ b) & 15]
        crc = (crc >> 4) ^ t[(crc ^ (b >> 4)) & 15]
    return crc ^ 0xFFFF


def frame(buf, nad, pcb, inf=None, n=0):
    """Builds NAD PCB LEN INF CRC into buf; returns its length.  `inf`
    (n bytes) may already sit at buf[3:] (pass inf=None)."""
    buf[0] = nad
    buf[1] = pcb
    buf[2] = n
    if inf is not None and n:
        buf[HDR:HDR + n] = inf[0:n]
    c = crc16(buf, HDR + n)
    buf[HDR + n] = c & 0xFF
    buf[HDR + n + 1] = c >> 8
    return HDR + n + 2


def check(buf, n):
    """True if buf[0:n] is a whole block with a good CRC and LEN."""
    if n < 5 or buf[2] != n - 5:
        return False
    c = crc16(buf, n - 2)
    return buf[n - 2] == (c & 0xFF) and buf[n - 1] == (c >> 8)


def parse_atr(atr):
    """(bwt_ms, ifsc, mpot_ms) from an SE050 ATR, or None if it does not
    parse: pver(1) vid(5) dllp_len(1) [bwt(2) ifsc(2)...] plid(1)
    plp_len(1) [mcf(2) config(1) mpot(1) rfu(3) segt(2) wut(2)...] hb_len(1) hb."""
    n = len(atr)
    if n < 7:
        return None
    dl = atr[6]
    i = 7 + dl
    if dl < 4 or i + 2 > n:
        return None
    bwt = (atr[7] << 8) | atr[8]
    ifsc = (atr[9] << 8) | atr[10]
    pl = atr[i + 1]
    j = i + 2 + pl
    if pl < 4 or j + 1 > n or j + 1 + atr[j] > n:
        return None
    mpot = atr[i + 5]
    return bwt, ifsc, mpot


class T1:
    def __init__(self, bus, sleep_ms, addr=ADDR, poll_ms=1, bwt_ms=1000, retries=3,
                 max_wtx=500, rsp_size=1024 + 2, ifsd=IFS_MAX, max_bwt_ms=5000):
        self.bus = bus
        self.sleep_ms = sleep_ms
        self.addr = addr
        self.poll_ms = poll_ms if poll_ms > 0 else 1
        self.bwt_ms = bwt_ms
        self.retries = retries
        self.max_wtx = max_wtx
        self.max_bwt_ms = max_bwt_ms    # an ATR asking for more is not believed
        self.ifsc = IFS_MAX             # what the SE takes per block (from the ATR)
        self.ifsd = ifsd                # what we take per block (S(IFS) to change)
        self.atr = None
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self._tx = bytearray(FRAME_MAX)     # the last block sent (resent on request)
        self._txmv = memoryview(self._tx)
        self._txn = 0
        self._ctl = bytearray(8)            # R-blocks and S-blocks of our own
        self._ctlmv = memoryview(self._ctl)
        self._rx = bytearray(FRAME_MAX)
        self._rxmv = memoryview(self._rx)
        self._rsp = bytearray(rsp_size)
        self._rspmv = memoryview(self._rsp)
        self._ns = 0                    # N(S) of our next I-block
        self._nr = 0                    # N(S) we expect of the SE's next I-block
        self._dirty = False             # the last exchange broke: resync first
        self._wtx_left = max_wtx        # WTX requests still allowed in this exchange

    # -- bus ------------------------------------------------------------------

    def _write(self, mv, n):
        """Writes n bytes of mv; polls while the SE NACKs, up to the BWT."""
        waited = 0
        chunk = mv[0:n]
        while True:
            try:
                r = self.bus.writeto(self.addr, chunk)
                if r is None or r == n:       # machine.I2C: the number of ACKs
                    self.stats["blocks_tx"] += 1
                    return
            except OSError:
                pass
            self.stats["nacks"] += 1
            if waited >= self.bwt_ms:
                raise T1Error("SE050 at 0x%02x does not take a block (NACK for %d ms)"
                              % (self.addr, waited))
            self.sleep_ms(self.poll_ms)
            waited += self.poll_ms

    def _read(self, wait_ms):
        """Reads one block into _rx; its length, or -1 (no answer within
        wait_ms), -2 (CRC error), -3 (malformed)."""
        rx = self._rx
        hdr = self._rxmv[0:HDR]
        waited = 0
        while True:
            try:
                self.bus.readfrom_into(self.addr, hdr)
                break
            except OSError:
                self.stats["nacks"] += 1
            if waited >= wait_ms:
                return -1
            self.sleep_ms(self.poll_ms)
            waited += self.poll_ms
        n = rx[2]
        if rx[0] != NAD_SE or n > self.ifsd:
            return -3
        try:
            self.bus.readfrom_into(self.addr, self._rxmv[HDR:HDR + n + 2])
        except OSError:
            return -3
        if not check(rx, n + 5):
            return -2
        self.stats["blocks_rx"] += 1
        return n + 5

    def _send_ctl(self, pcb, inf=None, n=0):
        k = frame(self._ctl, NAD_HOST, pcb, inf, n)
        self._write(self._ctlmv, k)

    def _send_last(self):
        self._write(self._txmv, self._txn)

    # -- blocks -------------------------------------------------------------

    def _reply(self, chain_ack):
        """Sends the block in _tx and returns the PCB of a good answer: an
        I-block with the expected N(S), or an R-block acknowledging our
        chained I-block (chain_ack).  Repeats requests, answers WTX and IFS
        requests; raises _Broken after `retries` bad answers in a row."""
        self._send_last()
        wait = self.bwt_ms
        errors = 0
        rx = self._rx
        while True:
            n = self._read(wait)
            wait = self.bwt_ms
            err = ERR_OTHER
            if n > 0:
                pcb = rx[1]
                ln = rx[2]
                if pcb & 0x80 == 0:
                    if pcb & 0x1F == 0 and (pcb & I_SEQ != 0) == (self._nr != 0) \
                            and not chain_ack:
                        return pcb
                elif pcb & 0xC0 == R_BLOCK:
                    if pcb & 0x2C == 0 and ln == 0:
                        nr = 1 if pcb & R_SEQ else 0
                        if chain_ack and nr != self._ns:
                            return pcb          # it has our block and wants the next
                        errors += 1
                        if errors > self.retries:
                            raise _Broken()
                        if nr == self._ns:
                            # it wants our block N(S) (again): the last one we sent
                            self.stats["retransmits"] += 1
                            self._send_last()
                        else:
                            # it has our last I-block: ask for its block N(S) = N(R)
                            self.stats["requests"] += 1
                            self._send_ctl(R_BLOCK | (R_SEQ if self._nr else 0))
                        continue
                elif pcb == S_BLOCK | S_WTX and ln == 1:
                    self.stats["wtx"] += 1
                    self._wtx_left -= 1
                    if self._wtx_left < 0:
                        raise _Broken()
                    m = rx[HDR] or 1
                    self._send_ctl(S_BLOCK | S_RESP | S_WTX, self._rxmv[HDR:HDR + 1], 1)
                    wait = self.bwt_ms * m
                    continue
                elif pcb == S_BLOCK | S_IFS and ln == 1 and 0 < rx[HDR] < 0xFF:
                    errors += 1                 # rare: counted, so that a loop of them ends
                    if errors > self.retries:
                        raise _Broken()
                    self.ifsc = min(rx[HDR], IFS_MAX)
                    self._send_ctl(S_BLOCK | S_RESP | S_IFS, self._rxmv[HDR:HDR + 1], 1)
                    continue
            elif n == -2:
                err = ERR_CRC
            # bad or unexpected block, or none: ask for a repeat
            self.stats["bad_blocks"] += 1
            errors += 1
            if errors > self.retries:
                raise _Broken()
            self._send_ctl(R_BLOCK | (R_SEQ if self._nr else 0) | err)

    def _s_request(self, t, inf=None, n=0):
        """S(t request) -> INF length of the S(t response) in _rx[3:];
        raises T1Error after `retries` + 1 attempts."""
        for _ in range(self.retries + 1):
            self._send_ctl(S_BLOCK | t, inf, n)
            k = self._read(self.bwt_ms)
            if k > 0 and self._rx[1] == S_BLOCK | S_RESP | t:
                return k - 5
            self.stats["bad_blocks"] += 1
        raise T1Error("SE050 does not answer S-block 0x%02x" % (S_BLOCK | t))

    # -- public -------------------------------------------------------------

    def soft_reset(self):
        """Interface soft reset; returns the ATR (bytes) and takes BWT (at
        most max_bwt_ms), IFSC and MPOT from it (defaults kept if it does
        not parse)."""
        self.stats["soft_resets"] += 1
        n = self._s_request(S_SOFT_RESET)
        atr = bytes(self._rxmv[HDR:HDR + n])
        self.atr = atr
        p = parse_atr(atr)
        if p is not None:
            bwt, ifsc, mpot = p
            if bwt:
                self.bwt_ms = min(bwt, self.max_bwt_ms)
            if 0 < ifsc:
                self.ifsc = min(ifsc, IFS_MAX)
            if mpot:
                self.poll_ms = mpot
        self._ns = self._nr = 0
        self._dirty = False
        return atr

    def resync(self):
        """S(RESYNCH); an interface soft reset if that fails.  Both sides
        restart their sequence numbers at 0."""
        self.stats["resyncs"] += 1
        try:
            self._s_request(S_RESYNCH)
            self._ns = self._nr = 0
            self._dirty = False
        except T1Error:
            self.soft_reset()

    def set_ifsd(self, n):
        """Tells the SE the largest INF we take (S(IFS)); 1..254."""
        if not 0 < n <= IFS_MAX:
            raise ValueError("IFSD 1..254")
        self._ctl[7] = n
        self._s_request(S_IFS, self._ctlmv[7:8], 1)
        self.ifsd = n

    def wipe(self):
        """Zeroes the frame buffers (after a block carried a secret)."""
        for b in (self._tx, self._ctl):
            for i in range(len(b)):
                b[i] = 0
        self._txn = 0

    def s_block(self, t, inf=b""):
        """Any other S-block request (end of session 5, chip reset 6, GET ATR
        7); returns the INF of the response."""
        n = self._s_request(t, inf, len(inf))
        return bytes(self._rxmv[HDR:HDR + n])

    def transceive(self, apdu, n=None, redo=True):
        """Sends apdu[0:n] as I-blocks (chained at the IFSC) and returns the
        response (a memoryview of data + SW, valid until the next call).
        If the exchange breaks, the link is resynchronised and, if `redo`,
        the APDU is sent once more; else T1Error."""
        if n is None:
            n = len(apdu)
        if self._dirty:
            self.resync()
        tries = 2 if redo else 1
        for attempt in range(tries):
            try:
                return self._exchange(apdu, n)
            except _TooLong as e:
                raise Se050Error("SE050 response of %d bytes is longer than the %d-byte buffer"
                                 % (e.args[0], len(self._rsp)))
            except _Broken:
                self._dirty = True
                self.stats["failures"] += 1
            except T1Error:
                # the SE stopped taking blocks: resync before the next exchange
                self._dirty = True
                self.stats["failures"] += 1
                raise
            try:
                self.resync()
            except T1Error:
                raise T1Error("SE050 lost: no resync and no soft reset after a broken exchange")
            if attempt + 1 < tries:
                self.stats["redos"] += 1
        raise T1Error("T=1 exchange failed (%d attempts); link resynchronised" % tries)

    def _exchange(self, apdu, n):
        tx = self._tx
        off = 0
        self._wtx_left = self.max_wtx
        while True:
            k = n - off
            if k > self.ifsc:
                k = self.ifsc
            more = off + k < n
            tx[HDR:HDR + k] = apdu[off:off + k]
            pcb = (I_SEQ if self._ns else 0) | (I_MORE if more else 0)
            self._txn = frame(tx, NAD_HOST, pcb, None, k)
            self._reply(more)
            self._ns ^= 1
            off += k
            if not more:
                break
        # the SE's answer: I-blocks, chained with M, each acknowledged by R(N(R))
        got = total = 0
        rx = self._rx
        rsp = self._rsp
        while True:
            ln = rx[2]
            total += ln
            if total > RSP_MAX:
                raise _Broken()         # longer than any APDU response: a broken chip
            if total <= len(rsp):       # past the buffer: read on, keep nothing
                rsp[got:got + ln] = self._rxmv[HDR:HDR + ln]
                got += ln
            self._nr ^= 1
            if not rx[1] & I_MORE:
                break
            self._txn = frame(tx, NAD_HOST, R_BLOCK | (R_SEQ if self._nr else 0))
            self._reply(False)
        if total > len(rsp):
            raise _TooLong(total)
        if got < 2:
            raise _Broken()
        return self._rspmv[0:got]
