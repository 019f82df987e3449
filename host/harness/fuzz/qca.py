"""Fuzz the QCA7000 framing decoder and the QCA7000 driver.

qcafrm: valid SPI and UART receive streams (1-4 frames) are mutated (bit
  flips, byte changes, truncation, extension, deleted runs, splices, sync
  and length bytes) and fed to qcafrm.RxDecoder in random chunks.  Accepted
  = decoded without an error; rejected = errors counted.  Unexpected: an
  exception, a frame outside 60..max_len or not present in the input, a
  result that depends on how the stream was split, or an unmutated stream
  that does not decode exactly.
driver: one input is one service() or send() call of the driver against the
  chip model whose MISO is corrupted at random (bit flips, random bytes,
  stuck-at lines, wrong lengths) with random injected faults and modem
  restarts, in sessions of a few hundred calls.  Accepted = the call
  returned with the driver ready; rejected = returned while re-syncing.
  Unexpected: an exception escaping service()/send(), a received frame of
  bad length, or a driver that does not get back to ready and echo a frame
  once the corruption stops (checked at the end of every session).
"""
import struct
import time

from micro15118.drivers import qcafrm
from micro15118.drivers.qca7000 import Qca7000

from host.bench.qca7000_model import Qca7000Model

from ..echo_modem import Clock, EchoModem
from . import runner
from .mutate import BASIC, append_random, append_zeros, mutate, set_byte

SLOW = 1.0


# -- qcafrm ------------------------------------------------------------------

def random_frame(rnd):
    n = rnd.choice((14, 59, 60, 61, 64, 100, 150, 300, 1518)) if rnd.random() < 0.5 \
        else rnd.randrange(1, 400)
    return rnd.randbytes(n)


def make_seed(rnd):
    spi = rnd.random() < 0.6
    frames = [random_frame(rnd) for _ in range(rnd.randrange(1, 5))]
    enc = qcafrm.encode_spi_rx if spi else qcafrm.encode
    return spi, frames, b"".join(enc(f) for f in frames)


def length_field(rnd, data, seeds):
    """A plausible little-endian frame length anywhere."""
    if len(data) > 10:
        i = rnd.randrange(len(data) - 1)
        struct.pack_into("<H", data, i, rnd.choice((0, 59, 60, 1518, 1519, 0xFFFF, rnd.randrange(65536))))
    return data


OPS = BASIC[:-1] + (set_byte((0x00, 0xAA, 0x55, 0xFF, 0x05, 0xEE)),     # sync and framing bytes
                    length_field, append_random(range(1, 40)), append_zeros(range(1, 40)))


def feed_chunked(dec, data, rnd):
    out = []
    i = 0
    while i < len(data):
        k = rnd.choice((1, 2, 3, 7, 64, 500, 2000, len(data)))
        out += dec.feed(data[i:i + k])
        i += k
    return out


def check_qcafrm(rnd, spi, data, expect=None):
    max_len = 1518 if rnd.random() < 0.9 else rnd.randrange(60, 1518)
    try:
        whole = qcafrm.RxDecoder(spi=spi, max_len=max_len)
        got = whole.feed(data)
        parts = qcafrm.RxDecoder(spi=spi, max_len=max_len)
        got2 = feed_chunked(parts, data, rnd)
    except Exception as e:  # noqa: BLE001 - what we hunt for
        raise runner.Unexpected(runner.describe(e))
    if got != got2 or whole.errors != parts.errors:
        raise runner.Unexpected("result depends on chunking")
    for f in got:
        if not 60 <= len(f) <= max_len or f not in data:
            raise runner.Unexpected("bad frame of %d bytes" % len(f))
    if whole.pending() > max_len + 14:
        raise runner.Unexpected("keeps %d bytes" % whole.pending())
    if expect is not None and max_len == 1518:
        want = [f + bytes(60 - len(f)) if len(f) < 60 else f for f in expect]
        if got != want or whole.error_count():
            raise runner.Unexpected("clean stream decoded wrongly")
    return whole.error_count() == 0 and whole.pending() == 0


def fuzz_qcafrm(tally, rnd):
    seeds = [make_seed(rnd) for _ in range(300)]
    streams = [s[2] for s in seeds]            # what splices take their tails from

    def make():
        if tally.inputs % 1000 == 999:
            k = rnd.randrange(len(seeds))
            seeds[k] = make_seed(rnd)
            streams[k] = seeds[k][2]
        spi, frames, data = rnd.choice(seeds)
        clean = rnd.random() < 0.03
        if not clean:
            data = mutate(rnd, data, streams, OPS)
        if rnd.random() < 0.1:
            spi = not spi                          # the wrong mode is garbage too
            clean = False
        return spi, data, frames if clean else None

    def check(item):
        spi, data, expect = item
        t0 = time.perf_counter()
        accepted = check_qcafrm(rnd, spi, data, expect)
        if time.perf_counter() - t0 > SLOW:
            raise runner.Unexpected("slow")
        return accepted
    runner.feed(tally, make, check)


