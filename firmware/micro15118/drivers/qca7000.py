"""QCA7000/QCA7005 SPI driver (host side of the chip's SPI slave interface).

Talks to a `bus` with `transfer(mosi) -> miso` (one CS-low transaction of the
same length).  Burst mode (default) puts the command and its data in one
transaction; `legacy=True` sends the command and the data as two.

`service(now)` runs the sync state machine and the interrupt service and
puts received Ethernet frames in `.rx` and events in `.events`:
  ('ready',)  the chip answered with the right signature and an empty write
              buffer after a CPU_ON: frames can flow;
  ('reset',)  left 'ready' because the modem restarted (CPU_ON) or the
              driver re-synced it (buffer error, persistent glitch, reset());
  ('lost',)   left 'ready' because the signature read back wrong twice
              (no chip, or a chip whose firmware is restarting: the CPU_ON
              at the end of its boot then brings 'ready' back).
`send(frame) -> bool` writes one frame if the chip is ready and has room.

Sync (states 'unknown' -> 'reset' -> 'ready'): at start-up, as soon as the
signature reads 0xAA55 the driver soft-resets the chip (SPI_CONFIG bit 6)
and waits for CPU_ON (IRQ, or INTR_CAUSE polled every `reset_poll_ms`) for
up to `reset_timeout_ms`, then tries again.  A CPU_ON is accepted when the
signature (read twice, the first read after a boot is unreliable) is good
and the write buffer is empty (3163 bytes); otherwise the chip is reset.
After start-up a CPU_ON is taken in any state.  While ready, the signature
is checked every `check_ms`, and causes that would restart the link
(CPU_ON, RDBUF_ERR, WRBUF_ERR) are confirmed by a second read, so a single
MISO bit error does not.  An RDBUF_BYTE_AVA above the buffer size is read
again and only a repeated bad value re-syncs.

Register map, framing and procedures follow the Linux qca_spi driver as
summarised in docs/standards-notes.md §7.  Bus exceptions
(e.g. a closed simulator socket) propagate; wrong data never does.
"""
from ..compat import const

from . import qcafrm

REG_BFR_SIZE = const(0x0100)
REG_WRBUF_SPC_AVA = const(0x0200)
REG_RDBUF_BYTE_AVA = const(0x0300)
REG_SPI_CONFIG = const(0x0400)
REG_SPI_STATUS = const(0x0500)
REG_INTR_CAUSE = const(0x0C00)
REG_INTR_ENABLE = const(0x0D00)
REG_RDBUF_WATERMARK = const(0x1200)
REG_WRBUF_WATERMARK = const(0x1300)
REG_SIGNATURE = const(0x1A00)
REG_ACTION_CTRL = const(0x1B00)

CMD_READ = const(0x8000)
CMD_INTERNAL = const(0x4000)

INT_PKT_AVLBL = const(0x0001)
INT_RDBUF_ERR = const(0x0002)
INT_WRBUF_ERR = const(0x0004)
INT_ADDR_ERR = const(0x0008)
INT_CPU_ON = const(0x0040)
INT_WRBUF_BELOW_WM = const(0x0400)
INT_ENABLE_MASK = const(0x0047)      # CPU_ON | WRBUF_ERR | RDBUF_ERR | PKT_AVLBL
_DEFINED = const(0x044F)             # the cause bits the chip has
_RARE = const(0x0046)                # bits that trigger a resync: confirmed by a 2nd read

SLAVE_RESET = const(0x0040)          # SPI_CONFIG bit 6
GOOD_SIGNATURE = const(0xAA55)
HW_BUF_LEN = const(3163)             # empty write buffer
HW_PKT_LEN = const(4)                # per-frame overhead in the write buffer

UNKNOWN = "unknown"
RESET = "reset"
READY = "ready"

STAT_KEYS = ("rx_frames", "tx_frames", "tx_not_ready", "tx_no_space", "tx_too_long",
             "cpu_on", "rdbuf_err", "wrbuf_err", "glitch", "sig_bad", "sig_glitch",
             "cause_glitch", "soft_resets", "reset_timeouts", "sync_fail", "lost",
             "bus_err")


