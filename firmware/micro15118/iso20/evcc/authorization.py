"""Authorization (EIM): repeated unchanged but for the timestamp while the
SECC answers Ongoing ([V2G20-1582]), for at most V2G_EVCC_Ongoing_Timeout."""
from .. import msg

REQ = 'AuthorizationReq'
RES = 'AuthorizationRes'


def request(ev, now):
    return {'Header': ev.header(), 'SelectedAuthorizationService': 'EIM',
            'EIM_AReqAuthorizationMode': {}}


def response(ev, res, now):
    code = res['ResponseCode']
    if code.startswith('WARNING'):
        # not authorized (e.g. WARNING_EIMAuthorizationFailure): end politely
        return ev.decline(code, now)
    if res['EVSEProcessing'] != msg.FINISHED:
        return 'ongoing'
    return 'authorized'
