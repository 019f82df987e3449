"""Fuzz the -20 EVCC (firmware/micro15118/iso20/evcc) with mutated SECC responses.

Sessions of every kind (AC, DC, AC_BPT, DC_BPT x scheduled, dynamic x
charge, discharge) run against the scripted SECC of
host/harness/scripted_secc.py; at every request the EVCC sends, its state
is snapshotted with the genuine response.  One input = a snapshot, cloned,
fed a mutated response instead of the genuine one, then polled through its
timers:

  * target "bytes": the EXI response bit-flipped, bytes changed, truncated,
    extended, spliced with another response, or under another payload type;
  * target "values": the decoded response with one field changed (extreme
    numbers and RationalNumbers, other enum strings, booleans flipped,
    optional or mandatory fields removed, lists emptied or repeated, choice
    elements swapped, EVSE notifications added), re-encoded.

"accepted": the EVCC went on (or ended normally) after the response;
"rejected": it ended with ('failed', ...) or declined to go on (SessionStop
queued, power off).  Its timers are then run (the
next request, its timeout) with the invariants checked again.  "unexpected": an exception escaping handle()/poll()/
next_deadline(), or a broken invariant: everything queued in .out decodes as
a -20 request, events are tuples named by a str, a failed or declining
session has its contactor open and no power, the SoC stays within 0..100,
and the battery never receives power of the wrong direction or beyond its
limits (every vehicle.delivered() call: the sign of the BPT channel or 0;
power, current and voltage within the EV's limits and the measurement
tolerances of evcc/context.py TOLERANCES).
"""
import copy
import traceback

from micro15118.iso20 import msg
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.vehicle import Vehicle

from ..scripted_secc import ScriptedSecc, vehicle
from . import runner
from .mutate import append_random, flip_bit, mutate, random_byte, splice, truncate

PTYPES = (msg.SAP, msg.COMMON, msg.AC, msg.DC)
CONFIGS = []
for _s in ("ac", "dc", "ac_bpt", "dc_bpt"):
    for _c in ("scheduled", "dynamic"):
        for _d in (("charge", "discharge") if _s.endswith("bpt") else ("charge",)):
            CONFIGS.append({"service": _s, "control": _c, "direction": _d, "loops": 3,
                            "loop_interval_ms": 100})
STRINGS = ("OK", "Ongoing", "Finished", "Ongoing_WaitingForCustomerInteraction", "FAILED",
           "FAILED_SequenceError", "WARNING_EIMAuthorizationFailure", "OK_OldSessionJoined",
           "OK_NewSessionEstablished", "OK_SuccessfulNegotiation", "Failed_NoNegotiation",
           "Terminate", "Pause", "ServiceRenegotiation", "ScheduleRenegotiation", "ExitStandby",
           "MeteringConfirmation", "EIM", "PnC", "", "x" * 40, "ControlMode", "Charge", "Discharge")
INTS = (0, 1, -1, 2, 3, 7, 12, 100, 127, -128, 255, 32767, -32768, 65535, 2 ** 31 - 1, -2 ** 31,
        2 ** 32 - 1, 2 ** 63)
SWAPS = (("Dynamic_", "Scheduled_"), ("Scheduled_", "Dynamic_"), ("BPT_", ""), ("DC_", "AC_"),
         ("AC_", "DC_"), ("Res", "Req"), ("EIM_", "PnC_"))


