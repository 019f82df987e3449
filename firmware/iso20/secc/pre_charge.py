"""DC_PreCharge: ramp the output to the EV's target voltage (no current).
After EVProcessing=Ongoing only another DC_PreChargeReq may follow; after
Finished, PowerDeliveryReq (V2G20-2005/2006)."""
from iso20 import msg


def handle(s, name, body, now):
    c = s.ctx
    target = msg.value(body["EVTargetVoltage"])
    L = s.charger.limits
    if target < 0:
        return s.fail_body("DC_PreChargeRes", msg.FAILED_WRONG_CHARGE_PARAMETER)
    # A target above our limit or the EV's own maximum is clamped, not
    # refused: the output never exceeds either, and an EV whose target is
    # unreachable sees the present voltage stop short (python-iso15118's
    # simulated EV asks for 20 kV here).
    limit = min(L["dc_max_voltage"], c.ev.get("max_voltage", L["dc_max_voltage"]))
    if target > limit:
        s.events.append(("warning", "precharge_target_clamped", target, limit))
        target = limit
    s.charger.dc_target(target, 0, now)
    v = s.charger.present(now)[0]
    c.ev_processing = body["EVProcessing"]
    if c.ev_processing == msg.FINISHED:
        s.goto("PreCharge", ("DC_PreChargeReq", "PowerDeliveryReq", "SessionStopReq"))
    else:
        s.goto("PreCharge", ("DC_PreChargeReq", "SessionStopReq"))
    return {"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEPresentVoltage": msg.rational(v)}
