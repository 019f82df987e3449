"""ServiceSelection: one offered energy-transfer service and one of its
parameter sets (which fixes the control mode); we offer no VAS."""
from .. import msg
from . import service_detail

_ENERGY_IDS = range(1, 11)      # -20 energy-transfer ServiceIDs incl. amendments


def handle(s, name, body, now):
    sel = body["SelectedEnergyTransferService"]
    sid, psid = sel["ServiceID"], sel["ParameterSetID"]
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    if sid not in _ENERGY_IDS:
        res["ResponseCode"] = msg.FAILED_NO_ENERGY_TRANSFER_SERVICE_SELECTED
        return res, None
    sets = s.ctx.sets.get(sid)
    if sets is None and sid in s.ctx.offered:
        sets = dict((i, m) for i, m, _ in service_detail.parameter_sets(s, sid))
    if sets is None or psid not in sets or "SelectedVASList" in body:
        res["ResponseCode"] = msg.FAILED_SERVICE_SELECTION_INVALID
        return res, None
    c = s.ctx
    c.service, c.parameter_set, c.control_mode = sid, psid, sets[psid]
    c.dc = sid in msg.DC_SERVICES
    c.bpt = sid in msg.BPT_SERVICES
    s.events.append(("service", sid, psid, c.control_mode))
    return res, "selected"
