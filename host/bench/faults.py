"""The fault matrix: every session state x every fault (`micro15118 faults`).

One cell (`run_cell(fault, state)`), all in one process on a virtual clock
(host/bench/sessionsim.py: our charger and vehicle firmware objects, the real
QCA7000 driver on chip/modem models on a PlcWire, the -20 session, the
power path (host/bench/power_path.py) both sides read):

1. plug in a vehicle and run a DC session (`--service` for another) until
   the charger reaches the state; inject the fault there (t_fault);
2. watch, step by step, until the contactor is open with no current, the
   faulted session is cleaned up on the charger (its Secc ended, no TCP
   connection left without a session, the power path off) and on the EV
   (its Evcc ended, its contactors open), or until t_fault + bound + 30 s;
   t_contactor_open / t_current_zero are the first step at which
   the power path's contactor is open / no current or AC power flows, from t_fault
   (0 and "no power" if the contactor was open at t_fault); also when the
   EV opened its contactors (CP C -> B) and when its session ended;
3. undo the fault (CP back, TCP flows, estop released, ...), unplug the
   faulted vehicle, plug in a fresh one (new MAC, modem and firmware) and
   require a complete session (SessionStop, 'done' on the EV, energy in
   the charger's meter and the battery) within READY_MS: "ready again".

A cell passes only if all of: power off within the fault's bound, charger
cleaned up, EV cleaned up (unless the fault leaves no EV app to clean up:
ev_killed, ev_silent), ready again.  Cells where the fault cannot apply are
"n/a" with the reason (never counted as passed).

When a state is reached (the charger's side where it says so):

| state | injected when |
|---|---|
| plug-in | the cable is plugged in |
| SLAC | the EV sends its first SLAC frame (CM_SLAC_PARM.REQ) |
| SDP | the EV's link reports slac_matched (its SDP comes next) |
| SAP | the EV's TCP is connected, before its SupportedAppProtocolReq |
| SessionSetup .. SessionStop | the Secc emits ('state', name); PowerDelivery (the Secc has no such state: it answers it from PreCharge) when the EV enters it |
| CableCheck | the Secc entered it and closed the contactor for the insulation test |
| ChargeLoop | the Secc's 3rd ('power', ...) event, with current flowing |

Bounds (from t_fault to contactor open and zero current):

| fault | what it does | bound | why |
|---|---|---|---|
| cp_a | unplug: CP to A, EV modem off the wire | 100 ms | IEC 61851-1: off within 100 ms of A/E/F |
| cp_e | CP shorted to PE (state E) | 100 ms | same |
| cp_f | CP held at -12 V (state F) | 100 ms | same |
| tcp_rst | the EV's TCP resets the connection (RST) | 100 ms | TCP loss ends the session at once (Secc.connection_lost) |
| tcp_silence | TCP segments vanish both ways, PLC stays up | 60.1 s | the charger cannot tell this from a silent EV: V2G_SECC_Sequence_Timeout 60 s (TCP gives up earlier only with data in flight) |
| plc_lost | both modems deaf for 6 s (longer than the link monitor's 3 missed polls) | 4 s | our link monitor: VS_PL_LINK_STATUS every 1 s, lost at a 0 answer or after 3 misses (ISO 15118-3 leaves it to the implementation) |
| modem_reset | the charger's modem restarts | 1.2 s | the driver sees the restart at the CPU_ON after the 100 ms boot or at its 1 s signature check; the link then drops TCP at once |
| ev_silent | the EVCC stops sending (TCP stays up, CP unchanged) | 60.1 s | V2G_SECC_Sequence_Timeout 60 s |
| ev_garbage | the EV's next request is malformed EXI | 100 ms from the malformed message | the SECC answers FAILED and powers off at once (-20: a FAILED response ends the power transfer) |
| estop | Charger.emergency_stop() | 100 ms | an emergency stop cuts power at once |
| ev_killed | the vehicle firmware vanishes (modem stays, CP stays) | 60.1 s | the charger sees only silence: V2G_SECC_Sequence_Timeout 60 s |
| charger_restart | new ChargerLink/Secc/Charger; the power-on reset opens the contactor | 100 ms | a power-on reset de-energises the contactor; the measure is how long power kept flowing after the restart |
| host_lost | the charger's host link (which terminates TLS) goes silent both ways: a pulled serial line | 1.1 s | the host link's supervision: lost after 1 s without a frame (hostlink LOST_MS), then the TLS connection is reset and the Secc powers off at once; in the charge loop the EV's 0.5 s loop timeout usually ends it first |

host_lost runs its cell with TLS on both sides (sessionsim tls=True: each
board's host link to an in-process host, hostsim.py), the other faults
without.

Faults needing a TCP connection or an EVCC session (tcp_*, ev_silent,
ev_garbage) are n/a before SAP; DC-only states are n/a for AC services.
"""
import json
import random
import sys
import time

