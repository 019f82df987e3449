# The safety envelope of the SECC: a scripted EV that lies about its voltage (20 kV, as
# python-iso15118's simulated EV does), asks for more than its own maxima, asks to discharge
# where it may not and sends extreme RationalNumbers.  The power model is watched at every call
# and every update (host/harness/watched_power.py): its output never leaves what both sides agreed.
from micro15118.iso20 import msg
from micro15118.iso20.envelope import Envelope, num

from host.harness.scripted_ev import (R, V, ScriptedEv, ac_prepare, cpd, loop_req, power_start, schedule_req,
                                      to_selection)
from host.harness.watched_power import WatchedPower


def watched(config=None):
    ev = ScriptedEv(config, power=WatchedPower(0))
    ev.power.secc = ev.secc
    return ev


def clean(ev, min_steps=10):
    assert ev.power.bad == [], ev.power.bad[:5]
    assert ev.power.steps >= min_steps, ev.power.steps
    assert ev.secc.errors == 0, getattr(ev.secc, "last_error", None)


def cpd_400v(service):
    """ChargeParameterDiscovery of an EV whose maximum is 400 V."""
    name, body = cpd(service)
    for m in body.values():
        if "EVMaximumVoltage" in m:
            m["EVMaximumVoltage"] = R(400)
    return name, body


def dc_start(ev, service, mode, channel=None, ev_v=20000, target=20000):
    """To the DC charge loop with a 400 V EV that reports and asks for 20 kV in pre-charge."""
    to_selection(ev, service, mode)
    ev.ok(*cpd_400v(service))
    while True:
        b = ev.ok("ScheduleExchangeReq", schedule_req(mode))
        if b["EVSEProcessing"] == msg.FINISHED:
            break
    while ev.ok("DC_CableCheckReq")["EVSEProcessing"] != msg.FINISHED:
        ev.wait(250)
    for _ in range(12):
        b = ev.ok("DC_PreChargeReq", {"EVProcessing": msg.ONGOING, "EVPresentVoltage": R(ev_v),
                                      "EVTargetVoltage": R(target)})
        assert V(b["EVSEPresentVoltage"]) <= 400
        ev.wait(250)
    ev.ok("DC_PreChargeReq", {"EVProcessing": msg.FINISHED, "EVPresentVoltage": R(ev_v),
                              "EVTargetVoltage": R(target)})
    assert ev.power.target_v == 400 and ev.power.voltage == 400
    if target > 400:
        assert any(e[:2] == ("warning", "precharge_target_clamped") for e in ev.secc.events)
    power_start(ev, mode, channel)


def dc_loop(ev, service, mode, ev_v=20000, **changes):
    """One DC loop request; `changes` replace fields of its control-mode element."""
    name, body = loop_req(service, mode, voltage=ev_v)
    for k in body:
        if k.endswith("CLReqControlMode"):
            for f, x in changes.items():
                if x is None:
                    body[k].pop(f, None)
                else:
                    body[k][f] = x
    ev.wait(250)
    return ev.req(name, body)[1]


# --- tests ----------------------------------------------------------------------------------

