"""The loop every fuzzer shares: seed, budget, verdicts, report.

A fuzz target is a function ``target(tally, rnd, **options)``: it draws
everything from ``rnd`` (a random.Random seeded from the target's name and
the run's seed, so a run reproduces), feeds inputs while ``tally.more()``
and books each one: ``tally.count(True)`` accepted (the code under test took
it), ``tally.count(False)`` rejected (refused cleanly, as designed),
``tally.fail(text)`` unexpected (an exception escaped, an invariant broke).
Targets with one input per call use ``feed()``, which does the booking.

A fuzzer module has ``TARGETS = {name: target}`` and its CLI is ``main()``:

    python tools/fuzz_net.py [--runs N] [--seconds S] [--seed S] [--target NAME|all]

which prints one line per target,
``fuzz NAME: N inputs, A accepted, R rejected, U unexpected (T s)``, then the
first failures, and exits 1 if anything was unexpected.
"""
import argparse
import random
import time


class Unexpected(Exception):
    """An input did something other than being accepted or rejected cleanly."""


class Tally:
    """One target's run: its budget (inputs, optionally seconds) and what the inputs did."""

    def __init__(self, name, runs, seconds=None, keep=20):
        self.name = name
        self.runs = runs
        self.t0 = time.monotonic()
        self.deadline = None if seconds is None else self.t0 + seconds
        self.keep = keep
        self.accepted = 0
        self.rejected = 0
        self.unexpected = 0
        self.failed_inputs = 0      # the unexpected that were inputs (not, say, a failed recovery)
        self.failures = []          # the first `keep` unexpected ones, as text

    @property
    def inputs(self):
        return self.accepted + self.rejected + self.failed_inputs

    def more(self):
        """True while the budget is not spent."""
        return self.inputs < self.runs and (self.deadline is None or time.monotonic() < self.deadline)

    def count(self, accepted):
        if accepted:
            self.accepted += 1
        else:
            self.rejected += 1

    def fail(self, text, an_input=True):
        """Books something unexpected: by default an input that went wrong;
        an_input=False for a failure between inputs (it uses no budget)."""
        self.unexpected += 1
        self.failed_inputs += an_input
        if len(self.failures) < self.keep:
            self.failures.append(text)

    def summary(self):
        return "fuzz %s: %d inputs, %d accepted, %d rejected, %d unexpected (%.1f s)" % (
            self.name, self.inputs, self.accepted, self.rejected, self.unexpected,
            time.monotonic() - self.t0)


def describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def show(data):
    return bytes(data).hex() if isinstance(data, (bytes, bytearray, memoryview)) else repr(data)


def feed(tally, make, check):
    """Until the budget is spent: data = make(), then check(data) -> True
    (accepted), False (rejected) or None (not an input after all: not
    counted); any exception out of check is unexpected."""
    while tally.more():
        data = make()
        try:
            verdict = check(data)
        except Exception as exc:  # noqa: BLE001 - this is what fuzzing hunts for
            tally.fail("%s | input %s" % (describe(exc), show(data)))
            continue
        if verdict is not None:
            tally.count(verdict)
    return tally


def run(targets, name, runs, seed=1, seconds=None, **options):
    """One target of `targets` for `runs` inputs (or `seconds`); its Tally."""
    tally = Tally(name, runs, seconds)
    targets[name](tally, random.Random("%s:%d" % (name, seed)), **options)
    return tally


def main(doc, targets, argv=None, runs=100000, prepare=None):
    """The command line of a fuzzer.  `prepare()`, if given, returns options
    shared by every target (a recorded corpus, say), made once."""
    ap = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    ap.add_argument("--runs", type=int, default=runs, help="inputs per target")
    ap.add_argument("--seconds", type=float, help="stop each target after this long")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", choices=sorted(targets) + ["all"], default="all")
    args = ap.parse_args(argv)
    names = list(targets) if args.target == "all" else [args.target]
    options = prepare() if prepare else {}
    unexpected = 0
    for name in names:
        tally = run(targets, name, args.runs, args.seed, args.seconds, **options)
        print(tally.summary(), flush=True)
        for text in tally.failures[:5]:
            print("UNEXPECTED " + text, flush=True)
        unexpected += tally.unexpected
    return 1 if unexpected else 0
