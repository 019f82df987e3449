"""DC_PreCharge: ask for the battery voltage until the EVSE's output is within
tolerance, then one request with EVProcessing=Finished, then PowerDelivery
([V2G20-2005/2006]: after Ongoing only DC_PreChargeReq may follow).
Bounded by V2G_EVCC_PreCharge_Timeout.  An EVSEPresentVoltage above the
EV's maximum voltage (guard.voltage) ends the session."""
from .. import msg
from . import guard, params

REQ = 'DC_PreChargeReq'
RES = 'DC_PreChargeRes'


def request(ev, now):
    ctx = ev.ctx
    u = ev.vehicle.present_voltage()
    done = ctx.evse_voltage is not None and abs(ctx.evse_voltage - u) <= ctx.precharge_tol
    ctx.precharged = done
    return {'Header': ev.header(),
            'EVProcessing': msg.FINISHED if done else msg.ONGOING,
            'EVPresentVoltage': params.R(u), 'EVTargetVoltage': params.R(u)}


def response(ev, res, now):
    ctx = ev.ctx
    ctx.evse_voltage = msg.value(res['EVSEPresentVoltage'])
    why = guard.voltage(ev, ctx.evse_voltage)
    if why is not None:
        return ev.decline('pre-charge: ' + why, now)
    if ctx.precharged:
        ctx.progress = msg.START
        return 'at_voltage'
    if ev.ongoing_since is None:
        ev.ongoing_since = now
    elif now - ev.ongoing_since >= ctx.timeouts['pre_charge']:
        return ev.decline('timeout: pre-charge did not reach the battery voltage', now)
    return 'ramping'
