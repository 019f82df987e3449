"""DC_CableCheck: the EVSE tests the insulation; repeat while Ongoing, for at
most V2G_EVCC_CableCheck_Timeout."""
from .. import msg

REQ = 'DC_CableCheckReq'
RES = 'DC_CableCheckRes'


def request(ev, now):
    return {'Header': ev.header()}


def response(ev, res, now):
    if res['EVSEProcessing'] != msg.FINISHED:
        return 'ongoing'
    ev.ctx.precharged = False
    ev.ctx.evse_voltage = None
    return 'insulated'
