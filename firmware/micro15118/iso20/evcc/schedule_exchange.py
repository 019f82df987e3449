"""ScheduleExchange: scheduled mode gets up to 3 ScheduleTuples (we take the
first that fits our direction); dynamic mode gives the EV's targets
(departure time, min/target SoC, energy).  Repeated while Ongoing."""
from .. import msg
from . import params


REQ = 'ScheduleExchangeReq'
RES = 'ScheduleExchangeRes'


def request(ev, now):
    ctx = ev.ctx
    v = ev.vehicle
    body = {'Header': ev.header(), 'MaximumSupportingPoints': ctx.max_points}
    if ctx.dynamic:
        m = {'DepartureTime': v.departure_time(now), 'MinimumSOC': int(v.min_soc()),
             'TargetSOC': int(v.target_soc())}
        body['Dynamic_SEReqControlMode'] = params.energy(ev, m, ctx.bpt)
    else:
        m = {'DepartureTime': v.departure_time(now)}
        body['Scheduled_SEReqControlMode'] = params.energy(ev, m)
    return body


def _first_power(sched):
    entries = sched['PowerSchedule']['PowerScheduleEntries']['PowerScheduleEntry']
    return abs(msg.value(entries[0]['Power']))


def response(ev, res, now):
    ctx = ev.ctx
    if res['EVSEProcessing'] != msg.FINISHED:
        return 'ongoing'
    if ctx.dynamic:
        part = res.get('Dynamic_SEResControlMode')
        if part is None:
            return ev.decline('ScheduleExchange: no dynamic control mode', now)
        ctx.evse_targets = dict((k, part[k]) for k in ('DepartureTime', 'MinimumSOC', 'TargetSOC')
                                if k in part)
    else:
        part = res.get('Scheduled_SEResControlMode')
        if part is None:
            return ev.decline('ScheduleExchange: no scheduled control mode', now)
        for t in part['ScheduleTuple']:
            if ctx.discharge:
                if 'DischargingSchedule' in t:
                    ctx.tuple_id = t['ScheduleTupleID']
                    ctx.schedule_power = _first_power(t['DischargingSchedule'])
                    break
            else:
                ctx.tuple_id = t['ScheduleTupleID']
                ctx.schedule_power = _first_power(t['ChargingSchedule'])
                break
        if ctx.tuple_id is None:
            return ev.decline('ScheduleExchange: no schedule for discharging', now)
    ctx.progress = msg.START
    # after a schedule renegotiation the DC output is already checked and live
    # a DC session tests the cable before its first PowerDelivery only
    return 'dc_first' if ctx.dc and not ctx.started else 'scheduled'
