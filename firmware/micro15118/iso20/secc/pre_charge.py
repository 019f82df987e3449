"""DC_PreCharge: ramp the output to the EV's target voltage (no current).
After EVProcessing=Ongoing only another DC_PreChargeReq may follow; after
Finished, PowerDeliveryReq (V2G20-2005/2006)."""
from .. import msg


def handle(s, name, body, now):
    c = s.ctx
    target = msg.value(body["EVTargetVoltage"])
    if target < 0:
        return s.fail_body("DC_PreChargeRes", msg.FAILED_WRONG_CHARGE_PARAMETER), None
    # A target above our limit or the EV's own maximum is clamped by the
    # safety envelope, not refused: the output never exceeds either, and an
    # EV whose target is unreachable sees the present voltage stop short
    # (python-iso15118's simulated EV asks for 20 kV here).  No current.
    s.charger.dc_target(target, 0, now)
    clamped = s.charger.envelope.last.get("voltage")
    if clamped:
        s.events.append(("warning", "precharge_target_clamped", target, clamped[1]))
    v = s.charger.present(now)[0]
    c.ev_processing = body["EVProcessing"]
    return ({"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEPresentVoltage": msg.rational(v)},
            "ev_finished" if c.ev_processing == msg.FINISHED else "ev_processing")
