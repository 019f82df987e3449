"""Fuzz the SE050 driver: its T=1 layer (micro15118.drivers.se050t1) and the
APDU layer above it (micro15118.drivers.se050), with bytes from the chip side.

driver: the driver against the software model (host/bench/se050_model.py)
  whose blocks are damaged on their way to the host: bit flips, random
  bytes, truncation, extension, a wrong NAD or LEN, and forged blocks with
  good CRCs (I-blocks of either sequence number with or without M, R-blocks,
  S-blocks: WTX requests with any multiplier, IFS requests, responses,
  unknown types); single reads glitch or NACK, and now and then a bit of a
  host block flips.  Sessions of a few hundred calls.  One input is one
  driver call (random, SHA-512, sign, verify, ECDH, read, exists, select,
  soft reset).  Accepted = the call returned; rejected = it raised
  Se050Error (T1Error included).  Unexpected: any other exception, a wrong
  result from a call no damage touched (checked when no block with a good
  CRC was forged since the last undamaged soft reset: a forged S(RESYNCH)
  response, say, puts the two sides out of step in a way the 1-bit
  sequence numbers cannot always tell), a call that makes more than
  OPS_LIMIT bus operations (a hang), or a driver that does not work again
  once the damage stops (open(), then a signature checked with
  `cryptography`, at the end of every session).
chip: the T=1 layer alone against the model behind a noisy wire: per
  session a share (0 to all) of its blocks is replaced by forged ones (good
  CRC, any PCB, LEN and INF), reads return random bytes or NACK, writes
  NACK.  One input is one transceive (an applet APDU or 1..600 random
  bytes), soft_reset, resync or set_ifsd.  Accepted = it returned (a
  response of 2..rsp_size bytes, an ATR); rejected = Se050Error.
  Unexpected: any other exception, a response of the wrong size, or a call
  over OPS_LIMIT bus operations.

The driver runs with short waits (BWT 20 ms, at most 8 WTX per exchange) so
that a run is fast; the waits are counted, not slept (a fake clock).
"""
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from micro15118.drivers import se050
from micro15118.drivers.se050 import Se050, Se050Error
from micro15118.drivers.se050t1 import T1

from host.bench.se050_model import Se050Model, block

from ..echo_modem import Clock
from . import runner

OPS_LIMIT = 200000
KEY = 0x10000001           # P-256: fast enough for a million inputs
KEY521 = 0x10000002
P256 = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
P521 = ec.ECDSA(utils.Prehashed(hashes.SHA512()))

# PCBs worth forging: I-blocks (both N(S), with and without M), R-blocks
# (both N(R), each error code), S-requests and -responses, junk
PCBS = (0x00, 0x40, 0x20, 0x60, 0x80, 0x90, 0x81, 0x91, 0x82, 0x92, 0x83,
        0xC0, 0xE0, 0xC1, 0xE1, 0xC2, 0xE2, 0xC3, 0xE3, 0xC5, 0xC6, 0xC7, 0xCF, 0xEF,
        0xDF, 0x1F, 0xA0, 0xFF)


def forged(rnd, nad=0xA5):
    """A block with a good CRC and fields drawn from what the driver must handle."""
    pcb = rnd.choice(PCBS) if rnd.random() < 0.9 else rnd.randrange(256)
    r = rnd.random()
    if pcb in (0xC3, 0xC1) and r < 0.7:
        inf = bytes((rnd.choice((0, 1, 2, 254, 255, rnd.randrange(256))),))
    elif r < 0.5:
        inf = b""
    elif r < 0.8:
        inf = rnd.randbytes(rnd.choice((1, 2, 3, 7, 36)))
    else:
        inf = rnd.randbytes(rnd.randrange(255))
    if rnd.random() < 0.05:
        nad = rnd.choice((0x5A, 0x00, 0xFF, rnd.randrange(256)))
    return block(nad, pcb, inf)