def test_dc_scheduled_20kv_ev_never_drives_the_output_past_its_limits():
    ev = watched()
    dc_start(ev, msg.SERVICE_DC, msg.SCHEDULED)
    # the EV reports 20 kV and asks for 200 V: the setpoint is its target, not its report
    b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetVoltage=R(200), EVTargetCurrent=R(50))
    assert b["ResponseCode"] == msg.OK
    assert ev.power.target_v == 200 and ev.power.current == 50
    assert not b["EVSEVoltageLimitAchieved"]
    assert [e for e in ev.secc.events if e[:2] == ("warning", "ev_present_voltage_implausible")]
    # a target above the EV's own 400 V: clamped, EVSEVoltageLimitAchieved
    for _ in range(4):
        b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetVoltage=R(900), EVTargetCurrent=R(50))
        assert b["EVSEVoltageLimitAchieved"] and ev.power.target_v == 400
    # more current than its own maximum (CPD 400 A, this request 150 A): clamped
    b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetCurrent=R(1000), EVMaximumChargeCurrent=R(150))
    assert b["EVSECurrentLimitAchieved"] and V(b["EVSEPresentCurrent"]) == 150
    # more power than its own maximum: 30 kW at our 400 V
    b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetCurrent=R(200), EVMaximumChargePower=R(30000))
    assert b["EVSEPowerLimitAchieved"] and V(b["EVSEPresentCurrent"]) == 75
    # the schedule and the charger's limits count too
    ev.charger.set_limits(dc_max_charge_current=60)
    b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetCurrent=R(200))
    assert b["EVSECurrentLimitAchieved"] and V(b["EVSEPresentCurrent"]) == 60
    ev.charger.set_schedule([(3600, 8000)])
    b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetCurrent=R(200))
    assert b["EVSEPowerLimitAchieved"] and V(b["EVSEPresentCurrent"]) == 20
    # a discharge request on a charge-only service: FAILED_WrongChargeParameter, power off
    b = dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, EVTargetCurrent=R(-30))
    assert b["ResponseCode"] == msg.FAILED_WRONG_CHARGE_PARAMETER
    assert not ev.power.closed and ev.power.current == 0
    ev.wait(6000)
    clean(ev, 50)


def test_dc_dynamic_setpoint_is_the_ev_maximum_voltage_clamped():
    ev = watched()
    dc_start(ev, msg.SERVICE_DC, msg.DYNAMIC)
    # the loop's maximum voltage (20 kV) is clamped to the CPD's 400 V
    for _ in range(3):
        b = dc_loop(ev, msg.SERVICE_DC, msg.DYNAMIC, EVMaximumVoltage=R(20000))
        assert b["ResponseCode"] == msg.OK and ev.power.target_v == 400
        assert b["EVSEVoltageLimitAchieved"]
    # 50 kW at our measured 400 V, not at the EV's 20 kV (that would be 2.5 A)
    assert V(b["EVSEPresentCurrent"]) == 125
    # a lower maximum voltage from the loop lowers the ceiling
    b = dc_loop(ev, msg.SERVICE_DC, msg.DYNAMIC, EVMaximumVoltage=R(380))
    assert ev.power.target_v == 380
    # absurd limits: the smaller side wins
    b = dc_loop(ev, msg.SERVICE_DC, msg.DYNAMIC, EVMaximumChargePower={"Value": 32767, "Exponent": 127},
                EVMaximumChargeCurrent={"Value": 32767, "Exponent": 127})
    assert V(b["EVSEPresentCurrent"]) <= 400 and ev.power.current * ev.power.voltage <= 150000
    b = dc_loop(ev, msg.SERVICE_DC, msg.DYNAMIC, EVMaximumChargeCurrent=R(10))
    assert b["EVSECurrentLimitAchieved"] and V(b["EVSEPresentCurrent"]) == 10
    # a discharge setpoint without BPT: nothing
    ev.charger.set_setpoint(-20000)
    b = dc_loop(ev, msg.SERVICE_DC, msg.DYNAMIC)
    assert V(b["EVSEPresentCurrent"]) == 0
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STOP})
    assert ev.power.current == 0 and not ev.power.closed and ev.charger.envelope.ready is False
    clean(ev, 40)


