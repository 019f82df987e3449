"""DC_CableCheck: close the output contactor and run the insulation test
of the power electronics; EVSEProcessing=Ongoing while it runs, FAILED on
an insulation fault, a contactor that does not close, or after 40 s."""
from .. import msg


def handle(s, name, body, now):
    c = s.ctx
    if not c.contactor:
        if not s.charger.contactor(True, now):
            return s.fail_body("DC_CableCheckRes", msg.FAILED_CONTACTOR_ERROR), None
        c.contactor = True
        s.charger.dc_target(0, 0, now)
    res = {"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEProcessing": msg.FINISHED}
    ok = s.charger.insulation_check(now)
    if ok is None:
        if s.ongoing_expired(now, "cable_check_ongoing"):
            return s.fail_body("DC_CableCheckRes", msg.FAILED), None
        res["EVSEProcessing"] = msg.ONGOING
        return res, "ongoing"
    if not ok:
        return s.fail_body("DC_CableCheckRes", msg.FAILED), None
    return res, "insulated"
