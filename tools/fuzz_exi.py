"""Fuzz the EXI decoder: every input must decode or raise exi.ExiError.

    python tools/fuzz_exi.py [--runs N] [--seed S] [--atheris]

Inputs are the reference vectors and random valid messages, mutated (bit
flips, truncation, insertion, splicing, random bytes) and decoded with every
-20 grammar.  What decodes must survive a round trip: encode(decode(x)) must
decode to the same message.  Any other exception, or an input that takes more
than a second, is a failure and is printed with its hex.  With --atheris the
same check runs under the coverage-guided atheris fuzzer instead.
"""
import argparse
import json
import os
import random
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from micro15118 import exi  # noqa: E402

SCHEMAS = ["appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC"]
VECTORS = os.environ.get("MICRO15118_EXI_VECTORS") or os.path.join(
    REPO, "tests", "data", "exi-vectors", "vectors.jsonl")
SLOW = 1.0


def corpus():
    seeds = []
    if os.path.exists(VECTORS):
        with open(VECTORS) as f:
            for line in f:
                seeds.append(bytes.fromhex(json.loads(line)["exi_hex"]))
    return seeds or [b"\x80\x00"]


def mutate(rnd, data, seeds):
    data = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3, 8))):
        op = rnd.randrange(8)
        if op == 0 and data:                       # flip bits
            i = rnd.randrange(len(data))
            data[i] ^= 1 << rnd.randrange(8)
        elif op == 1 and data:                     # random byte
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif op == 2:                              # truncate
            del data[rnd.randrange(len(data) + 1):]
        elif op == 3:                              # insert random bytes
            i = rnd.randrange(len(data) + 1)
            data[i:i] = os.urandom(rnd.randrange(1, 9))
        elif op == 4 and data:                     # delete a run
            i = rnd.randrange(len(data))
            del data[i:i + rnd.randrange(1, 9)]
        elif op == 5:                              # splice another seed
            other = rnd.choice(seeds)
            i = rnd.randrange(len(data) + 1)
            j = rnd.randrange(len(other) + 1)
            data = data[:i] + other[j:]
        elif op == 6 and data:                     # interesting bytes (varint edges)
            data[rnd.randrange(len(data))] = rnd.choice((0x00, 0x7F, 0x80, 0xFF))
        else:                                      # fresh random bytes with a valid header
            data = bytearray(b"\x80" + os.urandom(rnd.randrange(0, 64)))
    return bytes(data)


class Unexpected(Exception):
    pass


def check(data, schema):
    """Returns True if accepted, False if rejected with ExiError; raises Unexpected."""
    t0 = time.perf_counter()
    try:
        msg = exi.decode(schema, data)
    except exi.ExiError:
        accepted = False
    except Exception as e:  # noqa: BLE001 - this is what we hunt for
        raise Unexpected("decode: %s: %s" % (type(e).__name__, e))
    else:
        accepted = True
        try:
            again = exi.decode(schema, exi.encode(schema, msg))
        except Exception as e:  # noqa: BLE001
            raise Unexpected("round trip: %s: %s" % (type(e).__name__, e))
        if again != msg:
            raise Unexpected("round trip changed the message")
    if time.perf_counter() - t0 > SLOW:
        raise Unexpected("took %.1f s" % (time.perf_counter() - t0))
    return accepted


def run(runs, seed, report_every=100000):
    rnd = random.Random(seed)
    seeds = corpus()
    accepted = rejected = 0
    failures = []
    t0 = time.time()
    for n in range(1, runs + 1):
        data = mutate(rnd, rnd.choice(seeds), seeds)
        schema = rnd.choice(SCHEMAS)
        try:
            if check(data, schema):
                accepted += 1
                if len(seeds) < 5000:
                    seeds.append(data)      # accepted inputs seed further mutation
            else:
                rejected += 1
        except Unexpected as e:
            failures.append((schema, data.hex(), str(e)))
            print("UNEXPECTED %s %s: %s" % (schema, data.hex(), e), flush=True)
        if report_every and n % report_every == 0:
            print("  %d inputs, %.0f/s, %d accepted, %d rejected, %d unexpected"
                  % (n, n / (time.time() - t0), accepted, rejected, len(failures)), flush=True)
    return accepted, rejected, failures


def run_atheris(argv):
    import atheris

    def one_input(data):
        if not data:
            return
        try:
            check(data[1:], SCHEMAS[data[0] % len(SCHEMAS)])
        except Unexpected as e:
            raise RuntimeError(str(e))

    atheris.instrument_all()
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fuzz the EXI decoder.")
    ap.add_argument("--runs", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--atheris", nargs=argparse.REMAINDER,
                    help="run under atheris; the rest of the arguments go to libFuzzer")
    args = ap.parse_args(argv)
    if args.atheris is not None:
        return run_atheris([sys.argv[0]] + args.atheris)
    t0 = time.time()
    accepted, rejected, failures = run(args.runs, args.seed)
    print("fuzz_exi: %d inputs in %.0f s: %d decoded and round-tripped, %d rejected with ExiError, "
          "%d unexpected" % (args.runs, time.time() - t0, accepted, rejected, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
