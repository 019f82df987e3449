"""SessionSetup: a new session (random 8-byte SessionID) or the resume of a
paused one (the EV sends the old SessionID: OK_OldSessionJoined)."""
from .. import msg


def handle(s, name, body, now):
    sid = body["Header"]["SessionID"]
    old = s.store.take(sid) if sid != msg.NEW_SESSION_ID else None
    if old is not None:
        old.protocol = s.ctx.protocol
        old.tls = s.ctx.tls             # of this connection
        old.resumed = True
        s.ctx = old
        code = msg.OK_OLD_SESSION
    else:
        new = s.rng(8)
        while new == msg.NEW_SESSION_ID:
            new = s.rng(8)
        s.ctx.session_id = bytes(new)
        code = msg.OK_NEW_SESSION
    s.ctx.evccid = body["EVCCID"]
    # requests the charger made before this session are not for it
    s.ctx.pauses_seen, s.ctx.stops_seen = s.charger.pauses, s.charger.stops
    s.events.append(("session", s.ctx.session_id, old is not None))
    # a resumed session with a service may go on at ChargeParameterDiscovery
    resumed = old is not None and old.service is not None
    return ({"Header": s.hdr(), "ResponseCode": code, "EVSEID": s.cfg["evse_id"]},
            "resumed" if resumed else "new")
