"""Fuzz the SLAC state machines with mutated SLAC frames in every state.

    python tools/fuzz_slac.py [--runs N] [--seed S] [--target slac_evse|slac_ev|slac_mme]

For `slac_evse` and `slac_ev`, EvSlac and EvseSlac run a real session in the
test shim (tests/firmware/test_slac_shim.py: modems, wire, simulated clock);
before frames reach the target and before its timers run, mutants of valid
SLAC frames are thrown at it: bit flips, byte changes, truncation,
extension, splices, another MMTYPE, the live RunID, the target's MACs.  A
mutant is "rejected" when the target counts it in `.dropped`, otherwise
"accepted" (it may have moved the session on: that is fine, the session
goes on from there).  "Unexpected" is any exception out of handle_frame or
poll, one caught by the machines' own safety net (`.errors`), or a frame
in `.tx` that our own parser refuses.  `slac_mme` feeds the mutants to
mme.parse and to a LinkMonitor.  Prints one line per target and exits 1 if
anything unexpected happened.
"""
import argparse
import os
import random
import sys
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "firmware"))
from micro15118.slac import mme  # noqa: E402
from micro15118.slac.ev import EvSlac  # noqa: E402
from micro15118.slac.evse import EvseSlac  # noqa: E402
from micro15118.slac.linkmon import LinkMonitor  # noqa: E402
import test_slac_shim as shim  # noqa: E402

TARGETS = ("slac_evse", "slac_ev", "slac_mme")
TYPES = (mme.CM_SET_KEY_REQ, mme.CM_SET_KEY_CNF, mme.CM_SLAC_PARM_REQ, mme.CM_SLAC_PARM_CNF,
         mme.CM_START_ATTEN_CHAR_IND, mme.CM_ATTEN_CHAR_IND, mme.CM_ATTEN_CHAR_RSP,
         mme.CM_MNBC_SOUND_IND, mme.CM_VALIDATE_REQ, mme.CM_VALIDATE_CNF, mme.CM_SLAC_MATCH_REQ,
         mme.CM_SLAC_MATCH_CNF, mme.CM_ATTEN_PROFILE_IND, mme.VS_SW_VER_REQ, mme.VS_SW_VER_CNF,
         mme.VS_PL_LINK_STATUS_REQ, mme.VS_PL_LINK_STATUS_CNF, 0x601C, 0x6038)


def corpus():
    """Every frame of one clean session, both directions, plus the extras."""
    net = shim.Net()
    e = net.add(EvseSlac(shim.mac(1), rng=shim.counter(1)), "evse", 1)
    v = net.add(EvSlac(shim.mac(2), rng=shim.counter(2)), "ev", 2)
    e.sm.start(0)
    v.sm.start(0)
    net.run_until(lambda: shim.first(v.sm.events, "matched"), 5000)
    seeds = e.sent + v.sent + [f for _, f in e.received] + [f for _, f in v.received]
    seeds.append(mme.validate_req(shim.mac(1), shim.mac(2)))
    seeds.append(mme.validate_cnf(shim.mac(2), shim.mac(1)))
    seeds.append(mme.sw_ver_cnf(shim.mac(1), shim.mac(0x81), b"SIM"))
    seeds.append(mme.link_status_cnf(shim.mac(2), shim.mac(0x82), True))
    return [bytes(f) for f in seeds]


def mutate(rnd, data, seeds, sm):
    data = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3, 6))):
        op = rnd.randrange(11)
        if op == 0 and data:                        # flip a bit
            i = rnd.randrange(len(data))
            data[i] ^= 1 << rnd.randrange(8)
        elif op == 1 and data:                      # change a byte
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif op == 2:                               # truncate
            del data[rnd.randrange(len(data) + 1):]
        elif op == 3:                               # extend
            data.extend(os.urandom(rnd.choice((1, 8, 64, 1500))))
        elif op == 4:                               # splice another seed
            other = rnd.choice(seeds)
            i = rnd.randrange(len(data) + 1)
            j = rnd.randrange(len(other) + 1)
            data = data[:i] + other[j:]
        elif op == 5 and len(data) > 16:            # another MMTYPE
            t = rnd.choice(TYPES)
            data[15] = t & 0xFF
            data[16] = t >> 8
        elif op == 6 and len(data) > 14:            # MMV
            data[14] = rnd.choice((0, 1, 2, 3, 0xFF))
        elif op == 7:                               # the live RunID somewhere
            run = getattr(sm, "run_id", None) or os.urandom(8)
            i = rnd.randrange(len(data) + 1)
            data[i:i + 8] = run
        elif op == 8:                               # a MAC the target knows
            macs = [sm.host_mac, mme.BROADCAST, mme.LOCALCAST]
            for name in ("ev_mac", "evse_mac"):
                if getattr(sm, name, None):
                    macs.append(getattr(sm, name))
            i = rnd.randrange(len(data) + 1)
            data[i:i + 6] = rnd.choice(macs)
        elif op == 9 and data:                      # edge values
            data[rnd.randrange(len(data))] = rnd.choice((0, 1, 0x3A, 0x7F, 0x80, 0xFF))
        elif op == 10:                              # a fresh random frame with a good header
            data = bytearray(rnd.choice(seeds)[:19] + os.urandom(rnd.randrange(0, 120)))
    return bytes(data)


