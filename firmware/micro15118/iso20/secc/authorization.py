"""Authorization (EIM): EVSEProcessing=Ongoing until the charger decides
(Charger.authorize); a refusal is WARNING_EIMAuthorizationFailure and the
EV may ask again or stop."""
from .. import msg


def handle(s, name, body, now):
    res = {"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEProcessing": msg.FINISHED}
    if body["SelectedAuthorizationService"] != "EIM" or "EIM_AReqAuthorizationMode" not in body:
        res["ResponseCode"] = msg.WARNING_AUTHORIZATION_SELECTION_INVALID
        return res, None
    ok = s.charger.auth
    if ok is None:
        first = s.ctx.ongoing_since is None
        if s.ongoing_expired(now, "eim_ongoing"):
            res["ResponseCode"] = msg.FAILED
            return res, None
        if first:
            s.events.append(("auth_request", s.ctx.evccid))
        res["EVSEProcessing"] = msg.ONGOING
        return res, None
    s.ctx.ongoing_since = None
    s.events.append(("authorized", bool(ok)))
    if not ok:
        res["ResponseCode"] = msg.WARNING_EIM_AUTHORIZATION_FAILURE
        return res, None
    s.ctx.auth_service = "EIM"
    return res, "authorized"
