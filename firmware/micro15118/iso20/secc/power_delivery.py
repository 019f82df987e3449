"""PowerDelivery.  Start: (AC) close the contactor, FAILED_ContactorError if
it does not; energy may flow from here until Stop.  Stop: no current,
contactor open; DC goes on to DC_WeldingDetection, AC to SessionStop
(V2G20-1623).  Standby: WARNING_StandbyNotAllowed unless configured.
ScheduleRenegotiation: back to ScheduleExchange, power held at zero.
BPT_ChannelSelection picks charge or discharge for a BPT service."""
from .. import msg


def handle(s, name, body, now):
    c = s.ctx
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    cp = body["ChargeProgress"]
    if cp == msg.START:
        if body["EVProcessing"] != msg.FINISHED:
            # the EV is not ready yet: it asks again
            return res, "ev_processing_under_power" if c.energy else "ev_processing"
        prof = body.get("EVPowerProfile")
        if c.control_mode == msg.SCHEDULED and prof is not None:
            sel = prof.get("Scheduled_EVPPTControlMode")
            if sel is None or sel["SelectedScheduleTupleID"] not in c.schedule_ids:
                return s.fail_body("PowerDeliveryRes", msg.FAILED_SCHEDULE_SELECTION_INVALID), None
        if c.bpt:
            c.channel = body.get("BPT_ChannelSelection", "Charge")
        if not c.contactor:
            if not s.charger.contactor(True, now):
                return s.fail_body("PowerDeliveryRes", msg.FAILED_CONTACTOR_ERROR), None
            c.contactor = True
        c.standby = False
        # the envelope lets current flow from now on; discharge only on a
        # BPT service in the Discharge channel
        s.charger.envelope.start(c.bpt and c.channel == "Discharge")
        s.charger.reapply(now)          # a channel switch acts at once
        if not c.energy:
            c.energy = True
            s.events.append(("energy", True))
        c.started = True
        return res, "started"
    if cp == msg.STANDBY:
        if not s.cfg["standby_allowed"] or not c.started:
            res["ResponseCode"] = msg.WARNING_STANDBY_NOT_ALLOWED
            return res, None
        c.standby = True
        _zero(s, now)
        return res, "standby"
    if cp == msg.SCHEDULE_RENEGOTIATION:
        if not c.started:
            res["ResponseCode"] = msg.WARNING_SCHEDULE_RENEGOTIATION_FAILED
            return res, None
        _zero(s, now)
        return res, "renegotiate"
    # Stop
    s.power_off(now)
    return res, "stopped_dc" if c.dc else "stopped_ac"


def _zero(s, now):
    s.charger.envelope.hold()
    if s.ctx.dc:
        v = s.charger.present(now)[0]
        s.charger.dc_target(v, 0, now)
    else:
        s.charger.ac_power(0, now)