def test_dc_bpt_discharge_only_in_the_discharge_channel():
    # scheduled, Charge channel: a discharge request is refused
    ev = watched()
    dc_start(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED, channel="Charge")
    b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED, EVTargetCurrent=R(50))
    assert V(b["EVSEPresentCurrent"]) == 50
    b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED, EVTargetCurrent=R(-20))
    assert b["ResponseCode"] == msg.FAILED_WRONG_CHARGE_PARAMETER and ev.power.current == 0
    clean(ev)
    # scheduled, Discharge channel: within the EV's 30 A / 11 kW
    ev = watched()
    dc_start(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED, channel="Discharge")
    b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED, EVTargetCurrent=R(-1000))
    assert b["EVSECurrentLimitAchieved"] and V(b["EVSEPresentCurrent"]) >= -30
    b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED, EVTargetCurrent=R(-1000),
                EVMaximumDischargePower=R(4000))
    assert b["EVSEPowerLimitAchieved"] and V(b["EVSEPresentCurrent"]) == -10
    clean(ev)
    # dynamic: the charger's discharge setpoint does nothing in the Charge channel
    ev = watched()
    dc_start(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, channel="Charge")
    ev.charger.set_setpoint(-8000)
    for _ in range(3):
        b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC)
        assert V(b["EVSEPresentCurrent"]) == 0
    power_start(ev, msg.DYNAMIC, "Discharge")
    for _ in range(3):
        b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC)
    assert V(b["EVSEPresentCurrent"]) == -20
    ev.charger.set_setpoint(-100000)
    b = dc_loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, EVMaximumDischargeCurrent=R(5))
    assert V(b["EVSEPresentCurrent"]) == -5 and b["EVSECurrentLimitAchieved"]
    # standby-like hold: schedule renegotiation cuts the current, keeps the voltage
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.SCHEDULE_RENEGOTIATION})
    assert ev.power.current == 0 and ev.power.closed
    clean(ev)


def _ac_loop(ev, service, mode, **changes):
    name, body = loop_req(service, mode)
    for k in body:
        if k.endswith("CLReqControlMode"):
            for f, x in changes.items():
                body[k][f] = x
    ev.wait(250)
    return ev.req(name, body)[1]


def _target(b):
    for k in b:
        if k.endswith("CLResControlMode"):
            return V(b[k]["EVSETargetActivePower"])


def test_ac_power_within_both_sides_and_the_channel():
    huge = {"Value": 32767, "Exponent": 127}
    for mode in (msg.SCHEDULED, msg.DYNAMIC):
        ev = watched()
        to_selection(ev, msg.SERVICE_AC, mode)
        ac_prepare(ev, msg.SERVICE_AC, mode)
        b = _ac_loop(ev, msg.SERVICE_AC, mode, EVMaximumChargePower=huge)
        assert _target(b) == 11000 and ev.power.ac_w == 11000        # the EV's CPD maximum
        b = _ac_loop(ev, msg.SERVICE_AC, mode, EVMaximumChargePower=R(4000))
        assert _target(b) == 4000 and ev.power.ac_w == 4000
        b = _ac_loop(ev, msg.SERVICE_AC, mode, EVMaximumChargePower={"Value": -32768, "Exponent": 127})
        assert _target(b) == 0 and ev.power.ac_w == 0
        ev.charger.set_setpoint(-5000)                                # no BPT: no discharge
        b = _ac_loop(ev, msg.SERVICE_AC, mode)
        assert ev.power.ac_w == 0
        clean(ev, 5)
    for mode in (msg.SCHEDULED, msg.DYNAMIC):
        ev = watched()
        to_selection(ev, msg.SERVICE_AC_BPT, mode)
        ac_prepare(ev, msg.SERVICE_AC_BPT, mode, channel="Charge")
        ev.charger.set_setpoint(-5000)
        b = _ac_loop(ev, msg.SERVICE_AC_BPT, mode)
        assert ev.power.ac_w == 0                                     # Charge channel
        power_start(ev, mode, "Discharge")
        ev.charger.set_setpoint(None)
        b = _ac_loop(ev, msg.SERVICE_AC_BPT, mode, EVMaximumDischargePower=huge)
        assert _target(b) == -7000 and ev.power.ac_w == -7000         # the EV's CPD maximum
        ev.charger.set_setpoint(-3000)
        b = _ac_loop(ev, msg.SERVICE_AC_BPT, mode)
        assert ev.power.ac_w == -3000
        clean(ev, 5)


# --- extreme RationalNumbers ------------------------------------------------------------------

