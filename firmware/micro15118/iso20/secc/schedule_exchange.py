"""ScheduleExchange.  Scheduled mode: one ScheduleTuple (ID 1) whose
ChargingSchedule has a PowerSchedule and an AbsolutePriceSchedule
(python-iso15118 rejects a tuple without a price schedule), plus a
DischargingSchedule for BPT (negative powers: they are powers, not limits,
and python-iso15118 plans to require that).  Dynamic mode: the EV's departure time and SoC
targets echoed.  EVSEProcessing=Ongoing while the charger has no schedule
yet (Charger.schedule_ready), FAILED after 55 s."""
from .. import msg

R = msg.rational


def _entries(s, sched, limit, points, sign):
    if not sched:
        sched = ((s.cfg["schedule_duration"], limit),)
    out = []
    for dur, p in sched[:max(1, points)]:
        out.append({"Duration": int(dur), "Power": R(sign * min(abs(p), limit))})
    return out


def _price(s, anchor, sid):
    return {"@Id": "PS%d" % sid, "TimeAnchor": anchor, "PriceScheduleID": sid,
            "Currency": s.cfg["currency"], "Language": "ENG",
            "PriceAlgorithm": "urn:iso:std:iso:15118:-20:PriceAlgorithm:1-Power",
            "PriceRuleStacks": {"PriceRuleStack": [{"Duration": 0, "PriceRule": [
                {"EnergyFee": R(s.cfg["energy_fee"]), "PowerRangeStart": R(0)}]}]}}


def handle(s, name, body, now):
    c = s.ctx
    sched_mode = "Scheduled_SEReqControlMode" in body
    if sched_mode != (c.control_mode == msg.SCHEDULED):
        return s.fail_body("ScheduleExchangeRes", msg.FAILED), None
    ev_mode = body.get("Scheduled_SEReqControlMode") or body.get("Dynamic_SEReqControlMode") or {}
    for k in ("EVTargetEnergyRequest", "EVMaximumEnergyRequest", "EVMinimumEnergyRequest"):
        if k in ev_mode:
            c.ev[k] = msg.value(ev_mode[k])
    res = {"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEProcessing": msg.FINISHED}
    if not s.charger.schedule_ready():
        if s.ongoing_expired(now, "schedule_ongoing"):
            return s.fail_body("ScheduleExchangeRes", msg.FAILED), None
        res["EVSEProcessing"] = msg.ONGOING
    anchor = int(s.clock_s())
    L = s.charger.limits
    if sched_mode:
        pre = "dc_" if c.dc else "ac_"
        points = body["MaximumSupportingPoints"]
        tup = {"ScheduleTupleID": 1, "ChargingSchedule": {
            "PowerSchedule": {"TimeAnchor": anchor, "PowerScheduleEntries": {"PowerScheduleEntry": _entries(
                s, s.charger.schedule, L[pre + "max_charge_power"], points, 1)}},
            "AbsolutePriceSchedule": _price(s, anchor, 1)}}
        if c.bpt:
            tup["DischargingSchedule"] = {
                "PowerSchedule": {"TimeAnchor": anchor, "PowerScheduleEntries": {"PowerScheduleEntry": _entries(
                    s, None, L[pre + "max_discharge_power"], points, -1)}},
                "AbsolutePriceSchedule": _price(s, anchor, 2)}
        res["Scheduled_SEResControlMode"] = {"ScheduleTuple": [tup]}
        c.schedule_ids = (1,)
    else:
        dyn = {}
        for k in ("DepartureTime", "MinimumSOC", "TargetSOC"):
            if k in ev_mode:
                dyn[k] = ev_mode[k]
        res["Dynamic_SEResControlMode"] = dyn
    if res["EVSEProcessing"] == msg.ONGOING:
        return res, "ongoing"
    # a DC session tests the cable before its first PowerDelivery only
    return res, "dc_first" if c.dc and not c.started else "scheduled"
