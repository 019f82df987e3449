"""AC_/DC_ChargeLoop: set the power electronics each message and report
what the meter and the output measure.

Scheduled DC: the EV's target current, limited by the charger's and the
EV's limits (and the schedule).  Dynamic: the charger decides: its
setpoint (Charger.set_setpoint, + charge / - discharge) or, with none, the
most the limits allow in the direction of the BPT channel.  Energy flows
only between PowerDelivery Start and Stop.  The charger's pause/stop
requests go out as EVSEStatus (Pause with NotificationMaxDelay 60 s in
Dynamic mode and 0 in Scheduled, Terminate with 0; V2G20-1850) and the
power goes to zero at once."""
from .. import msg

R = msg.rational
V = msg.value

_DC_MODES = ("Scheduled_DC_CLReqControlMode", "Dynamic_DC_CLReqControlMode",
             "BPT_Scheduled_DC_CLReqControlMode", "BPT_Dynamic_DC_CLReqControlMode")
_AC_MODES = ("Scheduled_AC_CLReqControlMode", "Dynamic_AC_CLReqControlMode",
             "BPT_Scheduled_AC_CLReqControlMode", "BPT_Dynamic_AC_CLReqControlMode")


def _mode(c, body, names):
    """(mode key, element) if it fits the selected service, else None."""
    for i, k in enumerate(names):
        if k in body:
            scheduled = i % 2 == 0
            bpt = i >= 2
            if scheduled != (c.control_mode == msg.SCHEDULED) or (bpt and not c.bpt):
                return None
            return k, body[k]
    return None


def _clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _status(s, res):
    ch = s.charger
    if ch.stops > s.ctx.stops_seen:
        res["EVSEStatus"] = {"NotificationMaxDelay": 0, "EVSENotification": "Terminate"}
    elif ch.pauses > s.ctx.pauses_seen:
        delay = 60 if s.ctx.control_mode == msg.DYNAMIC else 0
        res["EVSEStatus"] = {"NotificationMaxDelay": delay, "EVSENotification": "Pause"}
    else:
        return False
    return True


def _dynamic_power(s, ev_max_ch, ev_max_dis, evse_max_ch, evse_max_dis):
    c = s.ctx
    hi = min(ev_max_ch, evse_max_ch)
    if c.ev.get("EVMaximumEnergyRequest", 1) <= 0:
        hi = 0
    lo = -min(ev_max_dis, evse_max_dis) if c.bpt else 0
    sp = s.charger.setpoint
    if sp is None:
        sp = lo if (c.bpt and c.channel == "Discharge") else hi
    return _clamp(sp, lo, hi)


def _meter(s, res, now):
    ch = s.charger
    charged, discharged = ch.meter(now)
    mi = {"MeterID": ch.meter_id, "ChargedEnergyReadingWh": int(charged)}
    if s.ctx.bpt:
        mi["BPT_DischargedEnergyReadingWh"] = int(discharged)
    mi["MeterTimestamp"] = int(s.clock_s())
    res["MeterInfo"] = mi


def _report(s, body, now, extra):
    dp = body.get("DisplayParameters")
    soc = dp.get("PresentSOC") if dp else None
    if soc is not None and not 0 <= soc <= 100:
        # a report, checked, never acted on
        s.events.append(("warning", "ev_soc_implausible", soc))
        soc = None
    st = {"soc": soc}
    st.update(extra)
    s.events.append(("ev_status", st))
    p = s.charger.present(now)[2]
    charged, discharged = s.charger.meter(now)
    s.events.append(("power", p, charged, discharged))


def handle(s, name, body, now):
    # the loop stays in ChargeLoop; PowerDeliveryReq leaves it
    dc = name.startswith("DC_")
    m = _mode(s.ctx, body, _DC_MODES if dc else _AC_MODES)
    if m is None:
        return s.fail_body(name[:-3] + "Res", msg.FAILED_WRONG_CHARGE_PARAMETER), None
    return (_dc if dc else _ac)(s, body, now, m[0], m[1]), None


