"""Software model of the QCA7000/QCA7005 SPI slave interface, in front of a modem model.

    chip = Qca7000Model(modem, clock=time.monotonic, buf_len=3163)
    miso = chip.transfer(mosi)      # one CS-low transaction
    chip.irq                        # interrupt line level, 0 or 1

What is modelled (docs/standards-notes.md §7):
* command word: bit 15 read, bit 14 internal (register), bits 13..0 address;
  burst transactions (command + data under one CS) and legacy ones (a
  2-byte transaction holding only a command; its data is the next one);
* registers: SIGNATURE 0xAA55, WRBUF_SPC_AVA (3163 when empty; a written
  frame takes its framed length + 4 until the modem has taken it),
  RDBUF_BYTE_AVA, BFR_SIZE (byte count of the following external
  access(es)), SPI_CONFIG (bit 6 soft-resets the chip and the modem),
  INTR_CAUSE (write-to-clear), INTR_ENABLE, SPI_STATUS, the watermarks and
  ACTION_CTRL as plain storage; an unknown address sets ADDR_ERR;
* IRQ line = INTR_CAUSE & INTR_ENABLE, low while the chip boots;
* receive stream: per frame a 4-byte big-endian HW length (frame + 10) and
  the framed frame, padded to 60; frames that do not fit the read buffer
  are dropped (`stats['rx_overflow']`); reading more than RDBUF_BYTE_AVA or
  than BFR_SIZE announced sets RDBUF_ERR and clocks out zeros;
* transmit: the bytes of an external write are collected until BFR_SIZE is
  reached and decoded like qcafrm does (SOF, length 60..1518, EOF, nothing
  left over); a badly framed or oversized write sets WRBUF_ERR and is
  dropped.  Good frames go to `modem.from_host(frame, now_ms)` after
  `tx_ms` each (the write buffer drains at that pace);
* restarts: when `modem.resets` changes (modem restart, SET_KEY) or after a
  soft reset (which calls `modem.reset(now_ms)`) the chip flushes both
  buffers, ignores writes and clocks out `boot_miso` bytes while
  `modem.ready` is False, then raises CPU_ON with INTR_ENABLE = CPU_ON (an
  assumption: the host learns about a restart from the IRQ line, docs/standards-notes.md §7).

Modelling choices where the public sources say nothing:
* after a boot the first SIGNATURE read returns 0xFFFF when
  `first_read_quirk` is set (default), because both the Linux driver and
  ccs32clara read the signature twice and trust only the second read;
* clearing PKT_AVLBL while the read buffer still holds data re-asserts it,
  so a frame arriving during the host's read is not forgotten.

Fault injection (all counted in `stats`):
* `inject_bad_signature(n=1)`: the next n SIGNATURE reads return 0x5AA5;
* `inject_rdbuf_error()` / `inject_wrbuf_error()`: raise RDBUF_ERR / WRBUF_ERR;
* `inject_avail_glitch(n=1)`: the next n RDBUF_BYTE_AVA reads return 0xFFFF
  (ccs32clara's "> 4000 bytes" SPI glitch);
* `set_bit_errors(p, seed=0)`: flip each MISO bit with probability p (seeded);
* `restart_modem()`: the modem restarts (CPU_ON after its boot, buffers flushed);
* `miso_hook`: if set, `hook(miso: bytearray) -> bytes` rewrites every reply
  (the fuzzer uses it for arbitrary corruption, even of the length).
"""
import math
import random
import time

from micro15118.drivers import qcafrm

BFR_SIZE = 0x0100
WRBUF_SPC_AVA = 0x0200
RDBUF_BYTE_AVA = 0x0300
SPI_CONFIG = 0x0400
SPI_STATUS = 0x0500
INTR_CAUSE = 0x0C00
INTR_ENABLE = 0x0D00
RDBUF_WATERMARK = 0x1200
WRBUF_WATERMARK = 0x1300
SIGNATURE = 0x1A00
ACTION_CTRL = 0x1B00
_STORAGE = (SPI_STATUS, RDBUF_WATERMARK, WRBUF_WATERMARK, ACTION_CTRL)

PKT_AVLBL = 0x0001
RDBUF_ERR = 0x0002
WRBUF_ERR = 0x0004
ADDR_ERR = 0x0008
CPU_ON = 0x0040
WRBUF_BELOW_WM = 0x0400

SLAVE_RESET = 0x0040
GOOD_SIGNATURE = 0xAA55
BAD_SIGNATURE = 0x5AA5
HW_PKT_LEN = 4