from host.bench.sessionsim import SessionSim

STATES = ("plug-in", "SLAC", "SDP", "SAP", "SessionSetup", "AuthorizationSetup",
          "Authorization", "ServiceDiscovery", "ServiceDetail", "ServiceSelection",
          "ChargeParameterDiscovery", "ScheduleExchange", "CableCheck", "PreCharge",
          "PowerDelivery", "ChargeLoop", "WeldingDetection", "SessionStop")
FAULTS = ("cp_a", "cp_e", "cp_f", "tcp_rst", "tcp_silence", "plc_lost", "modem_reset",
          "ev_silent", "ev_garbage", "estop", "ev_killed", "charger_restart", "host_lost")
TLS_FAULTS = ("host_lost",)     # cells run with TLS on the host link
DC_ONLY = ("CableCheck", "PreCharge", "WeldingDetection")
BEFORE_TCP = ("plug-in", "SLAC", "SDP")
NEED_TCP = ("tcp_rst", "tcp_silence", "ev_silent", "ev_garbage")

AT_ONCE = 100
SEQUENCE = 60000 + AT_ONCE
BOUNDS = {"cp_a": AT_ONCE, "cp_e": AT_ONCE, "cp_f": AT_ONCE, "tcp_rst": AT_ONCE,
          "tcp_silence": SEQUENCE, "plc_lost": 4000, "modem_reset": 1200,
          "ev_silent": SEQUENCE, "ev_garbage": AT_ONCE, "estop": AT_ONCE,
          "ev_killed": SEQUENCE, "charger_restart": AT_ONCE, "host_lost": 1000 + AT_ONCE}
PLC_LOSS_MS = 6000
SETTLE_MS = 30000       # after the bound: the close timer (5 s), TCP giving up (~16 s)
REACH_MS = 120000       # to reach the state
READY_MS = 60000        # plug-in to a complete session afterwards (a clean one: ~8 s)
UNPLUGGED_MS = 2000     # the faulted vehicle is gone this long before the fresh one
LOOPS = 6               # charge loops per session (the fault comes after 3)


def applicable(fault, state, service="dc"):
    """None, or why the fault cannot apply in this state."""
    if state in DC_ONLY and not service.startswith("dc"):
        return "no %s in an AC session" % state
    if fault in NEED_TCP and state in BEFORE_TCP:
        return "no TCP connection / EVCC session yet"
    return None


class _Watch:
    """Finds the moment a state is reached in the simulation's trace."""

    def __init__(self, sim, state):
        self.sim = sim
        self.state = state
        self.i = 0
        self.sent = 0
        self.loops = 0

    def reached(self):
        sim = self.sim
        st = self.state
        if st == "SLAC":
            sent = sim.vehicle.sent
            for _, frame in sent[self.sent:]:
                if len(frame) > 16 and frame[15] == 0x64 and frame[16] == 0x60:
                    return True
            self.sent = len(sent)
            return False
        trace = sim.trace
        hit = False
        for t, who, ev in trace[self.i:]:
            if st == "SDP":
                hit = who == "vehicle" and ev[0] == "slac_matched"
            elif st == "SAP":
                hit = who == "vehicle" and ev[0] == "connected"
            elif st == "ChargeLoop":
                if who == "secc" and ev[0] == "power":
                    self.loops += 1
                    hit = self.loops >= 3 and (sim.power.current != 0 or sim.power.ac_w != 0)
            elif st == "PowerDelivery":
                hit = who == "evcc" and ev == ("state", st)
            elif st == "CableCheck":
                # entered, and the contactor closed for the insulation test
                self.loops += who == "secc" and ev == ("state", st)
                hit = self.loops > 0 and sim.power.closed
            else:
                hit = who == "secc" and ev == ("state", st)
            if hit:
                break
        self.i = len(trace)
        return hit


