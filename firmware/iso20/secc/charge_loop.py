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
from iso20 import msg

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
    if ch.stop_requested:
        res["EVSEStatus"] = {"NotificationMaxDelay": 0, "EVSENotification": "Terminate"}
    elif ch.pause_requested:
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
    st = {"soc": dp.get("PresentSOC") if dp else None}
    st.update(extra)
    s.events.append(("ev_status", st))
    p = s.charger.present(now)[2]
    charged, discharged = s.charger.meter(now)
    s.events.append(("power", p, charged, discharged))


def handle(s, name, body, now):
    if name.startswith("DC_"):
        return _dc(s, body, now)
    return _ac(s, body, now)


def _dc(s, body, now):
    c = s.ctx
    ch = s.charger
    L = ch.limits
    m = _mode(c, body, _DC_MODES)
    if m is None:
        return s.fail_body("DC_ChargeLoopRes", msg.FAILED_WRONG_CHARGE_PARAMETER)
    key, e = m
    ev_v = V(body["EVPresentVoltage"])
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    stopping = _status(s, res)
    max_p, max_i = L["dc_max_charge_power"], L["dc_max_charge_current"]
    max_dp, max_di = L["dc_max_discharge_power"], L["dc_max_discharge_current"]
    p_lim = i_lim = v_lim = False
    ev = {"present_voltage": ev_v}
    if key.startswith("Scheduled") or key.startswith("BPT_Scheduled"):
        want = V(e["EVTargetCurrent"])
        tv = V(e["EVTargetVoltage"])
        ev["target_current"], ev["target_voltage"] = want, tv
        if ch.schedule:
            max_p = min(max_p, abs(ch.schedule[0][1]))
        if want >= 0:
            i_max = min(max_i, V(e["EVMaximumChargeCurrent"]) if "EVMaximumChargeCurrent" in e else max_i)
            p_max = min(max_p, V(e["EVMaximumChargePower"]) if "EVMaximumChargePower" in e else max_p)
        else:
            if not c.bpt:
                want = 0
            i_max = min(max_di, abs(s.from_wire_discharge(e["EVMaximumDischargeCurrent"]))
                        if "EVMaximumDischargeCurrent" in e else max_di)
            p_max = min(max_dp, abs(s.from_wire_discharge(e["EVMaximumDischargePower"]))
                        if "EVMaximumDischargePower" in e else max_dp)
        i = want
        if abs(i) > i_max:
            i, i_lim = (i_max if i > 0 else -i_max), True
        if ev_v > 1 and abs(i) * ev_v > p_max:
            i, p_lim = (p_max / ev_v if i > 0 else -p_max / ev_v), True
        v_lim = tv > L["dc_max_voltage"]
    else:
        ev_max_ch = V(e["EVMaximumChargePower"])
        ev_max_dis = abs(s.from_wire_discharge(e["EVMaximumDischargePower"])) if "EVMaximumDischargePower" in e else 0
        ev["max_charge_power"], ev["max_discharge_power"] = ev_max_ch, ev_max_dis
        for k in ("EVTargetEnergyRequest", "EVMaximumEnergyRequest", "EVMinimumEnergyRequest"):
            c.ev[k] = V(e[k])
        p = _dynamic_power(s, ev_max_ch, ev_max_dis, max_p, max_dp)
        i = p / ev_v if ev_v > 1 else 0
        i_max = min(max_i, V(e["EVMaximumChargeCurrent"])) if i >= 0 else \
            min(max_di, abs(s.from_wire_discharge(e["EVMaximumDischargeCurrent"])))
        if abs(i) > i_max:
            i, i_lim = (i_max if i > 0 else -i_max), True
    if stopping or not c.energy or c.standby:
        i = 0
    ch.dc_target(ev_v, i, now)
    pv, pi, _ = ch.present(now)
    res["EVSEPresentCurrent"] = R(pi)
    res["EVSEPresentVoltage"] = R(pv)
    res["EVSEPowerLimitAchieved"] = p_lim
    res["EVSECurrentLimitAchieved"] = i_lim
    res["EVSEVoltageLimitAchieved"] = v_lim
    if body["MeterInfoRequested"]:
        _meter(s, res, now)
    lim = {"EVSEMaximumChargePower": R(max_p), "EVSEMaximumChargeCurrent": R(max_i),
           "EVSEMaximumVoltage": R(L["dc_max_voltage"])}
    dyn = not (key.startswith("Scheduled") or key.startswith("BPT_Scheduled"))
    if dyn:
        lim["EVSEMinimumChargePower"] = R(L["dc_min_charge_power"])
    if key.startswith("BPT"):
        lim["EVSEMaximumDischargePower"] = s.to_wire_discharge(max_dp)
        lim["EVSEMaximumDischargeCurrent"] = s.to_wire_discharge(max_di)
        lim["EVSEMinimumVoltage"] = R(L["dc_min_voltage"])
        if dyn:
            lim["EVSEMinimumDischargePower"] = s.to_wire_discharge(L["dc_min_discharge_power"])
    res[key.replace("CLReq", "CLRes")] = lim
    _report(s, body, now, ev)
    return res


def _ac(s, body, now):
    c = s.ctx
    ch = s.charger
    L = ch.limits
    m = _mode(c, body, _AC_MODES)
    if m is None:
        return s.fail_body("AC_ChargeLoopRes", msg.FAILED_WRONG_CHARGE_PARAMETER)
    key, e = m
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    stopping = _status(s, res)
    max_p, max_dp = L["ac_max_charge_power"], L["ac_max_discharge_power"]
    if ch.schedule:
        max_p = min(max_p, abs(ch.schedule[0][1]))
    ev_max_ch = V(e["EVMaximumChargePower"]) if "EVMaximumChargePower" in e else c.ev.get("max_power", max_p)
    ev_max_dis = abs(s.from_wire_discharge(e["EVMaximumDischargePower"])) if "EVMaximumDischargePower" in e \
        else c.ev.get("max_dis_power", 0)
    dyn = key.startswith("Dynamic") or key.startswith("BPT_Dynamic")
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
    ch.ac_power(p, now)
    present = ch.present(now)[2]
    if body["MeterInfoRequested"]:
        _meter(s, res, now)
    res[key.replace("CLReq", "CLRes")] = {"EVSETargetActivePower": R(p), "EVSEPresentActivePower": R(present)}
    _report(s, body, now, {"present_power": V(e["EVPresentActivePower"]), "max_charge_power": ev_max_ch,
                           "max_discharge_power": ev_max_dis})
    return res