class Damage:
    """The model's hooks: damages blocks, reads and writes at `rate`."""

    def __init__(self, rnd, rate):
        self.rnd = rnd
        self.rate = rate
        self.on = True
        self.touched = False        # damage in this call
        self.forged = False         # a block with a good CRC forged since the last clean reset

    def block(self, blk):
        rnd = self.rnd
        if not self.on or rnd.random() >= self.rate:
            return blk
        self.touched = True
        b = bytearray(blk)
        op = rnd.randrange(9)
        if op == 0:
            for _ in range(rnd.randrange(1, 4)):
                b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        elif op == 2:
            del b[rnd.randrange(len(b)):]
        elif op == 3:
            b += rnd.randbytes(rnd.randrange(1, 20))
        elif op == 4:
            b[2] = rnd.choice((0, 1, 254, 255, rnd.randrange(256)))       # LEN
        elif op == 5:
            b[0] = rnd.choice((0x5A, 0x00, 0xFF))                         # NAD
        elif op in (6, 7):
            self.forged = True
            return forged(rnd)
        else:
            self.forged = True
            inf = bytes(b[3:-2])                      # same INF, another PCB, good CRC
            return block(0xA5, rnd.choice(PCBS), inf[:254])
        return b

    def read(self, data):
        rnd = self.rnd
        if not self.on or rnd.random() >= self.rate / 4:
            return data
        self.touched = True
        op = rnd.randrange(4)
        if op == 0:
            raise OSError(5, "bus glitch")
        b = bytearray(data)
        if op == 1 and b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif op == 2:
            b = bytearray(b"\xff" * len(b))
        else:
            b = bytearray(rnd.randbytes(len(b)))
        return b

    def write(self, data):
        rnd = self.rnd
        if not self.on or rnd.random() >= self.rate / 8:
            return data
        self.touched = True
        b = bytearray(data)
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        return b


class Counting:
    """The bus between driver and chip: counts operations per call."""

    def __init__(self, chip):
        self.chip = chip
        self.ops = 0

    def _tick(self):
        self.ops += 1
        if self.ops > OPS_LIMIT:
            raise runner.Unexpected("more than %d bus operations in one call" % OPS_LIMIT)

    def writeto(self, addr, buf, stop=True):
        self._tick()
        return self.chip.writeto(addr, buf, stop)

    def readfrom_into(self, addr, buf, stop=True):
        self._tick()
        return self.chip.readfrom_into(addr, buf, stop)


def fast_t1(bus, sleep):
    return T1(bus, sleep, bwt_ms=20, max_bwt_ms=50, max_wtx=8)


# -- driver against the model ----------------------------------------------------------