def _inject(sim, fault):
    t = sim.t
    if fault == "cp_a":
        sim.unplug()
    elif fault in ("cp_e", "cp_f"):
        sim.cable.force = fault[-1].upper()
        sim._apply()
    elif fault == "tcp_rst":
        conn = sim.vehicle.link.conn
        if conn is None:
            return "the EV has no TCP connection now"
        conn.abort(t, "reset")
    elif fault == "tcp_silence":
        sim.drop_tcp = True
    elif fault == "plc_lost":
        for side in (sim.charger, sim.vehicle):
            side.modem.link_loss(PLC_LOSS_MS, t)
    elif fault == "modem_reset":
        sim.charger.chip.restart_modem()
    elif fault == "ev_silent":
        sim.ev.silent = True
    elif fault == "ev_garbage":
        sim.ev.garbage = True
    elif fault == "estop":
        sim.chg.charger.emergency_stop(t)
    elif fault == "ev_killed":
        sim.ev.alive = False
    elif fault == "charger_restart":
        sim.restart_charger()
    elif fault == "host_lost":
        sim.hosts["charger"].wire.cut = True
    else:
        raise ValueError("unknown fault %r" % fault)
    sim.record("fault", (fault,))
    return None


def _restore(sim, fault):
    if fault in ("cp_e", "cp_f"):
        sim.cable.force = None
        sim._apply()
    elif fault == "tcp_silence":
        sim.drop_tcp = False
    elif fault == "plc_lost":
        for side in (sim.charger, sim.vehicle):
            side.modem.link_loss(0, sim.t)
    elif fault == "estop":
        sim.chg.charger.clear_requests()      # the operator releases the button
    elif fault == "host_lost":
        sim.hosts["charger"].wire.cut = False  # plugged back: the link comes up again


def _charger_clean(sim, secc):
    chg = sim.chg
    if secc is not None and not secc.closed and secc in chg.seccs:
        return False
    stream = chg.side.link.stream
    if stream is not None and (chg.secc is None or chg.secc.closed):
        return False             # a TCP connection nobody serves
    return not sim.powered()


def _ev_clean(ev, evcc):
    if evcc is not None and not evcc.ended:
        return False
    return not ev.vehicle.closed


