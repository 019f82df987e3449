"""SessionStop: Terminate ends the session; Pause keeps it in the pause
store for a later SessionSetup with the old SessionID; both close 5 s after
the response.  ServiceRenegotiation goes back to ServiceDiscovery on the
same connection (FAILED_NoServiceRenegotiationSupported if not offered)."""
from .. import msg


def handle(s, name, body, now):
    s.power_off(now)
    res = {"Header": s.hdr(), "ResponseCode": msg.OK}
    how = body["ChargingSession"]
    c = s.ctx
    if how == msg.SERVICE_RENEGOTIATION:
        if not s.cfg["service_renegotiation"]:
            res["ResponseCode"] = msg.FAILED_NO_SERVICE_RENEGOTIATION_SUPPORTED
            return res, None
        c.service = c.parameter_set = c.control_mode = None
        c.started = False
        c.sets = {}
        s.events.append(("stopped", "service_renegotiation"))
        return res, "renegotiate"
    if how == msg.PAUSE:
        s.store.put(c.pause_copy())
    s.events.append(("stopped", "pause" if how == msg.PAUSE else "terminate"))
    s.close_after(now, "session_stop")
    return res, "ended"