_VALUES = (-32768, -32767, -1, 0, 1, 7, 400, 32767)
_EXPS = (-128, -127, -3, 0, 1, 3, 126, 127)


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def _extreme(rnd):
    return {"Value": _VALUES[rnd.next(len(_VALUES))], "Exponent": _EXPS[rnd.next(len(_EXPS))]}


def _mangle(rnd, d):
    for k in list(d):
        x = d[k]
        if isinstance(x, dict) and "Exponent" in x:
            if rnd.next(2):
                d[k] = _extreme(rnd)
        elif isinstance(x, dict):
            _mangle(rnd, x)


def _fresh(service, mode, channel, rnd):
    ev = watched()
    if service in msg.DC_SERVICES:
        name, body = cpd_400v(service)
        to_selection(ev, service, mode)
        ev.ok(name, body)
        while ev.ok("ScheduleExchangeReq", schedule_req(mode))["EVSEProcessing"] != msg.FINISHED:
            pass
        while ev.ok("DC_CableCheckReq")["EVSEProcessing"] != msg.FINISHED:
            ev.wait(250)
        for _ in range(3):
            pre = {"EVProcessing": msg.ONGOING, "EVPresentVoltage": _extreme(rnd), "EVTargetVoltage": _extreme(rnd)}
            n, b = ev.req("DC_PreChargeReq", pre)
            if b["ResponseCode"] != msg.OK:
                return ev, False
            ev.wait(250)
        ev.ok("DC_PreChargeReq", {"EVProcessing": msg.FINISHED, "EVPresentVoltage": R(400),
                                  "EVTargetVoltage": R(400)})
        power_start(ev, mode, channel)
    else:
        to_selection(ev, service, mode)
        ac_prepare(ev, service, mode, channel)
    return ev, True


def test_extreme_rational_numbers_never_raise_nor_leave_the_envelope():
    rnd = Lcg(15118)
    cases = ((msg.SERVICE_DC, msg.SCHEDULED, None), (msg.SERVICE_DC, msg.DYNAMIC, None),
             (msg.SERVICE_DC_BPT, msg.SCHEDULED, "Discharge"), (msg.SERVICE_DC_BPT, msg.DYNAMIC, "Charge"),
             (msg.SERVICE_DC_BPT, msg.DYNAMIC, "Discharge"), (msg.SERVICE_AC, msg.SCHEDULED, None),
             (msg.SERVICE_AC, msg.DYNAMIC, None), (msg.SERVICE_AC_BPT, msg.SCHEDULED, "Discharge"),
             (msg.SERVICE_AC_BPT, msg.DYNAMIC, "Discharge"), (msg.SERVICE_AC_BPT, msg.DYNAMIC, "Charge"))
    answered = failed = 0
    for service, mode, channel in cases:
        ev, ok = _fresh(service, mode, channel, rnd)
        for _ in range(40):
            if not ok:
                clean(ev, 1)
                ev, ok = _fresh(service, mode, channel, rnd)
                continue
            if rnd.next(3) == 0:
                ev.charger.set_setpoint((None, 5000, -5000, 0)[rnd.next(4)])
            name, body = loop_req(service, mode, voltage=20000)
            _mangle(rnd, body)
            ev.wait(250)
            try:
                n, b = ev.req(name, body)
            except ValueError:          # our encoder refuses it: not an input
                continue
            answered += 1
            if b["ResponseCode"] != msg.OK:
                failed += 1
                assert not ev.power.closed and ev.power.current == 0 and ev.power.ac_w == 0
                ok = False
        clean(ev, 1)
    assert answered > 200 and failed > 0, (answered, failed)


# --- the envelope and the charger seam on their own --------------------------------------------

