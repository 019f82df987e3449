"""Fuzz the SLAC state machines with mutated SLAC frames in every state.

For `slac_evse` and `slac_ev`, EvSlac and EvseSlac run a real session in the
SLAC shim (host/harness/slac_shim.py: modems, wire, simulated clock);
before frames reach the target and before its timers run, mutants of valid
SLAC frames are thrown at it: bit flips, byte changes, truncation,
extension, splices, another MMTYPE, the live RunID, the target's MACs.  A
mutant is "rejected" when the target counts it in `.dropped`, otherwise
"accepted" (it may have moved the session on: that is fine, the session
goes on from there).  "Unexpected" is any exception out of handle_frame or
poll, one caught by the machines' own safety net (`.errors`), or a frame
in `.tx` that our own parser refuses.  `slac_mme` feeds the mutants to
mme.parse and to a LinkMonitor.
"""
import traceback

from micro15118.slac import mme
from micro15118.slac.ev import EvSlac
from micro15118.slac.evse import EvseSlac
from micro15118.slac.linkmon import LinkMonitor

from .. import slac_shim as shim
from . import runner
from .mutate import (append_random, flip_bit, mutate, random_byte, set_byte, set_mmtype, set_mmv, splice,
                     truncate)

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


def ops_against(sm):
    """The mutation ops for frames to the state machine `sm`: its live RunID
    and the MACs it knows get written into them."""
    def live_run_id(rnd, data, seeds):
        i = rnd.randrange(len(data) + 1)
        data[i:i + 8] = getattr(sm, "run_id", None) or rnd.randbytes(8)
        return data

    def known_mac(rnd, data, seeds):
        macs = [sm.host_mac, mme.BROADCAST, mme.LOCALCAST]
        for name in ("ev_mac", "evse_mac"):
            if getattr(sm, name, None):
                macs.append(getattr(sm, name))
        i = rnd.randrange(len(data) + 1)
        data[i:i + 6] = rnd.choice(macs)
        return data

    def fresh_frame(rnd, data, seeds):
        """A valid MME header, random behind it."""
        return bytearray(rnd.choice(seeds)[:19] + rnd.randbytes(rnd.randrange(0, 120)))

    return (flip_bit, random_byte, truncate, append_random((1, 8, 64, 1500)), splice, set_mmtype(TYPES),
            set_mmv((0, 1, 2, 3, 0xFF)), live_run_id, known_mac, set_byte((0, 1, 0x3A, 0x7F, 0x80, 0xFF)),
            fresh_frame)


class FuzzNet(shim.Net):
    """A session where the target gets mutants before each delivery and each tick."""

    def __init__(self, target, rnd, seeds, tally):
        shim.Net.__init__(self)
        self.target = target
        self.ops = ops_against(target)
        self.rnd = rnd
        self.seeds = seeds
        self.tally = tally

    def fail(self, what, data):
        self.tally.fail("%s\n  input %s" % (what, bytes(data).hex()))

    def _check_tx(self, sm, data):
        for f in sm.tx:
            if mme.parse(f) is None:
                self.fail("bad frame sent: %s" % bytes(f).hex(), data)

    def _throw(self, sm, near):
        for _ in range(self.rnd.choice((0, 1, 1, 2, 4))):
            if not self.tally.more():
                return
            base = near if near is not None and self.rnd.random() < 0.6 else self.rnd.choice(self.seeds)
            data = mutate(self.rnd, base, self.seeds, self.ops)
            d = sm.dropped
            try:
                sm.handle_frame(data, self.now)
            except Exception:  # noqa: BLE001 - what we hunt for
                self.fail(traceback.format_exc(), data)
                continue
            if sm.errors:
                self.fail("exception caught inside handle_frame", data)
                sm.errors = 0
            else:
                self.tally.count(sm.dropped == d)
            self._check_tx(sm, data)

    def _deliver(self, node, frame):
        if node.sm is self.target:
            self._throw(node.sm, frame)
        try:
            shim.Net._deliver(self, node, frame)
        except Exception:  # noqa: BLE001
            self.fail("real frame after mutants: " + traceback.format_exc(), frame)

    def step(self):
        self._drain()
        self._throw(self.target, None)
        try:
            return shim.Net.step(self)
        except Exception:  # noqa: BLE001
            self.fail("poll: " + traceback.format_exc(), b"")
            return False


def fuzz_mme(tally, rnd):
    """Mutants to mme.parse and to a LinkMonitor, which parses the same frames."""
    seeds = corpus()
    lm = LinkMonitor(shim.mac(2))
    lm.start(0)
    ops = ops_against(EvSlac(shim.mac(2), rng=rnd.randbytes))

    def check(data):
        m = mme.parse(data)
        lm.handle_frame(data, 0)
        return m is not None
    runner.feed(tally, lambda: mutate(rnd, rnd.choice(seeds), seeds, ops), check)


def fuzz_session(side):
    """Sessions of EvseSlac against EvSlac with mutants thrown at `side`."""
    def fuzz(tally, rnd):
        seeds = corpus()
        session = 0
        while tally.more():
            session += 1
            # A few fixed sessions so RunIDs in the seeds match the live ones.
            s = session % 7
            evse = EvseSlac(shim.mac(1), rng=shim.counter(1 + s))
            ev = EvSlac(shim.mac(2), rng=shim.counter(2 + s))
            net = FuzzNet(evse if side == "evse" else ev, rnd, seeds, tally)
            net.add(evse, "evse", 1, atten=rnd.choice((10, 20, 39, 45)))
            net.add(ev, "ev", 2)
            evse.start(0)
            ev.start(rnd.randrange(0, 100))
            while tally.more() and net.now < 60000:
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
    return fuzz


TARGETS = {"slac_evse": fuzz_session("evse"), "slac_ev": fuzz_session("ev"), "slac_mme": fuzz_mme}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv)