class Session:
    keys = None

    def __init__(self, rnd):
        self.rnd = rnd
        self.clock = Clock()
        self.chip = Se050Model(clock=self.clock, seed=rnd.randrange(1 << 30),
                               wtx_ms=rnd.choice((5, 30, 500)),
                               timing=rnd.choice((None, {"ECDSASign": 40, "ECDH": 25,
                                                         "GetRandom": 3})))
        if Session.keys is None:        # key generation is slow: the same keys for all
            Session.keys = (ec.generate_private_key(ec.SECP256R1()),
                            ec.generate_private_key(ec.SECP521R1()))
        k256, k521 = Session.keys
        self.pub256 = k256.public_key()
        self.pub521 = k521.public_key()
        self.chip.load_bundle([
            {"object_id": KEY, "curve": "P-256",
             "private_key_hex": "%064x" % k256.private_numbers().private_value},
            {"object_id": KEY521, "curve": "P-521",
             "private_key_hex": "%0132x" % k521.private_numbers().private_value}])
        self.checked = 0            # results compared with the truth
        self.bus = Counting(self.chip)
        self.se = Se050(None, None, t1=fast_t1(self.bus, self.sleep))
        self.se.open()
        self.damage = Damage(rnd, rnd.choice((0.01, 0.05, 0.2, 0.5)))
        self.chip.block_hook = self.damage.block
        self.chip.read_hook = self.damage.read
        self.chip.write_hook = self.damage.write

    def sleep(self, ms):
        self.clock.ms += ms

    def point(self, pub):
        return pub.public_bytes(serialization.Encoding.X962,
                                serialization.PublicFormat.UncompressedPoint)

    def call(self):
        """One driver call: (name, result check or None)."""
        rnd = self.rnd
        se = self.se
        op = rnd.randrange(12)
        if op == 0:
            n = rnd.choice((1, 16, 64, 253, 254, 600))
            return lambda r: len(r) == n, lambda: se.random(n)
        if op == 1:
            data = rnd.randbytes(rnd.choice((0, 10, 300, 884, 885, 2000)))
            return lambda r: r == hashlib.sha512(data).digest(), lambda: se.sha512(data)
        if op == 2:
            d = rnd.randbytes(32)
            return (lambda r: self.verifies(self.pub256, r, d, P256),
                    lambda: se.sign(KEY, se050.ECDSA_SHA256, d))
        if op == 3 and rnd.random() < 0.2:
            d = rnd.randbytes(64)
            return (lambda r: self.verifies(self.pub521, r, d, P521),
                    lambda: se.sign_sha512(KEY521, d))
        if op == 4:
            d = rnd.randbytes(32)
            sig = Session.keys[0].sign(d, P256)
            if rnd.random() < 0.5:
                return lambda r: r is True, lambda: se.verify(KEY, se050.ECDSA_SHA256, d, sig)
            d2 = bytes((d[0] ^ 1,)) + d[1:]
            return lambda r: r is False, lambda: se.verify(KEY, se050.ECDSA_SHA256, d2, sig)
        if op == 5:
            peer = ec.generate_private_key(ec.SECP256R1()) if rnd.random() < 0.1 else None
            if peer is None:
                return lambda r: len(r) == 32, lambda: se.ecdh(KEY, self.point(self.pub256))
            z = peer.exchange(ec.ECDH(), self.pub256)
            return lambda r: r == z, lambda: se.ecdh(KEY, self.point(peer.public_key()))
        if op == 6:
            return (lambda r: r == self.point(self.pub256)), lambda: se.read_public_key(KEY)
        if op == 7:
            oid = rnd.choice((KEY, 0x12345678))
            return (lambda r: r == (oid == KEY)), lambda: se.exists(oid)
        if op == 8:
            return (lambda r: r == (3, 1, 0)), se.select
        if op == 9 and rnd.random() < 0.2:
            return (lambda r: r == (3, 1, 0)), se.open
        if op == 10:
            return (lambda r: len(r) == 7), se.get_version
        return (lambda r: r == self.chip.atr), se.t1.soft_reset

    @staticmethod
    def verifies(pub, der, digest, scheme):
        try:
            pub.verify(der, digest, scheme)
            return True
        except Exception:  # noqa: BLE001 - a bad signature in any form is a wrong result
            return False

    def one_call(self):
        """One fuzz input; True accepted, False rejected (Se050Error)."""
        ok, fn = self.call()
        self.damage.touched = False
        self.bus.ops = 0
        try:
            result = fn()
        except Se050Error:
            return False
        except runner.Unexpected:
            raise
        except Exception as e:  # noqa: BLE001 - what we hunt for
            raise runner.Unexpected(runner.describe(e))
        if not self.damage.touched:
            if fn in (self.se.open, self.se.t1.soft_reset):
                self.damage.forged = False      # both sides reset, no damage on the way
            elif not self.damage.forged:
                self.checked += 1
                if not ok(result):
                    raise runner.Unexpected("wrong result %r from %s" % (result, fn))
        return True

    def recovers(self):
        """With the damage off, the driver must come back: open() and a signature."""
        self.damage.on = False
        self.bus.ops = 0
        self.se.open()
        d = hashlib.sha256(b"recover").digest()
        return self.verifies(self.pub256, self.se.sign(KEY, se050.ECDSA_SHA256, d), d, P256)