def _opt(e, k):
    return V(e[k]) if k in e else None


def _opt_dis(s, e, k):
    return abs(s.from_wire_discharge(e[k])) if k in e else None


def _check_ev_voltage(s, ev_v, v_meas):
    """EVPresentVoltage is a report, never a setpoint: note (once per
    episode) one that is negative, above the EV's own maximum or far from
    what we measure at our output."""
    c = s.ctx
    v_max = s.charger.envelope.ev_limit("v")
    bad = ev_v < 0 or ev_v > v_max * 1.05 + 5 or \
        (c.contactor and v_meas > 50 and abs(ev_v - v_meas) > max(50, 0.2 * v_meas))
    if bad and not c.ev_v_bad:
        s.events.append(("warning", "ev_present_voltage_implausible", ev_v, v_meas))
    c.ev_v_bad = bad


def _dc(s, body, now, key, e):
    c = s.ctx
    ch = s.charger
    env = ch.envelope
    L = ch.limits
    scheduled = key.startswith("Scheduled") or key.startswith("BPT_Scheduled")
    discharge_ok = c.bpt and c.channel == "Discharge"
    ev_v = V(body["EVPresentVoltage"])
    # our own measurement, not the EV's report, multiplies the current
    v_meas = ch.present(now)[0]
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    stopping = _status(s, res)
    max_p, max_i = L["dc_max_charge_power"], L["dc_max_charge_current"]
    max_dp, max_di = L["dc_max_discharge_power"], L["dc_max_discharge_current"]
    ev = {"present_voltage": ev_v}
    if scheduled:
        want = V(e["EVTargetCurrent"])
        tv = V(e["EVTargetVoltage"])
        ev["target_current"], ev["target_voltage"] = want, tv
        # A discharge request on a charge-only service or in the Charge
        # channel, or a negative target voltage, asks for something the
        # session never agreed: its parameters are wrong for the selected
        # service (as a negative pre-charge target), so the answer is
        # FAILED_WrongChargeParameter (the session ends, power off), not a
        # silent 0 A that leaves the EV believing it is being served.
        if (want < 0 and not discharge_ok) or tv < 0:
            return s.fail_body("DC_ChargeLoopRes", msg.FAILED_WRONG_CHARGE_PARAMETER)
        env.set_loop(v=_opt(e, "EVMaximumVoltage"), i=_opt(e, "EVMaximumChargeCurrent"),
                     p=_opt(e, "EVMaximumChargePower"), di=_opt_dis(s, e, "EVMaximumDischargeCurrent"),
                     dp=_opt_dis(s, e, "EVMaximumDischargePower"))
        if ch.schedule:
            max_p = min(max_p, abs(ch.schedule[0][1]))
        # the EV's target voltage is the ceiling of the current regulation
        v_set, i = tv, want
    else:
        ev_max_ch = V(e["EVMaximumChargePower"])
        ev_max_dis = abs(s.from_wire_discharge(e["EVMaximumDischargePower"])) if "EVMaximumDischargePower" in e else 0
        ev["max_charge_power"], ev["max_discharge_power"] = ev_max_ch, ev_max_dis
        for k in ("EVTargetEnergyRequest", "EVMaximumEnergyRequest", "EVMinimumEnergyRequest"):
            c.ev[k] = V(e[k])
        ev_max_v = V(e["EVMaximumVoltage"])
        env.set_loop(v=ev_max_v, i=V(e["EVMaximumChargeCurrent"]), p=ev_max_ch,
                     di=_opt_dis(s, e, "EVMaximumDischargeCurrent"), dp=ev_max_dis if c.bpt else None)
        p = _dynamic_power(s, ev_max_ch, ev_max_dis, max_p, max_dp)
        # power -> current at our measured output voltage; at ~0 V the
        # envelope's maximum voltage gives the smallest current
        v_ref = v_meas if v_meas > 1 else env.bounds(L)["v"]
        i = p / v_ref if v_ref > 1 else 0
        # dynamic mode has no target voltage: the converter regulates the
        # current and the EV's maximum voltage is the ceiling
        v_set = ev_max_v
    _check_ev_voltage(s, ev_v, v_meas)
    if stopping or not c.energy or c.standby:
        i = 0
        v_set = min(v_set, v_meas)      # no current: hold the output
    v_out, i_out = ch.dc_target(v_set, i, now)
    last = env.last
    pv, pi, _ = ch.present(now)
    res["EVSEPresentCurrent"] = R(pi)
    res["EVSEPresentVoltage"] = R(pv)
    res["EVSEPowerLimitAchieved"] = "power" in last
    res["EVSECurrentLimitAchieved"] = "current" in last or "discharge" in last
    res["EVSEVoltageLimitAchieved"] = "voltage" in last
    if body["MeterInfoRequested"]:
        _meter(s, res, now)
    lim = {"EVSEMaximumChargePower": R(max_p), "EVSEMaximumChargeCurrent": R(max_i),
           "EVSEMaximumVoltage": R(L["dc_max_voltage"])}
    if not scheduled:
        lim["EVSEMinimumChargePower"] = R(L["dc_min_charge_power"])
    if key.startswith("BPT"):
        lim["EVSEMaximumDischargePower"] = s.to_wire_discharge(max_dp)
        lim["EVSEMaximumDischargeCurrent"] = s.to_wire_discharge(max_di)
        lim["EVSEMinimumVoltage"] = R(L["dc_min_voltage"])
        if not scheduled:
            lim["EVSEMinimumDischargePower"] = s.to_wire_discharge(L["dc_min_discharge_power"])
    res[key.replace("CLReq", "CLRes")] = lim
    _report(s, body, now, ev)
    return res


