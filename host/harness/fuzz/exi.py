"""Fuzz the EXI decoder: every input must decode or raise exi.ExiError.

Inputs are the reference vectors and random valid messages, mutated (bit
flips, truncation, insertion, splicing, random bytes) and decoded with every
-20 grammar.  What decodes must survive a round trip: encode(decode(x)) must
decode to the same message.  Any other exception, or an input that takes more
than a second, is unexpected.  Inputs that decode seed further mutation.
With atheris installed, ``run_atheris`` runs the same check under the
coverage-guided fuzzer instead.
"""
import os
import time

from micro15118 import exi

from .. import exi_vectors
from . import runner
from .mutate import BASIC, mutate, set_byte

SCHEMAS = ["appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC"]
SLOW = 1.0
MAX_SEEDS = 5000


def corpus():
    seeds = []
    if os.path.exists(exi_vectors.VECTORS):
        seeds = [bytes.fromhex(v["exi_hex"]) for v in exi_vectors.load()]
    return seeds or [b"\x80\x00"]


def fresh_stream(rnd, data, seeds):
    """Random bytes behind a valid EXI header."""
    return bytearray(b"\x80" + rnd.randbytes(rnd.randrange(0, 64)))


OPS = BASIC[:-1] + (set_byte((0x00, 0x7F, 0x80, 0xFF)), fresh_stream)   # varint edges
ROUNDS = (1, 1, 1, 2, 3, 8)


def check(data, schema):
    """True if decoded (and round-tripped), False if rejected with ExiError."""
    t0 = time.perf_counter()
    try:
        msg = exi.decode(schema, data)
    except exi.ExiError:
        accepted = False
    except Exception as e:  # noqa: BLE001 - this is what we hunt for
        raise runner.Unexpected("decode: " + runner.describe(e))
    else:
        accepted = True
        try:
            again = exi.decode(schema, exi.encode(schema, msg))
        except Exception as e:  # noqa: BLE001
            raise runner.Unexpected("round trip: " + runner.describe(e))
        if again != msg:
            raise runner.Unexpected("round trip changed the message")
    if time.perf_counter() - t0 > SLOW:
        raise runner.Unexpected("took %.1f s" % (time.perf_counter() - t0))
    return accepted


def fuzz_decoder(tally, rnd):
    seeds = corpus()

    def make():
        return rnd.choice(SCHEMAS), mutate(rnd, rnd.choice(seeds), seeds, OPS, ROUNDS)

    def judge(item):
        schema, data = item
        accepted = check(data, schema)
        if accepted and len(seeds) < MAX_SEEDS:
            seeds.append(data)
        return accepted
    runner.feed(tally, make, judge)


TARGETS = {"decode": fuzz_decoder}


def run_atheris(argv):
    import atheris

    def one_input(data):
        if data:
            check(data[1:], SCHEMAS[data[0] % len(SCHEMAS)])

    atheris.instrument_all()
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=1000000)
