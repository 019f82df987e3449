"""DC_PreCharge: ask for the battery voltage until the EVSE's output is within
tolerance, then one request with EVProcessing=Finished, then PowerDelivery
([V2G20-2005/2006]: after Ongoing only DC_PreChargeReq may follow).
Bounded by V2G_EVCC_PreCharge_Timeout."""
from iso20 import msg
from iso20.evcc import params

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
    if ctx.precharged:
        ctx.progress = msg.START
        return 'PowerDelivery', 0
    if ev.ongoing_since is None:
        ev.ongoing_since = now
    elif now - ev.ongoing_since >= ctx.timeouts['pre_charge']:
        return ev.fail('timeout: pre-charge did not reach the battery voltage', now)
    return 'PreCharge', ctx.ongoing_delay