class Stats:
    def __init__(self):
        self.accepted = 0
        self.rejected = 0
        self.unexpected = 0
        self.failures = []

    def fail(self, what, data):
        self.unexpected += 1
        if len(self.failures) < 5:
            self.failures.append("%s\n  input %s" % (what, bytes(data).hex()))


class FuzzNet(shim.Net):
    """A session where the target gets mutants before each delivery and each tick."""

    def __init__(self, target, rnd, seeds, stats, budget):
        shim.Net.__init__(self)
        self.target = target
        self.rnd = rnd
        self.seeds = seeds
        self.stats = stats
        self.budget = budget

    def _check_tx(self, sm, data):
        for f in sm.tx:
            if mme.parse(f) is None:
                self.stats.fail("bad frame sent: %s" % bytes(f).hex(), data)

    def _throw(self, sm, near):
        for _ in range(self.rnd.choice((0, 1, 1, 2, 4))):
            if self.budget[0] <= 0:
                return
            self.budget[0] -= 1
            base = near if near is not None and self.rnd.random() < 0.6 else self.rnd.choice(self.seeds)
            data = mutate(self.rnd, base, self.seeds, sm)
            d = sm.dropped
            try:
                sm.handle_frame(data, self.now)
            except Exception:  # noqa: BLE001 - what we hunt for
                self.stats.fail(traceback.format_exc(), data)
                continue
            if sm.errors:
                self.stats.fail("exception caught inside handle_frame", data)
                sm.errors = 0
            elif sm.dropped == d:
                self.stats.accepted += 1
            else:
                self.stats.rejected += 1
            self._check_tx(sm, data)

    def _deliver(self, node, frame):
        if node.sm is self.target:
            self._throw(node.sm, frame)
        try:
            shim.Net._deliver(self, node, frame)
        except Exception:  # noqa: BLE001
            self.stats.fail("real frame after mutants: " + traceback.format_exc(), frame)

    def step(self):
        self._drain()
        self._throw(self.target, None)
        try:
            return shim.Net.step(self)
        except Exception:  # noqa: BLE001
            self.stats.fail("poll: " + traceback.format_exc(), b"")
            return False


def run_target(target, runs, seed, seeds):
    rnd = random.Random(seed)
    stats = Stats()
    if target == "slac_mme":
        lm = LinkMonitor(shim.mac(2))       # the link monitor parses the same frames
        lm.start(0)
        for _ in range(runs):
            data = mutate(rnd, rnd.choice(seeds), seeds, EvSlac(shim.mac(2), rng=rnd.randbytes))
            try:
                m = mme.parse(data)
                lm.handle_frame(data, 0)
            except Exception:  # noqa: BLE001
                stats.fail(traceback.format_exc(), data)
                continue
            if m is None:
                stats.rejected += 1
            else:
                stats.accepted += 1
        return stats
    budget = [runs]
    session = 0
    while budget[0] > 0:
        session += 1
        # A few fixed sessions so RunIDs in the seeds match the live ones.
        s = session % 7
        evse = EvseSlac(shim.mac(1), rng=shim.counter(1 + s))
        ev = EvSlac(shim.mac(2), rng=shim.counter(2 + s))
        net = FuzzNet(evse if target == "slac_evse" else ev, rnd, seeds, stats, budget)
        net.add(evse, "evse", 1, atten=rnd.choice((10, 20, 39, 45)))
        net.add(ev, "ev", 2)
        evse.start(0)
        ev.start(rnd.randrange(0, 100))
        limit = 60000
        while budget[0] > 0 and net.now < limit:
            if shim.first(ev.events, "matched") and shim.first(evse.events, "matched"):
                break
            if shim.first(ev.events, "failed") or evse.state == "failed":
                break
            try:
                if not net.step():
                    break
            except RuntimeError:        # the shim's step guard
                break
        # Sessions also end in the terminal states: throw more there.
        for _ in range(3):
            net._throw(net.target, None)
    return stats


def run(runs, seed=1, targets=TARGETS, report_every=1):
    seeds = corpus()
    results = {}
    for i, target in enumerate(targets):
        t0 = time.perf_counter()
        st = run_target(target, runs, seed + i, seeds)
        dt = time.perf_counter() - t0
        results[target] = st
        if report_every:
            print("fuzz %s: %d inputs, %d accepted, %d rejected, %d unexpected (%.1f s)"
                  % (target, st.accepted + st.rejected + st.unexpected, st.accepted, st.rejected,
                     st.unexpected, dt))
            for f in st.failures:
                print(f)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", choices=TARGETS, action="append")
    a = ap.parse_args(argv)
    results = run(a.runs, a.seed, tuple(a.target or TARGETS))
    return 1 if any(st.unexpected for st in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
