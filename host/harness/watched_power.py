"""The SECC's power model, watched: after every command and every update the
output is judged against what both sides agreed in the session (the charger's
limits, setpoint and schedule, the EV's limits, PowerDelivery and the BPT
channel), not against the SECC's own envelope state.

    power = WatchedPower(0)
    ev = ScriptedEv(power=power); power.secc = ev.secc
    ...
    assert power.bad == []

Used by tests/firmware/test_iso20_secc_envelope.py (also under MicroPython)
and the SECC fuzzer (host/harness/fuzz/secc.py).
"""
from micro15118.link.common import earliest as smallest   # the smallest given value, None ignored
from .scripted_ev import BatteryPower

TOL = 1e-6


def violations(p, secc):
    """What is wrong with the power model `p` now, judged from the session's own
    facts (the charger's limits, setpoint and schedule, the EV's limits accepted in
    ChargeParameterDiscovery, PowerDelivery and the BPT channel), not from the
    envelope's state."""
    out = []
    ch = secc.charger
    L = ch.limits
    if not isinstance(L, dict):
        return out
    c = secc.ctx
    ev = c.ev or {}
    dc = "max_voltage" in ev
    # voltage: never set above both sides' maximum, never rising above it
    v_max = min(L["dc_max_voltage"], ev["max_voltage"]) if dc else 0.0
    if p.target_v > v_max + TOL:
        out.append("voltage target %r above %r" % (p.target_v, v_max))
    if p.voltage > v_max + TOL and p.voltage > getattr(p, "v_prev", 0.0) + TOL:
        out.append("voltage %r rising above %r" % (p.voltage, v_max))
    energy = c.energy and not secc.closed
    if not energy and (p.current or p.ac_w):
        out.append("current %r / %r W without PowerDelivery Start" % (p.current, p.ac_w))
    if not p.closed and (p.current or p.ac_w):
        out.append("current with the contactor open")
    discharge_ok = c.bpt and c.channel == "Discharge"
    sp = ch.setpoint
    sched = abs(ch.schedule[0][1]) if ch.schedule else None
    pre = "dc_" if dc else "ac_"
    p_ch = smallest(L[pre + "max_charge_power"], ev.get("max_power", 0), sched)
    p_dis = smallest(L[pre + "max_discharge_power"], ev.get("max_dis_power", 0)) if c.bpt else 0
    if sp is not None:
        if sp >= 0:
            p_ch, p_dis = min(p_ch, sp), 0
        else:
            p_ch, p_dis = 0, min(p_dis, -sp)
    if dc:
        if p.ac_w:
            out.append("AC power %r in a DC session" % p.ac_w)
        w = p.voltage * p.current
        if p.current > 0:
            i_max = min(L["dc_max_charge_current"], ev["max_current"])
            if p.current > i_max + TOL:
                out.append("current %r above %r" % (p.current, i_max))
            if w > p_ch * (1 + TOL) + TOL:
                out.append("power %r above %r" % (w, p_ch))
        elif p.current < 0:
            if not discharge_ok:
                out.append("discharge %r A without BPT in the Discharge channel" % p.current)
            i_max = min(L["dc_max_discharge_current"], ev.get("max_dis_current", 0))
            if -p.current > i_max + TOL:
                out.append("discharge current %r above %r" % (p.current, i_max))
            if -w > p_dis * (1 + TOL) + TOL:
                out.append("discharge power %r above %r" % (w, p_dis))
    else:
        if p.current or p.target_v:
            out.append("DC output %r V %r A in an AC session" % (p.target_v, p.current))
        if p.ac_w > p_ch * (1 + TOL) + TOL:
            out.append("AC power %r above %r" % (p.ac_w, p_ch))
        if p.ac_w < 0:
            if not discharge_ok:
                out.append("AC discharge %r W without BPT in the Discharge channel" % p.ac_w)
            if -p.ac_w > p_dis * (1 + TOL) + TOL:
                out.append("AC discharge %r above %r" % (p.ac_w, p_dis))
    return out


class WatchedPower(BatteryPower):
    """The power model, checked after every command and every update."""

    def __init__(self, now=0):
        BatteryPower.__init__(self, now)
        self.secc = None
        self.bad = []
        self.steps = 0
        self.v_prev = 0.0

    def _check(self, what):
        if self.secc is not None:
            self.steps += 1
            for m in violations(self, self.secc):
                self.bad.append("%s at %r: %s" % (what, self.t, m))
        self.v_prev = self.voltage

    def update(self, now):
        # the state held since the last step; no time passed: nothing held
        # (a limit that changes now is judged at the command that follows)
        moved = now > self.t
        BatteryPower.update(self, now)
        if moved:
            self._check("update")

    def contactor(self, closed, now):
        r = BatteryPower.contactor(self, closed, now)
        self._check("contactor")
        return r

    def dc_target(self, voltage, current, now):
        BatteryPower.dc_target(self, voltage, current, now)
        self._check("dc_target")

    def ac_power(self, power_w, now):
        BatteryPower.ac_power(self, power_w, now)
        self._check("ac_power")