class Watched(Vehicle):
    """A vehicle that records every delivered() breaking the invariant."""
    ctx = None
    violations = ()

    def delivered(self, now, power_w, voltage=None, current=None):
        c = self.ctx
        if c is not None:
            why = self.check(c, power_w, voltage, current)
            if why:
                self.violations.append(why)
        Vehicle.delivered(self, now, power_w, voltage, current)

    def check(self, c, p, u, i):
        t = c.tol
        if not c.both_ways and (p > 0 if c.discharge else p < 0):
            return "battery got %r W while %s" % (p, "discharging" if c.discharge else "charging")
        if p >= 0:
            pmax, imax = self.max_charge_power, self.max_charge_current
        else:
            pmax, imax = self.max_discharge_power, self.max_discharge_current
        if abs(p) > pmax + max(t["limit_w"], pmax * t["limit_pct"] / 100.0):
            return "battery got %r W, limit %r" % (p, pmax)
        if p != 0 and i is not None and abs(i) > imax + max(t["limit_a"], imax * t["limit_pct"] / 100.0):
            return "battery got %r A, limit %r" % (i, imax)
        vmax = self.max_voltage
        if p != 0 and u is not None and u > vmax + max(t["limit_v"], vmax * t["limit_v_pct"] / 100.0):
            return "battery got %r V, limit %r" % (u, vmax)
        return None


def watched(v):
    v.__class__ = Watched
    v.violations = []
    return v


def clone(ev):
    """A cheap deep-enough copy of an Evcc between two messages."""
    e = Evcc.__new__(Evcc)
    e.__dict__.update(ev.__dict__)
    e.out = []
    e.events = []
    c = copy.copy(ev.ctx)
    c.evse = dict(ev.ctx.evse)
    c.evse_targets = dict(ev.ctx.evse_targets)
    e.ctx = c
    v = copy.copy(ev.vehicle)
    v.battery = copy.copy(ev.vehicle.battery)
    v.ctx = c
    v.violations = []
    e.vehicle = v
    return e


def snapshots():
    """[(state, evcc clone, genuine response (ptype, data), now)] over all configs."""
    snaps = []
    for i, cfg in enumerate(CONFIGS):
        cfg = dict(cfg)
        v = watched(vehicle(max_charge_power=11000) if cfg["service"].startswith("ac") else vehicle())
        secc = ScriptedSecc(ongoing={"Authorization": 1, "CableCheck": 1, "ScheduleExchange": 1},
                        notify=(2, "ScheduleRenegotiation") if i % 3 == 0 else None)
        if i % 3 == 1:
            v.request_renegotiation()
        elif i % 3 == 2:
            v.request_pause()
        ev = Evcc(cfg, v, 0, clock_s=lambda: 1735732800)
        v.ctx = ev.ctx
        now = 0
        ev.start(now)
        while not ev.ended and now < 600000:
            while ev.out:
                ptype, data = ev.out.pop(0)
                snap = clone(ev)
                res = secc.handle(ptype, data, now)
                if res:
                    snaps.append((ev.state, snap, res[0], now + 5))
                    ev.handle(res[0][0], res[0][1], now + 5)
            now = ev.next_deadline() or now + 1
            ev.poll(now)
        if v.violations or ev.result[0] != "done":
            raise AssertionError("genuine session %r: %r %r" % (cfg, ev.result, v.violations[:3]))
    return snaps


BYTE_OPS = (flip_bit, random_byte, truncate, append_random(range(1, 16)), splice)


def mutate_response(rng, ptype, data, pool):
    """The EXI bytes damaged, or a valid response of another kind, or the
    same bytes under another payload type."""
    k = rng.randrange(7)
    if k == 5:
        return rng.choice(pool)
    if k == 6:
        return rng.choice(PTYPES + (0x9001, 0x8005, 0)), data
    return ptype, mutate(rng, data, [d for _, d in pool], BYTE_OPS, rounds=(1, 1, 2, 3))


def _leaves(x, path, out):
    if isinstance(x, dict):
        out.append((path, x))
        for k in x:
            _leaves(x[k], path + (k,), out)
    elif isinstance(x, list):
        out.append((path, x))
        for i, y in enumerate(x):
            _leaves(y, path + (i,), out)
    else:
        out.append((path, x))


def _set(body, path, val):
    x = body
    for p in path[:-1]:
        x = x[p]
    x[path[-1]] = val


