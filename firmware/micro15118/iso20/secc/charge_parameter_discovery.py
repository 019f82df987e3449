"""AC_/DC_ChargeParameterDiscovery: take the EV's limits, answer the
charger's (Charger.limits).  A BPT service needs the BPT_ form and a plain
service the plain one; limits that cannot meet give
FAILED_WrongChargeParameter (V2G20-1619 AC, V2G20-2272 DC)."""
from .. import msg

R = msg.rational
V = msg.value


def handle(s, name, body, now):
    res = _dc(s, body) if name.startswith("DC_") else _ac(s, body)
    return res, None if msg.failed(res["ResponseCode"]) else "limits"


def _wrong(s, res_name):
    return s.fail_body(res_name, msg.FAILED_WRONG_CHARGE_PARAMETER)


def _dc(s, body):
    bpt = "BPT_DC_CPDReqEnergyTransferMode" in body
    m = body.get("BPT_DC_CPDReqEnergyTransferMode") or body.get("DC_CPDReqEnergyTransferMode")
    if m is None or bpt != s.ctx.bpt:
        return _wrong(s, "DC_ChargeParameterDiscoveryRes")
    ev = {"max_power": V(m["EVMaximumChargePower"]), "min_power": V(m["EVMinimumChargePower"]),
          "max_current": V(m["EVMaximumChargeCurrent"]), "min_current": V(m["EVMinimumChargeCurrent"]),
          "max_voltage": V(m["EVMaximumVoltage"]), "min_voltage": V(m["EVMinimumVoltage"])}
    L = s.charger.limits
    bad = (ev["min_power"] < 0 or ev["max_power"] < ev["min_power"] or ev["min_current"] < 0
           or ev["max_current"] < ev["min_current"] or ev["min_voltage"] < 0
           or ev["max_voltage"] < ev["min_voltage"]
           or ev["max_voltage"] < L["dc_min_voltage"] or ev["min_voltage"] > L["dc_max_voltage"]
           or ev["min_power"] > L["dc_max_charge_power"] or ev["min_current"] > L["dc_max_charge_current"])
    if bpt:
        for k, f in (("max_dis_power", "EVMaximumDischargePower"), ("min_dis_power", "EVMinimumDischargePower"),
                     ("max_dis_current", "EVMaximumDischargeCurrent"),
                     ("min_dis_current", "EVMinimumDischargeCurrent")):
            ev[k] = s.from_wire_discharge(m[f])
        bad = bad or ev["min_dis_power"] < 0 or ev["max_dis_power"] < ev["min_dis_power"] \
            or ev["min_dis_current"] < 0 or ev["max_dis_current"] < ev["min_dis_current"]
    if bad:
        return _wrong(s, "DC_ChargeParameterDiscoveryRes")
    s.ctx.ev = ev
    # the safety envelope from here on: the EV's limits (the charger's are
    # read at every command); no current before PowerDelivery Start
    s.charger.envelope.set_ev(True, bpt, v=ev["max_voltage"], i=ev["max_current"], p=ev["max_power"],
                              di=ev.get("max_dis_current", 0), dp=ev.get("max_dis_power", 0))
    mode = {"EVSEMaximumChargePower": R(L["dc_max_charge_power"]),
            "EVSEMinimumChargePower": R(L["dc_min_charge_power"]),
            "EVSEMaximumChargeCurrent": R(L["dc_max_charge_current"]),
            "EVSEMinimumChargeCurrent": R(L["dc_min_charge_current"]),
            "EVSEMaximumVoltage": R(L["dc_max_voltage"]),
            "EVSEMinimumVoltage": R(L["dc_min_voltage"])}
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    if bpt:
        mode["EVSEMaximumDischargePower"] = s.to_wire_discharge(L["dc_max_discharge_power"])
        mode["EVSEMinimumDischargePower"] = s.to_wire_discharge(L["dc_min_discharge_power"])
        mode["EVSEMaximumDischargeCurrent"] = s.to_wire_discharge(L["dc_max_discharge_current"])
        mode["EVSEMinimumDischargeCurrent"] = s.to_wire_discharge(L["dc_min_discharge_current"])
        res["BPT_DC_CPDResEnergyTransferMode"] = mode
    else:
        res["DC_CPDResEnergyTransferMode"] = mode
    return res


def _ac(s, body):
    bpt = "BPT_AC_CPDReqEnergyTransferMode" in body
    m = body.get("BPT_AC_CPDReqEnergyTransferMode") or body.get("AC_CPDReqEnergyTransferMode")
    if m is None or bpt != s.ctx.bpt:
        return _wrong(s, "AC_ChargeParameterDiscoveryRes")
    ev = {"max_power": V(m["EVMaximumChargePower"]), "min_power": V(m["EVMinimumChargePower"])}
    L = s.charger.limits
    bad = ev["min_power"] < 0 or ev["max_power"] < ev["min_power"] or ev["min_power"] > L["ac_max_charge_power"]
    if bpt:
        ev["max_dis_power"] = s.from_wire_discharge(m["EVMaximumDischargePower"])
        ev["min_dis_power"] = s.from_wire_discharge(m["EVMinimumDischargePower"])
        bad = bad or ev["min_dis_power"] < 0 or ev["max_dis_power"] < ev["min_dis_power"]
    if bad:
        return _wrong(s, "AC_ChargeParameterDiscoveryRes")
    s.ctx.ev = ev
    s.charger.envelope.set_ev(False, bpt, p=ev["max_power"], dp=ev.get("max_dis_power", 0))
    mode = {"EVSEMaximumChargePower": R(L["ac_max_charge_power"]),
            "EVSEMinimumChargePower": R(L["ac_min_charge_power"]),
            "EVSENominalFrequency": R(L["ac_frequency"])}
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    if bpt:
        mode["EVSEMaximumDischargePower"] = s.to_wire_discharge(L["ac_max_discharge_power"])
        mode["EVSEMinimumDischargePower"] = s.to_wire_discharge(L["ac_min_discharge_power"])
        res["BPT_AC_CPDResEnergyTransferMode"] = mode
    else:
        res["AC_CPDResEnergyTransferMode"] = mode
    return res