def run_cell(fault, state, service="dc", seed=1, charger_cls=None, power=None):
    """Run one cell; returns a dict (see the module docstring)."""
    if fault not in FAULTS:
        raise ValueError("unknown fault %r (one of %s)" % (fault, ", ".join(FAULTS)))
    if state not in STATES:
        raise ValueError("unknown state %r (one of %s)" % (state, ", ".join(STATES)))
    cell = {"fault": fault, "state": state, "service": service, "seed": seed,
            "bound_ms": BOUNDS[fault], "passed": False, "applicable": True}
    why = applicable(fault, state, service)
    if why:
        cell.update(applicable=False, reason=why)
        return cell
    cpu = time.process_time()
    kw = {}
    if charger_cls is not None:
        kw["charger_cls"] = charger_cls
    sim = SessionSim(seed=seed, service=service, loops=LOOPS, power=power, tls=fault in TLS_FAULTS, **kw)
    sim.run(10)
    sim.plug()
    watch = _Watch(sim, state)
    if not (state == "plug-in" or sim.run(sim.t + REACH_MS, watch.reached)):
        cell.update(reason="state not reached within %d ms" % REACH_MS, t=sim.t)
        return _done(cell, sim, cpu, ["state not reached"])
    ev = sim.ev
    secc = sim.chg.secc
    evcc = ev.evcc
    powered = sim.powered()
    why = _inject(sim, fault)
    if why:
        cell.update(applicable=False, reason=why)
        return cell
    t_fault = sim.t
    fails = []
    if fault == "ev_garbage":
        # The fault happens when the malformed request goes out.
        if not sim.run(sim.t + 10000, lambda: not ev.garbage):
            cell.update(applicable=False, reason="the EV sent no further request")
            return cell
        t_fault = sim.t
        powered = sim.powered()
    cell["t_fault"] = t_fault
    cell["powered"] = powered
    t_open = t_zero = None if powered else t_fault
    t_clean = t_ev_clean = t_ev_open = t_ev_end = None
    ev_na = not ev.alive or ev.silent or fault == "ev_killed"
    end = t_fault + BOUNDS[fault] + SETTLE_MS
    p = sim.power
    while True:
        if t_open is None and not p.closed:
            t_open = sim.t
        if t_zero is None and p.current == 0 and p.ac_w == 0:
            t_zero = sim.t
        if t_ev_open is None and not ev.vehicle.closed:
            t_ev_open = sim.t
        if t_ev_end is None and evcc is not None and evcc.ended:
            t_ev_end = sim.t
        if t_clean is None and _charger_clean(sim, secc):
            t_clean = sim.t
        if t_ev_clean is None and not ev_na and _ev_clean(ev, evcc):
            t_ev_clean = sim.t
        if (t_open is not None and t_zero is not None and t_clean is not None
                and (ev_na or t_ev_clean is not None)) or sim.t >= end:
            break
        sim.step_to(min(sim.next_time(), end))
    rel = lambda x: None if x is None else x - t_fault  # noqa: E731
    cell.update(contactor_open_ms=rel(t_open), current_zero_ms=rel(t_zero),
                charger_clean_ms=rel(t_clean), ev_clean_ms=None if ev_na else rel(t_ev_clean),
                charger_clean=t_clean is not None,
                ev_clean=None if ev_na else t_ev_clean is not None,
                charger_link=sim.chg.side.link.state,
                ev_contactor_open_ms=rel(t_ev_open), ev_session_end_ms=rel(t_ev_end))
    bound = BOUNDS[fault]
    for key in ("contactor_open_ms", "current_zero_ms"):
        if cell[key] is None or cell[key] > bound:
            fails.append("%s %s > %d" % (key[:-3], cell[key], bound))
    if t_clean is None:
        fails.append("charger not cleaned up")
    if not ev_na and t_ev_clean is None:
        fails.append("EV not cleaned up")
    # Ready again: undo the fault, a fresh vehicle, a whole session.
    _restore(sim, fault)
    sim.new_vehicle()
    sim.run(sim.t + UNPLUGGED_MS)
    before = p.meter(sim.t)[0]
    fresh = sim.ev
    t_plug = sim.t
    mark = len(sim.trace)
    sim.plug()
    sim.run(t_plug + READY_MS, lambda: fresh.result is not None)
    stopped = any(w == "secc" and e == ("state", "SessionStop") for _, w, e in sim.trace[mark:])
    wh = p.meter(sim.t)[0] - before
    ok = sim.ev_done() and stopped and wh > 0 and fresh.battery.charged_wh > 0
    cell.update(ready=ok, ready_ms=sim.t - t_plug if ok else None, ready_wh=round(wh, 3),
                ready_result=fresh.result)
    if not ok:
        fails.append("not ready: %s" % (fresh.result or "no session end within %d ms" % READY_MS,))
    return _done(cell, sim, cpu, fails)


def _done(cell, sim, cpu, fails):
    cell["fails"] = fails
    cell["passed"] = cell.get("applicable", True) and not fails
    cell["sim_ms"] = sim.t
    cell["steps"] = sim.steps
    cell["cpu_s"] = round(time.process_time() - cpu, 3)
    return cell


# ---- the matrix ---------------------------------------------------------------

def cell_text(c):
    """'<ms to contactor open and zero current> C R ok': C the session was
    cleaned up (charger and EV), R the charger was ready again (a fresh
    plug-in completed a session); '-' where not; 'off' when no power flowed
    at the fault."""
    if c is None:
        return ""
    if not c.get("applicable", True):
        return "n/a"
    ms = c.get("contactor_open_ms")
    if c.get("current_zero_ms") is not None and ms is not None:
        ms = max(ms, c["current_zero_ms"])
    when = ("%d ms" % ms) if c.get("powered") and ms is not None else "off" if ms is not None else "on"
    clean = "C" if c.get("charger_clean") and c.get("ev_clean") is not False else "-"
    ready = "R" if c.get("ready") else "-"
    return "%s %s %s %s" % (when, clean, ready, "ok" if c["passed"] else "FAIL")


LEGEND = ("cell: time from the fault to contactor open and zero current (simulated; 'off': no "
          "power at the fault), C session cleaned up, R charger ready again (a new plug-in "
          "completed a session), ok/FAIL against the fault's bound")


