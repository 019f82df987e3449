"""SessionSetup: EVCCID, and the old SessionID to resume a paused session."""
from .. import msg

REQ = 'SessionSetupReq'
RES = 'SessionSetupRes'


def request(ev, now):
    h = ev.header()
    if ev.ctx.resume_id is not None:
        h['SessionID'] = ev.ctx.resume_id
    return {'Header': h, 'EVCCID': ev.ctx.evccid}


def response(ev, res, now):
    ctx = ev.ctx
    code = res['ResponseCode']
    sid = res['Header']['SessionID']
    if len(sid) != 8 or sid == msg.NEW_SESSION_ID:
        return ev.fail('SessionSetup: invalid SessionID', now)
    if code == msg.OK_OLD_SESSION:
        if sid != ctx.resume_id:
            return ev.fail('SessionSetup: joined a session we did not ask for', now)
        ctx.resumed = True
    elif code != msg.OK_NEW_SESSION:
        return ev.fail('SessionSetup: ' + code, now)
    ctx.session_id = sid
    ctx.evse_id = res['EVSEID']
    ev.session_set_up()
    ev.events.append(('session', sid))
    if ctx.resumed:
        return 'resumed_at_' + ctx.resume_to     # configurable: states.py
    return 'new'
