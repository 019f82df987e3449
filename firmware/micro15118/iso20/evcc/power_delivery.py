"""PowerDelivery: Start (with the EV's power profile and, for BPT, the
channel) before the charge loop; Stop after it; ScheduleRenegotiation when
the EVSE asked for it (then ScheduleExchange again, Start again)."""
from .. import msg
from . import params

REQ = 'PowerDeliveryReq'
RES = 'PowerDeliveryRes'


def power_limit(ev, discharge):
    """The most power the EV may take (discharge: give) now, W, a magnitude:
    its own limit, the EVSE's, and in scheduled mode the schedule's."""
    ctx = ev.ctx
    v = ev.vehicle
    if discharge:
        p = min(v.max_discharge_power, params.evse(ev, 'EVSEMaximumDischargePower', v.max_discharge_power))
    else:
        p = min(v.max_charge_power, params.evse(ev, 'EVSEMaximumChargePower', v.max_charge_power))
    if ctx.schedule_power is not None and discharge == ctx.discharge:
        p = min(p, ctx.schedule_power)
    return p


def planned_power(ev):
    """The power the EV plans for now, W, signed (- = discharge)."""
    p = power_limit(ev, ev.ctx.discharge)
    return -p if ev.ctx.discharge else p


def request(ev, now):
    ctx = ev.ctx
    body = {'Header': ev.header(), 'EVProcessing': msg.FINISHED, 'ChargeProgress': ctx.progress}
    if ctx.progress == msg.START:
        if ctx.dynamic:
            mode = ('Dynamic_EVPPTControlMode', {})
        else:
            # PowerToleranceAcceptance is optional in the schema, but
            # python-iso15118 rejects the request without it
            mode = ('Scheduled_EVPPTControlMode', {'SelectedScheduleTupleID': ctx.tuple_id,
                                                   'PowerToleranceAcceptance': 'PowerToleranceConfirmed'})
        duration = ev.vehicle.departure_time(now) or 3600
        body['EVPowerProfile'] = {
            'TimeAnchor': int(ev.clock_s()), mode[0]: mode[1],
            'EVPowerProfileEntries': {'EVPowerProfileEntry': [
                {'Duration': duration, 'Power': params.R(planned_power(ev))}]}}
        if ctx.bpt:
            body['BPT_ChannelSelection'] = 'Discharge' if ctx.discharge else 'Charge'
    return body


def response(ev, res, now):
    ctx = ev.ctx
    if ctx.progress == msg.START:
        ev.vehicle.contactor(True, now)
        if not ctx.started:
            ctx.loops_done = 0
        ctx.started = True
        ctx.in_loop = True
        ctx.ev_power = 0.0
        return 'started'
    if ctx.progress == msg.SCHEDULE_RENEGOTIATION:
        ev.vehicle.delivered(now, 0.0)       # the EVSE holds the power at zero
        ctx.ev_power = 0.0
        if res['ResponseCode'].startswith('WARNING'):
            ctx.progress = msg.START     # refused: the loop goes on
            return 'renegotiation_refused'
        ctx.in_loop = False
        ctx.tuple_id = ctx.schedule_power = None
        return 'renegotiate'
    ctx.in_loop = False
    ev.vehicle.contactor(False, now)
    if ctx.dc:
        ctx.welded = False
        ctx.evse_voltage = None
        return 'stopped_dc'
    return 'stopped_ac'