def test_nothing_before_the_session_sets_the_envelope():
    from micro15118.iso20.charger import Charger
    assert Charger(WatchedPower(0), limits={"dc_max_voltage": 500}).limits["dc_max_voltage"] == 500
    ev = watched()
    to_selection(ev, msg.SERVICE_DC, msg.SCHEDULED)
    ch = ev.charger
    assert ch.dc_target(500, 100, ev.t) == (0, 0)
    assert ch.contactor(True, ev.t) is False and not ev.power.closed
    assert ch.ac_power(5000, ev.t) == 0
    assert ev.power.target_v == 0 and ev.power.current == 0 and ev.power.ac_w == 0
    ev.ok(*cpd_400v(msg.SERVICE_DC))
    # set, but no current before PowerDelivery Start
    assert ch.dc_target(500, 100, ev.t) == (400, 0)
    assert "voltage" in ch.envelope.last and "current" in ch.envelope.last
    clean(ev, 3)


def test_emergency_stop_and_session_end_close_the_envelope():
    ev = watched()
    dc_start(ev, msg.SERVICE_DC, msg.SCHEDULED, ev_v=400, target=400)
    dc_loop(ev, msg.SERVICE_DC, msg.SCHEDULED, ev_v=400)
    assert ev.power.current == 100
    ev.charger.emergency_stop(ev.t)
    assert not ev.charger.envelope.ready
    assert ev.charger.dc_target(400, 100, ev.t) == (0, 0) and ev.power.current == 0
    clean(ev)


def test_envelope_arithmetic():
    L = {"dc_max_voltage": 920, "dc_max_charge_current": 400, "dc_max_charge_power": 150000,
         "dc_max_discharge_current": 125, "dc_max_discharge_power": 50000,
         "ac_max_charge_power": 22000, "ac_max_discharge_power": 11000}
    e = Envelope()
    assert e.dc(400, 10, 400, L) == (0, 0)
    e.set_ev(True, True, v=450, i=200, p=50000, di=30, dp=11000)
    e.start(discharge=False)
    # before current flows the output may still rise to 450 V: 50 kW at 450 V
    assert e.dc(1e131, 1e131, 400, L, flowing=False) == (450, 50000 / 450)
    # flowing at a steady 400 V: 50 kW at 400 V
    assert e.dc(1e131, 1e131, 400, L, now=100) == (450, 125)
    # flowing but the output moves: the setpoint counts, until it held 100 ms
    assert e.dc(450, 1e131, 380, L, now=200) == (450, 50000 / 450)
    assert e.dc(450, 1e131, 380, L, now=250) == (450, 50000 / 450)
    assert e.dc(450, 1e131, 380.5, L, now=300)[1] == 50000 / 380.5
    assert e.dc(400, -10, 400, L) == (400, 0) and "discharge" in e.last
    nan = float("nan")
    inf = float("inf")
    assert e.dc(nan, nan, nan, L) == (0, 0)
    assert e.dc(inf, -inf, 400, L) == (0, 0)
    assert e.dc(400, 100, 0, L) == (400, 100)       # at ~0 V: the 400 V it heads for counts
    assert e.dc(400, 200, 0, L)[1] == 125
    e.dc(400, 0, 400, L, now=1000)
    e.start(discharge=True)
    assert e.dc(400, -1000, 400, L, now=2000) == (400, -27.5)
    e.set_loop(v=300, i=nan, dp=-5)
    assert e.dc(400, -1000, 300, L) == (300, 0) and e.dc(400, 5, 300, L) == (300, 0)
    e.set_loop()
    e.dc(400, 0, 400, L, now=3000)
    assert e.dc(400, 100, 400, L, setpoint=8000, now=3100) == (400, 20)
    assert e.dc(400, 100, 400, L, schedule_w=-4000, now=3100) == (400, 10)
    e.hold()
    assert e.dc(400, 100, 400, L) == (400, 0)
    e.close()
    assert e.dc(400, 0, 400, L) == (0, 0)
    a = Envelope()
    a.set_ev(False, False, p=11000, dp=7000)
    a.start(discharge=True)
    assert a.ac(1e9, L) == 11000 and a.ac(-1e9, L) == 0 and a.ac(nan, L) == 0
    assert num("x") == 0 and num(None) == 0 and num(3) == 3.0