STAT_KEYS = ("transfers", "frames_from_host", "frames_to_host", "wrbuf_err", "rdbuf_err",
             "addr_err", "rx_overflow", "rx_too_long", "soft_resets", "boots",
             "while_booting", "bit_flips", "abandoned_writes")


class Qca7000Model:
    def __init__(self, modem, clock=time.monotonic, buf_len=3163, rdbuf_len=None, tx_ms=1,
                 first_read_quirk=True, boot_miso=0x00):
        self.modem = modem
        self.clock = clock
        self.buf_len = buf_len
        self.rdbuf_len = rdbuf_len if rdbuf_len is not None else buf_len
        self.tx_ms = tx_ms
        self.first_read_quirk = first_read_quirk
        self.boot_miso = boot_miso
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self.miso_hook = None
        self._ber = 0.0
        self._ber_rng = random.Random(0)
        self._flip_in = 0
        self._bad_sig = 0
        self._avail_glitch = 0
        self._pending_cmd = None
        self._regs = dict.fromkeys(_STORAGE, 0)
        self._seen_resets = modem.resets
        self._flush()
        self._booting = True
        self._update()          # power-on: boots (raises CPU_ON) once the modem is ready

    # -- state ------------------------------------------------------------

    def _now_ms(self):
        return int(self.clock() * 1000)

    def _flush(self):
        self._rd = bytearray()
        self._wq = []           # (due_ms, frame, cost) in the write buffer
        self._wq_last = 0
        self._space = self.buf_len
        self._wacc = bytearray()
        self._ext_left = 0
        self._bfr = 0
        self._cause = 0
        self._enable = 0
        self._config = 0
        self._pending_cmd = None

    def _boot(self):
        self._booting = False
        self.stats["boots"] += 1
        self._cause = CPU_ON
        self._enable = CPU_ON
        self._first_read = self.first_read_quirk

    def _update(self):
        now = self._now_ms()
        m = self.modem
        if m.resets != self._seen_resets:
            self._seen_resets = m.resets
            self._flush()
            self._booting = True
        if self._booting:
            if not m.ready:
                return now
            self._boot()
        while self._wq and self._wq[0][0] <= now:
            _, frame, cost = self._wq.pop(0)
            self._space += cost
            self.stats["frames_from_host"] += 1
            m.from_host(frame, now)
            if m.resets != self._seen_resets:     # the frame restarted the modem
                return self._update()
        if m.to_host:
            frames = m.to_host
            m.to_host = []
            for frame in frames:
                if len(frame) > qcafrm.MAX_LEN:
                    self.stats["rx_too_long"] += 1
                    continue
                chunk = qcafrm.encode_spi_rx(frame)
                if len(self._rd) + len(chunk) > self.rdbuf_len:
                    self.stats["rx_overflow"] += 1
                    continue
                self._rd += chunk
                self._cause |= PKT_AVLBL
                self.stats["frames_to_host"] += 1
        return now

    @property
    def irq(self):
        self._update()
        if self._booting:
            return 0
        return 1 if self._cause & self._enable else 0

    @property
    def booting(self):
        self._update()
        return self._booting

    def read_available(self):
        """Bytes waiting in the read buffer (for tests)."""
        self._update()
        return len(self._rd)

    def write_space(self):
        self._update()
        return self._space

    # -- fault injection --------------------------------------------------

    def inject_bad_signature(self, n=1):
        self._bad_sig += n

    def inject_rdbuf_error(self):
        self._cause |= RDBUF_ERR
        self.stats["rdbuf_err"] += 1

    def inject_wrbuf_error(self):
        self._cause |= WRBUF_ERR
        self.stats["wrbuf_err"] += 1

    def inject_avail_glitch(self, n=1):
        self._avail_glitch += n

    def set_bit_errors(self, p, seed=0):
        if not 0 <= p < 1:
            raise ValueError("bit error probability must be in [0, 1)")
        self._ber = p
        self._ber_rng = random.Random(seed)
        self._flip_in = self._gap()

    def restart_modem(self):
        self.modem.reset(self._now_ms())
        self._update()

    def _gap(self):
        # Error-free bits before the next flip (geometric distribution).
        if self._ber <= 0:
            return 1 << 62
        u = self._ber_rng.random()
        return int(math.log(1.0 - u) / math.log(1.0 - self._ber))

    def _flip_bits(self, miso):
        nbits = len(miso) * 8
        i = self._flip_in
        while i < nbits:
            miso[i >> 3] ^= 0x80 >> (i & 7)
            self.stats["bit_flips"] += 1
            i += 1 + self._gap()
        self._flip_in = i - nbits

    # -- SPI ----------------------------------------------------------------

    def transfer(self, mosi):
        now = self._update()
        mosi = bytes(mosi)
        n = len(mosi)
        self.stats["transfers"] += 1
        if self._booting:
            self.stats["while_booting"] += 1
            self._pending_cmd = None
            miso = bytearray((self.boot_miso,) * n)
        else:
            miso = bytearray(n)
            if self._pending_cmd is not None:
                cmd = self._pending_cmd
                self._pending_cmd = None
                self._execute(cmd, mosi, 0, miso, now)
            elif n == 2:
                self._pending_cmd = (mosi[0] << 8) | mosi[1]     # legacy: data follows
            elif n > 2:
                self._execute((mosi[0] << 8) | mosi[1], mosi, 2, miso, now)
        if self._ber:
            self._flip_bits(miso)
        if self.miso_hook is not None:
            return bytes(self.miso_hook(miso))
        return bytes(miso)

    def _execute(self, cmd, mosi, off, miso, now):
        n = len(mosi) - off
        if cmd & 0x4000:
            addr = cmd & 0x3FFF
            if n < 2:
                return
            if cmd & 0x8000:
                v = self._read_reg(addr)
                miso[off] = v >> 8
                miso[off + 1] = v & 0xFF
            else:
                self._write_reg(addr, (mosi[off] << 8) | mosi[off + 1], now)
        elif cmd & 0x8000:
            self._ext_read(miso, off, n)
        else:
            self._ext_write(mosi[off:], now)

    def _read_reg(self, addr):
        if addr == SIGNATURE:
            if self._first_read:
                self._first_read = False
                return 0xFFFF
            if self._bad_sig:
                self._bad_sig -= 1
                return BAD_SIGNATURE
            return GOOD_SIGNATURE
        if addr == WRBUF_SPC_AVA:
            return self._space
        if addr == RDBUF_BYTE_AVA:
            if self._avail_glitch:
                self._avail_glitch -= 1
                return 0xFFFF
            return len(self._rd)
        if addr == BFR_SIZE:
            return self._bfr
        if addr == SPI_CONFIG:
            return self._config
        if addr == INTR_CAUSE:
            return self._cause
        if addr == INTR_ENABLE:
            return self._enable
        if addr in self._regs:
            return self._regs[addr]
        self._addr_error()
        return 0

    def _addr_error(self):
        self._cause |= ADDR_ERR
        self.stats["addr_err"] += 1

    def _write_reg(self, addr, v, now):
        if addr == BFR_SIZE:
            if self._wacc:
                self.stats["abandoned_writes"] += 1
            self._bfr = v
            self._ext_left = v
            self._wacc = bytearray()
        elif addr == SPI_CONFIG:
            if v & SLAVE_RESET:
                self.stats["soft_resets"] += 1
                self.modem.reset(now)
                # A modem model that restarts instantly still restarts the chip.
                self._seen_resets = self.modem.resets
                self._flush()
                self._booting = True
                self._update()
            else:
                self._config = v
        elif addr == INTR_CAUSE:
            self._cause &= ~v
            if self._rd:
                self._cause |= PKT_AVLBL
        elif addr == INTR_ENABLE:
            self._enable = v
        elif addr in self._regs:
            self._regs[addr] = v
        elif addr not in (SIGNATURE, WRBUF_SPC_AVA, RDBUF_BYTE_AVA):
            self._addr_error()

    def _ext_read(self, miso, off, n):
        k = min(n, len(self._rd), self._ext_left)
        miso[off:off + k] = self._rd[:k]
        del self._rd[:k]
        self._ext_left -= k
        if k < n:
            self._cause |= RDBUF_ERR
            self.stats["rdbuf_err"] += 1

    def _ext_write(self, data, now):
        if len(data) > self._ext_left:
            self._write_error()
            return
        self._wacc += data
        self._ext_left -= len(data)
        if self._ext_left:
            return
        data = bytes(self._wacc)
        self._wacc = bytearray()
        dec = qcafrm.RxDecoder(spi=False)
        frames = dec.feed(data)
        if not frames or dec.error_count() or dec.pending() or dec.skipped:
            self._write_error()
            return
        costs = [qcafrm.framed_len(len(f)) + HW_PKT_LEN for f in frames]
        if sum(costs) > self._space:
            self._write_error()
            return
        for frame, cost in zip(frames, costs):
            self._space -= cost
            due = max(now, self._wq_last) + self.tx_ms
            self._wq_last = due
            self._wq.append((due, frame, cost))
        self._update()

    def _write_error(self):
        self._wacc = bytearray()
        self._ext_left = 0
        self._cause |= WRBUF_ERR
        self.stats["wrbuf_err"] += 1
