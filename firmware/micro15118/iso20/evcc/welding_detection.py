"""DC_WeldingDetection: EVProcessing=Ongoing until the EVSE's output voltage
has fallen below the welding threshold, then one Finished request, then
SessionStop ([V2G20-1630/1631]).  Bounded by V2G_EVCC_Ongoing_Timeout."""
from .. import msg

REQ = 'DC_WeldingDetectionReq'
RES = 'DC_WeldingDetectionRes'


def request(ev, now):
    ctx = ev.ctx
    ctx.welded_sent = ctx.welded
    return {'Header': ev.header(), 'EVProcessing': msg.FINISHED if ctx.welded else msg.ONGOING}


def response(ev, res, now):
    ctx = ev.ctx
    if ctx.welded_sent:
        return 'finished'
    if abs(msg.value(res['EVSEPresentVoltage'])) < ctx.welding_v:
        ctx.welded = True
        return 'below_threshold'
    return 'ongoing'
