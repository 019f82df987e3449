"""AC_/DC_ChargeParameterDiscovery: take the EV's limits, answer the
charger's (Charger.limits).  A BPT service needs the BPT_ form and a plain
service the plain one; limits that cannot meet give
FAILED_WrongChargeParameter (V2G20-1619 AC, V2G20-2272 DC)."""
from .. import msg

R = msg.rational
V = msg.value


# (ctx.ev key, the EV's field) by family, DC first; the discharge fields
# of a BPT service carry the configured sign on the wire
_EV = {
    True: (("max_power", "EVMaximumChargePower"), ("min_power", "EVMinimumChargePower"),
           ("max_current", "EVMaximumChargeCurrent"), ("min_current", "EVMinimumChargeCurrent"),
           ("max_voltage", "EVMaximumVoltage"), ("min_voltage", "EVMinimumVoltage")),
    False: (("max_power", "EVMaximumChargePower"), ("min_power", "EVMinimumChargePower")),
}
_EV_DISCHARGE = {
    True: (("max_dis_power", "EVMaximumDischargePower"), ("min_dis_power", "EVMinimumDischargePower"),
           ("max_dis_current", "EVMaximumDischargeCurrent"),
           ("min_dis_current", "EVMinimumDischargeCurrent")),
    False: (("max_dis_power", "EVMaximumDischargePower"), ("min_dis_power", "EVMinimumDischargePower")),
}
# (our field, Charger.limits key) by family
_EVSE = {
    True: (("EVSEMaximumChargePower", "dc_max_charge_power"),
           ("EVSEMinimumChargePower", "dc_min_charge_power"),
           ("EVSEMaximumChargeCurrent", "dc_max_charge_current"),
           ("EVSEMinimumChargeCurrent", "dc_min_charge_current"),
           ("EVSEMaximumVoltage", "dc_max_voltage"), ("EVSEMinimumVoltage", "dc_min_voltage")),
    False: (("EVSEMaximumChargePower", "ac_max_charge_power"),
            ("EVSEMinimumChargePower", "ac_min_charge_power"),
            ("EVSENominalFrequency", "ac_frequency")),
}
_EVSE_DISCHARGE = {
    True: (("EVSEMaximumDischargePower", "dc_max_discharge_power"),
           ("EVSEMinimumDischargePower", "dc_min_discharge_power"),
           ("EVSEMaximumDischargeCurrent", "dc_max_discharge_current"),
           ("EVSEMinimumDischargeCurrent", "dc_min_discharge_current")),
    False: (("EVSEMaximumDischargePower", "ac_max_discharge_power"),
            ("EVSEMinimumDischargePower", "ac_min_discharge_power")),
}
_RANGES = ("power", "current", "voltage", "dis_power", "dis_current")


def handle(s, name, body, now):
    dc = name.startswith("DC_")
    family = "DC_" if dc else "AC_"
    res_name = family + "ChargeParameterDiscoveryRes"
    bpt = ("BPT_" + family + "CPDReqEnergyTransferMode") in body
    m = body.get("BPT_" + family + "CPDReqEnergyTransferMode") or body.get(family + "CPDReqEnergyTransferMode")
    if m is None or bpt != s.ctx.bpt:
        return _wrong(s, res_name), None
    ev = {}
    for key, field in _EV[dc]:
        ev[key] = V(m[field])
    if bpt:
        for key, field in _EV_DISCHARGE[dc]:
            ev[key] = s.from_wire_discharge(m[field])
    L = s.charger.limits
    if not _consistent(ev) or not _meets_ours(ev, L, dc):
        return _wrong(s, res_name), None
    s.ctx.ev = ev
    # the safety envelope from here on: the EV's limits (the charger's are
    # read at every command); no current before PowerDelivery Start
    s.charger.envelope.set_ev(dc, bpt, v=ev.get("max_voltage", 0), i=ev.get("max_current", 0),
                              p=ev["max_power"], di=ev.get("max_dis_current", 0),
                              dp=ev.get("max_dis_power", 0))
    mode = {}
    for field, key in _EVSE[dc]:
        mode[field] = R(L[key])
    if bpt:
        for field, key in _EVSE_DISCHARGE[dc]:
            mode[field] = s.to_wire_discharge(L[key])
    return ({"Header": s.hdr(), "ResponseCode": msg.OK,
             ("BPT_" if bpt else "") + family + "CPDResEnergyTransferMode": mode}, "limits")


def _consistent(ev):
    """No negative minimum, no maximum below its minimum."""
    for r in _RANGES:
        lo = ev.get("min_" + r)
        if lo is not None and (lo < 0 or ev["max_" + r] < lo):
            return False
    return True


def _meets_ours(ev, L, dc):
    """The EV's needs fit what we can do at all."""
    if not dc:
        return ev["min_power"] <= L["ac_max_charge_power"]
    return (ev["max_voltage"] >= L["dc_min_voltage"] and ev["min_voltage"] <= L["dc_max_voltage"]
            and ev["min_power"] <= L["dc_max_charge_power"]
            and ev["min_current"] <= L["dc_max_charge_current"])


def _wrong(s, res_name):
    return s.fail_body(res_name, msg.FAILED_WRONG_CHARGE_PARAMETER)