def mutate_value(rng, name, body):
    body = copy.deepcopy(body)
    nodes = []
    _leaves(body, (), nodes)
    path, x = rng.choice(nodes[1:]) if len(nodes) > 1 else nodes[0]
    k = rng.randrange(4)
    if k == 0 and path:
        # remove the field, or rename it (choice swaps)
        parent = body
        for p in path[:-1]:
            parent = parent[p]
        if isinstance(parent, dict):
            val = parent.pop(path[-1])
            key = path[-1]
            if rng.randrange(2) and isinstance(key, str):
                a, b2 = rng.choice(SWAPS)
                parent[key.replace(a, b2, 1)] = val
        elif isinstance(parent, list):
            if rng.randrange(2):
                del parent[path[-1]]
            else:
                parent.append(copy.deepcopy(parent[path[-1]]))
        return name, body
    if k == 1 and name.endswith("ChargeLoopRes"):
        body["EVSEStatus"] = {"NotificationMaxDelay": rng.choice((0, 60, 65535)),
                              "EVSENotification": rng.choice(("Pause", "ExitStandby", "Terminate",
                                                              "ScheduleRenegotiation",
                                                              "ServiceRenegotiation",
                                                              "MeteringConfirmation"))}
        return name, body
    if isinstance(x, bool):
        val = not x
    elif isinstance(x, int):
        val = rng.choice(INTS + (x + 1, x - 1, -x))
    elif isinstance(x, str):
        val = rng.choice(STRINGS)
    elif isinstance(x, bytes):
        val = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 8, 16, 9))))
    elif isinstance(x, dict) and "Exponent" in x:
        val = {"Exponent": rng.choice((-128, -3, 0, 3, 10, 127, 40)),
               "Value": rng.choice((-32768, -1, 0, 1, 400, 32767))}
    elif isinstance(x, list):
        val = [] if rng.randrange(2) else x * 3
    else:
        val = {}
    if path:
        _set(body, path, val)
    return name, body


def check(ev):
    for item in ev.out:
        ptype, data = item
        name, body = msg.decode(ptype, data)       # raises if the EV built garbage
        if not name.endswith("Req"):
            raise AssertionError("EV sent %s" % name)
    for e in ev.events:
        if not isinstance(e, tuple) or not e or not isinstance(e[0], str):
            raise AssertionError("bad event %r" % (e,))
    if (ev.ended and ev.result[0] == "failed") or ev.declined is not None:
        if ev.vehicle.closed or ev.vehicle.power != 0:
            raise AssertionError("failed with the power on")
    if ev.vehicle.violations:
        raise AssertionError(ev.vehicle.violations[0])
    s = ev.vehicle.soc()
    if not 0 <= s <= 100:
        raise AssertionError("SoC %r" % s)


def fuzz_with(make_input):
    def fuzz(tally, rng, snaps=None):
        snaps = snaps or snapshots()
        pool = [s[2] for s in snaps]
        decoded = {}

        def make():
            state, snap, (ptype, data), now = rng.choice(snaps)
            return state, snap, make_input(rng, ptype, data, pool, decoded), now

        def judge(item):
            state, snap, inp, now = item
            ev = clone(snap)
            try:
                ev.handle(inp[0], inp[1], now)
                check(ev)
                rejected = (ev.ended and ev.result[0] == "failed") or ev.declined is not None
                # then through its timers: the next request, the response timeout
                for _ in range(4):
                    t = ev.next_deadline()
                    if t is None:
                        break
                    ev.poll(t)
                    ev.poll(t + 1)
                check(ev)
            except Exception as e:
                raise runner.Unexpected("in %s: %s\n%s" % (state, repr(e), traceback.format_exc()))
            return not rejected
        runner.feed(tally, make, judge)
    return fuzz


def bytes_input(rng, ptype, data, pool, decoded):
    return mutate_response(rng, ptype, data, pool)


def values_input(rng, ptype, data, pool, decoded):
    key = (ptype, data)
    if key not in decoded:
        decoded[key] = msg.decode(ptype, data)
    name, body = mutate_value(rng, *decoded[key])
    try:
        return msg.encode(name, body)
    except ValueError:
        return mutate_response(rng, ptype, data, pool)


TARGETS = {"bytes": fuzz_with(bytes_input), "values": fuzz_with(values_input)}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=20000, prepare=lambda: {"snaps": snapshots()})