def fuzz_driver(tally, rnd):
    while tally.more():
        s = Session(rnd)
        try:
            for _ in range(rnd.randrange(100, 400)):
                if not tally.more():
                    break
                tally.count(s.one_call())
            if not s.recovers():
                raise runner.Unexpected("no recovery")
        except Exception as e:  # noqa: BLE001 - what we hunt for
            tally.fail("after input %d: %s (rate %s, t1 %r, chip %r)" % (
                tally.inputs, runner.describe(e), s.damage.rate, s.se.t1.stats,
                {k: v for k, v in s.chip.stats.items() if k != "commands"}))


# -- T=1 against noise -------------------------------------------------------------------

class NoisyChip:
    """The model behind a noisy wire: some of its blocks are replaced by
    forged ones, some reads return random bytes or NACK, some writes NACK."""

    def __init__(self, rnd, clock):
        self.rnd = rnd
        self.model = Se050Model(clock=clock, seed=rnd.randrange(1 << 30),
                                wtx_ms=rnd.choice((2, 50)),
                                timing=rnd.choice((None, {"GetRandom": 10, "SELECT": 3})))
        self.forge = rnd.choice((0.0, 0.05, 0.3, 1.0))
        self.nack = rnd.choice((0.0, 0.05, 0.3, 0.9))
        self.noise = rnd.choice((0.0, 0.02, 0.2))
        self.model.block_hook = self._block
        self.ops = 0

    def _block(self, blk):
        return forged(self.rnd) if self.rnd.random() < self.forge else blk

    def _tick(self):
        self.ops += 1
        if self.ops > OPS_LIMIT:
            raise runner.Unexpected("more than %d bus operations in one call" % OPS_LIMIT)

    def writeto(self, addr, buf, stop=True):
        self._tick()
        if self.rnd.random() < self.nack / 3:
            raise OSError(19, "NACK")
        return self.model.writeto(addr, buf, stop)

    def readfrom_into(self, addr, buf, stop=True):
        self._tick()
        rnd = self.rnd
        if rnd.random() < self.nack:
            raise OSError(19, "NACK")
        self.model.readfrom_into(addr, buf, stop)
        if rnd.random() < self.noise:
            buf[0:len(buf)] = rnd.randbytes(len(buf))


APDUS = (b"\x00\xa4\x04\x00\x10" + se050.AID + b"\x00",        # SELECT
         b"\x80\x04\x00\x49\x04\x41\x02\x00\x20\x00",          # GetRandom 32
         b"\x80\x04\x00\x20\x00")                                  # GetVersion


def fuzz_chip(tally, rnd):
    while tally.more():
        clock = Clock()

        def sleep(ms):
            clock.ms += ms
        chip = NoisyChip(rnd, clock)
        t1 = T1(chip, sleep, bwt_ms=rnd.choice((1, 5, 20)), max_bwt_ms=30, max_wtx=8,
                rsp_size=rnd.choice((64, 1026)))
        for _ in range(rnd.randrange(50, 300)):
            if not tally.more():
                break
            chip.ops = 0
            op = rnd.randrange(12)
            try:
                if op < 8:
                    if rnd.random() < 0.5:
                        apdu = rnd.choice(APDUS)
                    else:
                        apdu = rnd.randbytes(rnd.choice((1, 4, 5, 100, 254, 255, 600)))
                    r = t1.transceive(apdu, None, rnd.random() < 0.5)
                    if not 2 <= len(r) <= len(t1._rsp):
                        raise runner.Unexpected("response of %d bytes" % len(r))
                elif op < 10:
                    atr = t1.soft_reset()
                    if not isinstance(atr, bytes) or len(atr) > 254:
                        raise runner.Unexpected("ATR %r" % (atr,))
                elif op == 10:
                    t1.resync()
                else:
                    t1.set_ifsd(rnd.randrange(1, 255))
                tally.count(True)
            except Se050Error:
                tally.count(False)
            except Exception as e:  # noqa: BLE001 - what we hunt for
                tally.fail("%s (op %d, stats %r)" % (runner.describe(e), op, t1.stats))


TARGETS = {"driver": fuzz_driver, "chip": fuzz_chip}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=1000000)
