"""SessionStop: Terminate (TCP closes), Pause (the SessionID is kept to
resume later) or ServiceRenegotiation (back to ServiceDiscovery, when the
SECC announced it)."""
from .. import msg

REQ = 'SessionStopReq'
RES = 'SessionStopRes'


def request(ev, now):
    ctx = ev.ctx
    kind = ctx.stop_with or ctx.final_stop
    if kind == msg.SERVICE_RENEGOTIATION and not ctx.renegotiation_supported:
        kind = msg.TERMINATE
    ctx.stop_sent = kind
    return {'Header': ev.header(), 'ChargingSession': kind}


def response(ev, res, now):
    ctx = ev.ctx
    kind = ctx.stop_sent
    why = ctx.end_reason
    if kind == msg.SERVICE_RENEGOTIATION:
        ctx.stop_with = None
        ctx.tuple_id = ctx.schedule_power = None
        ctx.started = False
        ev.events.append(('renegotiate', why))
        return 'renegotiate'
    ev.paused = kind == msg.PAUSE
    ev.finish('%s: %s' % (kind, why), now)
    return None