class Qca7000:
    def __init__(self, bus, irq=None, legacy=False, buf_size=1600, buf_len=HW_BUF_LEN,
                 retry_ms=1000, reset_timeout_ms=10000, reset_poll_ms=100,
                 check_ms=1000, poll_ms=10):
        # One transaction must hold a command and a whole framed max-size frame.
        if buf_size < qcafrm.framed_len(qcafrm.MAX_LEN) + 2:
            raise ValueError("buf_size too small")
        self.bus = bus
        self.irq = irq
        self.legacy = legacy
        self.buf_len = buf_len
        self.retry_ms = retry_ms                  # between sync attempts (Linux: 1000)
        self.reset_timeout_ms = reset_timeout_ms  # wait for CPU_ON (Linux: 10 x 1000)
        self.reset_poll_ms = reset_poll_ms        # poll INTR_CAUSE while waiting for it
        self.check_ms = check_ms                  # signature check while ready
        self.poll_ms = poll_ms                    # advisory service period without IRQ
        self.state = UNKNOWN
        qcafrm.modem_outputs(self, STAT_KEYS)
        self.decoder = qcafrm.RxDecoder(spi=True)
        # Preallocated transaction buffers: TX (command + framed frame) and RX
        # (read command followed by zeros clocked out while the chip talks).
        self._tx = bytearray(buf_size)
        self._txmv = memoryview(self._tx)
        self._rd = bytearray(buf_size)
        self._rd[0] = CMD_READ >> 8
        self._rdmv = memoryview(self._rd)
        self._chunk = buf_size - 2
        self._reg = bytearray(4)
        self._regmv = memoryview(self._reg)
        self._regcmd = self._regmv[0:2]       # legacy mode: command and value apart
        self._regval = self._regmv[2:4]
        self._rdcmd = self._rdmv[0:2]
        self._now = 0
        self._next = 0            # next sync attempt in UNKNOWN
        self._reset_at = 0
        self._check_at = 0
        self._space = 0           # lower bound of the chip's free write-buffer space
        self._reset_req = False
        self._fresh = True        # no soft reset issued yet
        self._poll_at = 0         # next INTR_CAUSE poll while not ready

    # -- bus level --------------------------------------------------------

    def _xfer(self, mosi):
        miso = self.bus.transfer(mosi)
        if miso is None or len(miso) != len(mosi):
            self.stats["bus_err"] += 1
            return None
        return miso

    def _cmd(self, cmd, value):
        """One register access; returns the value read (or -1 on a bus error)."""
        r = self._reg
        r[0] = cmd >> 8
        r[1] = cmd & 0xFF
        r[2] = value >> 8
        r[3] = value & 0xFF
        if self.legacy:
            # Always clock the data word: the chip pairs it with the command.
            ok = self._xfer(self._regcmd) is not None
            miso = self._xfer(self._regval)
            if miso is None or not ok:
                return -1
            return (miso[0] << 8) | miso[1]
        miso = self._xfer(self._regmv)
        if miso is None:
            return -1
        return (miso[2] << 8) | miso[3]

    def read_reg(self, reg):
        """Register value, or -1 if the bus returned a transfer of the wrong size."""
        return self._cmd(CMD_READ | CMD_INTERNAL | reg, 0)

    def write_reg(self, reg, value):
        self._cmd(CMD_INTERNAL | reg, value & 0xFFFF)

    def _read_ext(self, n):
        """External read of n bytes; returns the data (a buffer of n bytes) or None."""
        if self.legacy:
            ok = self._xfer(self._rdcmd) is not None
            data = self._xfer(self._rdmv[2:2 + n])
            return data if ok else None
        miso = self._xfer(self._rdmv[0:2 + n])
        if miso is None:
            return None
        return memoryview(miso)[2:]

    # -- public -----------------------------------------------------------

    def reset(self):
        """Ask for a soft reset of the chip at the next service()."""
        self._reset_req = True

    def next_deadline(self):
        if self.state == UNKNOWN:
            if self._fresh or self.irq is not None or self._next < self._poll_at:
                return self._next
            return self._poll_at
        if self.state == RESET:
            t = self._reset_at + self.reset_timeout_ms
            if self.irq is None:
                return self._now + self.poll_ms
            return self._poll_at if self._poll_at < t else t
        if self.irq is None:
            return self._now + self.poll_ms
        return self._check_at

    def service(self, now):
        self._now = now
        if self._reset_req:
            self._reset_req = False
            self._resync(now)
        state = self.state
        if state == READY:
            if now >= self._check_at:
                self._check_at = now + self.check_ms
                if not self._check_signature(now):
                    return
                self._interrupt(now)
            elif self.irq is None or self.irq.value():
                self._interrupt(now)
            return
        # Not ready: a CPU_ON brings the chip to ready (as in Linux, in any state).
        # Right after start-up the driver resets the chip first, whatever is pending.
        if state == RESET or not self._fresh:
            if self.irq is not None and self.irq.value():
                self._interrupt(now)
            elif now >= self._poll_at and (state == RESET or self.irq is None):
                # Without an IRQ, or if the chip's IRQ enable after its reset is not
                # what we expect, INTR_CAUSE is polled.
                self._poll_at = now + self.reset_poll_ms
                self._interrupt(now)
        if self.state == UNKNOWN:
            if now >= self._next:
                self._sync_unknown(now)
        elif self.state == RESET and now - self._reset_at >= self.reset_timeout_ms:
            self.stats["reset_timeouts"] += 1
            self.state = UNKNOWN
            self._next = now

    def send(self, frame):
        """Write one Ethernet frame (padded to 60); False if not ready or no room."""
        n = len(frame)
        if not qcafrm.may_send(self.stats, self.state == READY, n):
            return False
        flen = qcafrm.framed_len(n)
        need = flen + HW_PKT_LEN
        if self._space < need:
            # The chip only frees space, so a stale value is a safe lower bound.
            space = self.read_reg(REG_WRBUF_SPC_AVA)
            if space > self.buf_len:
                self.stats["glitch"] += 1
                return False
            self._space = space
            if space < need:
                self.stats["tx_no_space"] += 1
                return False
        self.write_reg(REG_BFR_SIZE, flen)
        tx = self._tx
        tx[0] = 0              # external write: command 0x0000
        tx[1] = 0
        qcafrm.encode_into(tx, 2, frame)
        if self.legacy:
            self._xfer(self._txmv[0:2])
            self._xfer(self._txmv[2:2 + flen])
        else:
            self._xfer(self._txmv[0:2 + flen])
        self._space -= need
        self.stats["tx_frames"] += 1
        return True

    # -- sync state machine ---------------------------------------------

    def _read_signature(self):
        # The first read after a restart can be wrong: read twice, keep the second.
        self.read_reg(REG_SIGNATURE)
        return self.read_reg(REG_SIGNATURE)

    def _sync_unknown(self, now):
        if self._read_signature() != GOOD_SIGNATURE:
            self.stats["sig_bad"] += 1
            self._next = now + self.retry_ms
            return
        cfg = self.read_reg(REG_SPI_CONFIG)
        if cfg < 0:
            cfg = 0
        self.write_reg(REG_SPI_CONFIG, cfg | SLAVE_RESET)
        self.stats["soft_resets"] += 1
        self.state = RESET
        self._fresh = False
        self._reset_at = now
        self._poll_at = now + self.reset_poll_ms
        self.decoder.reset()

    def _sync_cpu_on(self, now):
        ok = self._read_signature() == GOOD_SIGNATURE
        if ok:
            space = self.read_reg(REG_WRBUF_SPC_AVA)
            ok = space == self.buf_len
        if not ok:
            self.stats["sync_fail"] += 1
            self.state = UNKNOWN
            self._next = now
            return
        self.state = READY
        self._space = space
        self._check_at = now + self.check_ms
        self.events.append(("ready",))

    def _resync(self, now):
        if self.state == READY:
            self.events.append(("reset",))
        self.state = UNKNOWN
        self._next = now

    def _check_signature(self, now):
        if self.read_reg(REG_SIGNATURE) == GOOD_SIGNATURE:
            return True
        if self.read_reg(REG_SIGNATURE) == GOOD_SIGNATURE:
            self.stats["sig_glitch"] += 1
            return True
        self.stats["lost"] += 1
        self.events.append(("lost",))
        self.state = UNKNOWN
        self._next = now
        return False

    # -- interrupt service ----------------------------------------------

    def _interrupt(self, now):
        use_irq = self.irq is not None
        if use_irq:
            self.write_reg(REG_INTR_ENABLE, 0)
        cause = self.read_reg(REG_INTR_CAUSE)
        if cause < 0 or cause & ~_DEFINED:
            # Undefined bits: a glitch or no chip (MISO stuck high).  A real
            # cause stays latched and is seen next time.
            if cause > 0:
                self.stats["cause_glitch"] += 1
            cause = 0
        if cause & _RARE:
            # A single MISO bit error must not restart the link.
            again = self.read_reg(REG_INTR_CAUSE)
            if again < 0:
                again = 0
            if (cause ^ again) & _RARE:
                self.stats["cause_glitch"] += 1
            cause = (cause & ~_RARE) | (cause & again & _RARE)
        if cause & INT_CPU_ON:
            self.stats["cpu_on"] += 1
            self.decoder.reset()
            if self.state == READY:
                self.events.append(("reset",))
            self._sync_cpu_on(now)
        if cause & (INT_RDBUF_ERR | INT_WRBUF_ERR):
            if cause & INT_RDBUF_ERR:
                self.stats["rdbuf_err"] += 1
            if cause & INT_WRBUF_ERR:
                self.stats["wrbuf_err"] += 1
            self._resync(now)
        elif self.state == READY and cause & INT_PKT_AVLBL:
            self._receive(now)
        if cause:
            self.write_reg(REG_INTR_CAUSE, cause)
        if use_irq or cause & INT_CPU_ON:
            self.write_reg(REG_INTR_ENABLE, INT_ENABLE_MASK)

    def _receive(self, now):
        limit = self.buf_len + HW_PKT_LEN
        avail = self.read_reg(REG_RDBUF_BYTE_AVA)
        if avail < 0 or avail > limit:
            # An SPI glitch (ccs32clara: "> 4000"): read again, resync if it persists.
            self.stats["glitch"] += 1
            avail = self.read_reg(REG_RDBUF_BYTE_AVA)
            if avail < 0 or avail > limit:
                self._resync(now)
                return
        if avail == 0:
            return
        self.write_reg(REG_BFR_SIZE, avail)
        while avail > 0:
            n = avail if avail < self._chunk else self._chunk
            data = self._read_ext(n)
            if data is None:
                return
            for frame in self.decoder.feed(data):
                self.rx.append(frame)
                self.stats["rx_frames"] += 1
            avail -= n