def _ac(s, body, now, key, e):
    c = s.ctx
    ch = s.charger
    L = ch.limits
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    stopping = _status(s, res)
    max_p, max_dp = L["ac_max_charge_power"], L["ac_max_discharge_power"]
    if ch.schedule:
        max_p = min(max_p, abs(ch.schedule[0][1]))
    ev_max_ch = V(e["EVMaximumChargePower"]) if "EVMaximumChargePower" in e else c.ev.get("max_power", max_p)
    ev_max_dis = abs(s.from_wire_discharge(e["EVMaximumDischargePower"])) if "EVMaximumDischargePower" in e \
        else c.ev.get("max_dis_power", 0)
    dyn = key.startswith("Dynamic") or key.startswith("BPT_Dynamic")
    ch.envelope.set_loop(p=V(e["EVMaximumChargePower"]) if "EVMaximumChargePower" in e else None,
                         dp=_opt_dis(s, e, "EVMaximumDischargePower"))
    if dyn:
        for k in ("EVTargetEnergyRequest", "EVMaximumEnergyRequest", "EVMinimumEnergyRequest"):
            c.ev[k] = V(e[k])
        p = _dynamic_power(s, ev_max_ch, ev_max_dis, max_p, max_dp)
    elif c.bpt and c.channel == "Discharge":
        p = -min(ev_max_dis, max_dp)
    else:
        p = min(ev_max_ch, max_p)
    if stopping or not c.energy or c.standby:
        p = 0
    # the envelope has the last word; the EV is told what we command
    p = ch.ac_power(p, now)
    present = ch.present(now)[2]
    if body["MeterInfoRequested"]:
        _meter(s, res, now)
    res[key.replace("CLReq", "CLRes")] = {"EVSETargetActivePower": R(p), "EVSEPresentActivePower": R(present)}
    _report(s, body, now, {"present_power": V(e["EVPresentActivePower"]), "max_charge_power": ev_max_ch,
                           "max_discharge_power": ev_max_dis})
    return res
