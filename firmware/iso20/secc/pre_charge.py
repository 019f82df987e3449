"""DC_PreCharge: ramp the output to the EV's target voltage (no current).
After EVProcessing=Ongoing only another DC_PreChargeReq may follow; after
Finished, PowerDeliveryReq (V2G20-2005/2006)."""
from iso20 import msg


def handle(s, name, body, now):
    c = s.ctx
    target = msg.value(body["EVTargetVoltage"])
    L = s.charger.limits
    if target < 0 or target > L["dc_max_voltage"] or target > c.ev.get("max_voltage", target):
        return s.fail_body("DC_PreChargeRes", msg.FAILED_WRONG_CHARGE_PARAMETER)
    s.charger.dc_target(target, 0, now)
    v = s.charger.present(now)[0]
    c.ev_processing = body["EVProcessing"]
    if c.ev_processing == msg.FINISHED:
        s.goto("PreCharge", ("DC_PreChargeReq", "PowerDeliveryReq", "SessionStopReq"))
    else:
        s.goto("PreCharge", ("DC_PreChargeReq", "SessionStopReq"))
    return {"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEPresentVoltage": msg.rational(v)}