def sample_cells(n, seed, states=STATES, faults=FAULTS, service="dc"):
    """A seeded sample of applicable cells covering every state and every
    fault at least once (n is raised to what that needs)."""
    rng = random.Random(seed)
    states = list(states)
    faults = list(faults)
    rng.shuffle(states)
    rng.shuffle(faults)
    app = [(f, s) for s in states for f in faults if applicable(f, s, service) is None]
    chosen = []
    todo_f = list(faults)
    for s in states:
        options = [f for f in todo_f if (f, s) in app] or [f for f in faults if (f, s) in app]
        if options:
            f = rng.choice(options)
            chosen.append((f, s))
            if f in todo_f:
                todo_f.remove(f)
    for f in todo_f:
        options = [s for s in states if (f, s) in app and (f, s) not in chosen]
        if options:
            chosen.append((f, rng.choice(options)))
    rest = [c for c in app if c not in chosen]
    rng.shuffle(rest)
    chosen.extend(rest[:max(0, n - len(chosen))])
    return chosen


def run_matrix(cells, service="dc", seed=1, out=None):
    results = []
    for fault, state in cells:
        c = run_cell(fault, state, service=service, seed=seed)
        results.append(c)
        if out is not None:
            out.write("%-24s %-16s %s%s\n" % (state, fault, cell_text(c),
                                               ("  " + "; ".join(c["fails"])) if c.get("fails") else
                                               ("  (" + c["reason"] + ")") if c.get("reason") else ""))
            out.flush()
    return results


def table(results, states=STATES, faults=FAULTS):
    by = {(c["state"], c["fault"]): c for c in results}
    states = [s for s in states if any((s, f) in by for f in faults)]
    faults = [f for f in faults if any((s, f) in by for s in states)]
    w0 = max(len(s) for s in states) + 1
    w = max(12, max(len(f) for f in faults)) + 1
    lines = ["".ljust(w0) + "".join(f.ljust(w) for f in faults)]
    for s in states:
        lines.append(s.ljust(w0) + "".join(cell_text(by.get((s, f))).ljust(w) for f in faults))
    return "\n".join(line.rstrip() for line in lines)


def _names(values, allowed, what):
    out = []
    for v in values or ():
        for name in v.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in allowed:
                raise SystemExit("faults: unknown %s %r (one of %s)" % (what, name, ", ".join(allowed)))
            out.append(name)
    return out


def cmd_faults(args):
    faults = _names(args.fault, FAULTS, "fault") or list(FAULTS)
    states = _names(args.state, STATES, "state") or list(STATES)
    if args.sample:
        cells = sample_cells(args.sample, args.seed, states, faults, args.service)
    else:
        cells = [(f, s) for s in states for f in faults]
    t0 = time.monotonic()
    c0 = time.process_time()
    results = run_matrix(cells, service=args.service, seed=args.seed,
                         out=sys.stderr if args.verbose else None)
    wall = time.monotonic() - t0
    cpu = time.process_time() - c0
    print(table(results, states, faults))
    print(LEGEND)
    fails = [c for c in results if c.get("applicable", True) and not c["passed"]]
    for c in fails:
        print("FAIL %s @ %s: %s" % (c["fault"], c["state"], "; ".join(c["fails"])))
    npass = sum(1 for c in results if c["passed"])
    nna = sum(1 for c in results if not c.get("applicable", True))
    print("%d cells: %d passed, %d failed, %d n/a; %.1f s (%.1f s CPU), service %s, seed %d"
          % (len(results), npass, len(fails), nna, wall, cpu, args.service, args.seed))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"service": args.service, "seed": args.seed, "bounds_ms": BOUNDS,
                       "wall_s": round(wall, 2), "cells": results}, f, indent=1, default=repr)
    return 0 if not fails else 1


def add_faults(subparsers):
    p = subparsers.add_parser(
        "faults", help="the fault matrix: every session state x every fault",
        description="Inject every fault in every session state of a simulated session "
                    "(one process, virtual clock) and check power off within the bound, "
                    "clean-up and a complete session afterwards.")
    p.add_argument("--fault", action="append", metavar="NAME",
                   help="fault(s) to run, repeatable or comma list: " + ", ".join(FAULTS))
    p.add_argument("--state", action="append", metavar="NAME",
                   help="state(s) to run, repeatable or comma list: " + ", ".join(STATES))
    p.add_argument("--sample", type=int, default=0, metavar="N",
                   help="a seeded sample of N cells covering every fault and state")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--service", default="dc", choices=("dc", "ac", "dc_bpt", "ac_bpt"))
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per cell as it runs")
    p.set_defaults(func=cmd_faults)
    return p


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="faults")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add_faults(sub)
    args = parser.parse_args(["faults"] + list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