# -- driver ------------------------------------------------------------------

class Corruptor:
    """MISO hook: corrupts a fraction of the chip's replies."""

    def __init__(self, rnd, rate):
        self.rnd = rnd
        self.rate = rate
        self.on = True

    def __call__(self, miso):
        rnd = self.rnd
        if not self.on or rnd.random() >= self.rate:
            return miso
        op = rnd.randrange(8)
        n = len(miso)
        if op == 0 and n:
            for _ in range(rnd.randrange(1, 4)):
                miso[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        elif op == 1 and n:
            miso[rnd.randrange(n)] = rnd.randrange(256)
        elif op == 2:
            return b"\xff" * n                      # MISO stuck high
        elif op == 3:
            return bytes(n)                         # stuck low
        elif op == 4:
            return rnd.randbytes(n)
        elif op == 5:
            return miso[:rnd.randrange(n + 1)]      # wrong length (broken bus)
        elif op == 6:
            return bytes(miso) + rnd.randbytes(rnd.randrange(1, 4))
        elif op == 7 and n >= 4:                    # a plausible register value
            v = rnd.choice((0xAA55, 0x0C5B, 0xFFFF, 0x0047, 0x0040, rnd.randrange(65536)))
            miso[2] = v >> 8
            miso[3] = v & 0xFF
        return miso


class Session:
    def __init__(self, rnd):
        self.rnd = rnd
        self.clock = Clock()
        self.modem = EchoModem(boot_ms=rnd.choice((0, 5, 50)))
        self.chip = Qca7000Model(self.modem, clock=self.clock, tx_ms=rnd.choice((0, 1, 5)))
        self.corrupt = Corruptor(rnd, rnd.choice((0.01, 0.05, 0.2, 0.5)))
        self.chip.miso_hook = self.corrupt
        use_irq = rnd.random() < 0.5
        self.drv = Qca7000(self.chip, irq=self if use_irq else None, legacy=rnd.random() < 0.3,
                           retry_ms=50, reset_timeout_ms=300, reset_poll_ms=10, check_ms=100)

    def value(self):
        return self.chip.irq

    def tick(self):
        self.clock.ms += self.rnd.choice((0, 1, 1, 2, 10))
        self.modem.poll(self.clock.ms)

    def check_rx(self):
        for f in self.drv.rx:
            if not 60 <= len(f) <= 1518:
                raise runner.Unexpected("received a frame of %d bytes" % len(f))
        self.drv.rx = []
        self.drv.events = []

    def one_call(self):
        """One fuzz input; True if the driver is ready afterwards."""
        rnd = self.rnd
        r = rnd.random()
        chip = self.chip
        if r < 0.01:
            chip.inject_rdbuf_error()
        elif r < 0.02:
            chip.inject_wrbuf_error()
        elif r < 0.03:
            chip.inject_bad_signature(rnd.randrange(1, 4))
        elif r < 0.04:
            chip.inject_avail_glitch(rnd.randrange(1, 3))
        elif r < 0.045:
            chip.restart_modem()
        elif r < 0.05:
            self.drv.reset()
        elif r < 0.2:
            self.modem.to_host.append(rnd.randbytes(rnd.choice((14, 60, 200, 1518))))
        self.tick()
        try:
            if rnd.random() < 0.4:
                self.drv.send(rnd.randbytes(rnd.choice((1, 60, 300, 1518, 1519, 2000))))
            else:
                self.drv.service(self.clock.ms)
        except Exception as e:  # noqa: BLE001 - what we hunt for
            raise runner.Unexpected(runner.describe(e))
        self.check_rx()
        return self.drv.state == "ready"

    def recovers(self):
        """With clean MISO the driver must get back to ready and echo a frame."""
        self.corrupt.on = False
        end = self.clock.ms + 5000
        probe = self.rnd.randbytes(100)
        resend = 0
        while self.clock.ms < end:
            self.clock.ms += 1
            self.modem.poll(self.clock.ms)
            self.drv.service(self.clock.ms)
            # A resync may legitimately lose a frame in flight: send again now and then.
            if self.drv.state == "ready" and self.clock.ms >= resend and self.drv.send(probe):
                resend = self.clock.ms + 100
            if probe in self.drv.rx:
                return True
            self.drv.rx = []
        return False


def fuzz_driver(tally, rnd):
    while tally.more():
        s = Session(rnd)
        try:
            for _ in range(rnd.randrange(100, 600)):
                if not tally.more():
                    break
                tally.count(s.one_call())
            if not s.recovers():
                raise runner.Unexpected("no recovery: irq %s legacy %s state %s stats %r chip %r" % (
                    s.drv.irq is not None, s.drv.legacy, s.drv.state, s.drv.stats, s.chip.stats))
        except Exception as e:  # noqa: BLE001 - what we hunt for
            tally.fail("after input %d: %s" % (tally.inputs, runner.describe(e)))


TARGETS = {"qcafrm": fuzz_qcafrm, "driver": fuzz_driver}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=1000000)
