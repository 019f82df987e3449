"""AC_/DC_ChargeLoop.  Scheduled: the EV asks for a current (DC) or reports
its power (AC) within its limits, the EVSE's and the schedule's; dynamic: the
EV gives limits and the EVSE decides.  The delivered power comes back in
every response (DC: present voltage x current; AC: EVSEPresentActivePower,
no more than the EV draws: the lower of EVSETargetActivePower and its own
plan) and goes to the vehicle, signed as the charger reports it.  A present
current or power against the asked direction or above the EV's limits ends
the session (guard.py): PowerDelivery(Stop), SessionStop(Terminate).

The loop ends when the vehicle reaches its SoC goal (target SoC charging,
minimum SoC discharging), after `loops` loops, when the vehicle asks, or
when the EVSE notifies Terminate / Pause / ServiceRenegotiation.  A
ScheduleRenegotiation notification goes through ScheduleExchange again."""
from .. import msg
from . import guard, params
from .power_delivery import planned_power

R = params.R
_NOTIFY = ('Terminate', 'Pause', 'ServiceRenegotiation')


def names(ctx):
    p = 'DC_' if ctx.dc else 'AC_'
    return p + 'ChargeLoopReq', p + 'ChargeLoopRes'


def _mode(ctx, side):
    return (('BPT_' if ctx.bpt else '') + ('Dynamic_' if ctx.dynamic else 'Scheduled_')
            + ('DC_' if ctx.dc else 'AC_') + 'CL' + side + 'ControlMode')


def _dc(ev, now):
    ctx = ev.ctx
    v = ev.vehicle
    if ctx.dynamic:
        m = params.charge_limits(ev, ('EVMaximumChargePower', 'EVMinimumChargePower',
                                      'EVMaximumChargeCurrent', 'EVMaximumVoltage',
                                      'EVMinimumVoltage'))
        m['DepartureTime'] = v.departure_time(now)
        params.energy(ev, m, ctx.bpt)
        if ctx.bpt:
            m.update(params.discharge_limits(ev, ('EVMaximumDischargePower', 'EVMinimumDischargePower',
                                                  'EVMaximumDischargeCurrent')))
        return m
    u = v.present_voltage()
    p = planned_power(ev)
    if ctx.discharge:
        i = -min(v.max_discharge_current, params.evse(ev, 'EVSEMaximumDischargeCurrent', 1e9), -p / u)
        target_u = u
    else:
        i = min(v.max_charge_current, params.evse(ev, 'EVSEMaximumChargeCurrent', 1e9), p / u)
        target_u = v.max_voltage
    m = params.charge_limits(ev, ('EVMaximumChargePower', 'EVMaximumChargeCurrent', 'EVMaximumVoltage'))
    m['EVTargetCurrent'] = R(i)
    m['EVTargetVoltage'] = R(target_u)
    params.energy(ev, m)
    if ctx.bpt:
        m.update(params.discharge_limits(ev, ('EVMaximumDischargePower', 'EVMinimumDischargePower',
                                              'EVMaximumDischargeCurrent')))
    return m


def _ac(ev, now):
    ctx = ev.ctx
    m = params.charge_limits(ev, ('EVMaximumChargePower', 'EVMinimumChargePower'))
    m['EVPresentActivePower'] = R(ctx.ev_power)
    params.energy(ev, m, ctx.bpt and ctx.dynamic)
    if ctx.dynamic:
        m['DepartureTime'] = ev.vehicle.departure_time(now)
        m['EVPresentReactivePower'] = R(0)
    if ctx.bpt:
        m.update(params.discharge_limits(ev, ('EVMaximumDischargePower', 'EVMinimumDischargePower')))
    return m


def request(ev, now):
    ctx = ev.ctx
    v = ev.vehicle
    body = {'Header': ev.header(),
            'DisplayParameters': {'PresentSOC': int(v.soc()), 'MinimumSOC': int(v.min_soc()),
                                  'TargetSOC': int(v.target_soc()),
                                  'ChargingComplete': v.complete(ctx.discharge)},
            'MeterInfoRequested': False}
    if ctx.dc:
        body['EVPresentVoltage'] = R(v.present_voltage())
        body[_mode(ctx, 'Req')] = _dc(ev, now)
    else:
        body[_mode(ctx, 'Req')] = _ac(ev, now)
    return body


def _delivered(ev, res, now):
    """Check what the charger reports against the direction asked and the
    EV's limits (guard.py), then hand the power flowing from now on to the
    vehicle, signed as the charger reported it (+ into the EV).  Returns
    the power, or None once the EV has declined to go on."""
    ctx = ev.ctx
    v = ev.vehicle
    part = res[_mode(ctx, 'Res')]
    if ctx.dc:
        u = msg.value(res['EVSEPresentVoltage'])
        p, i, why = guard.dc(ev, u, msg.value(res['EVSEPresentCurrent']))
        params.read_evse(ev, part)
        book = p
    else:
        u = i = None
        p, book, why = guard.ac(ev, part.get('EVSETargetActivePower'), part.get('EVSEPresentActivePower'))
    if why is not None:
        return ev.decline(why, now)
    ctx.ev_power = book
    v.delivered(now, book, u, i)
    return book


def response(ev, res, now):
    ctx = ev.ctx
    v = ev.vehicle
    p = _delivered(ev, res, now)
    if p is None:
        return None
    ev.events.append(('power', p))
    ev.events.append(('soc', v.soc()))
    ctx.loops_done += 1
    status = res.get('EVSEStatus')
    if status is not None and status['EVSENotification'] == msg.SCHEDULE_RENEGOTIATION:
        # new schedules or limits: PowerDelivery(ScheduleRenegotiation), then
        # ScheduleExchange and PowerDelivery(Start) again
        ctx.progress = msg.SCHEDULE_RENEGOTIATION
        return 'renegotiate'
    why, kind = _end_reason(ctx, v, status)
    if why is None:
        return 'again'
    if kind is not None:
        ctx.stop_with = kind
    ctx.end_reason = why
    ctx.progress = msg.STOP
    return 'stop'


def _end_reason(ctx, v, status):
    """Why the loop ends now and the SessionStop kind it asks for (None:
    the configured one), or (None, None) to go on."""
    if status is not None and status['EVSENotification'] in _NOTIFY:
        return 'EVSE notified ' + status['EVSENotification'], status['EVSENotification']
    requested = v.take_request()        # the app's control event, taken once
    if requested is not None:
        return 'vehicle requested ' + requested, requested
    if v.complete(ctx.discharge):
        return ('minimum SoC reached' if ctx.discharge else 'target SoC reached'), None
    if ctx.loops and ctx.loops_done >= ctx.loops:
        return '%d loops done' % ctx.loops_done, None
    return None, None
