"""The EV's safety envelope: what the charger reports is checked against
the direction the EV asked for and the EV's own limits before the battery
books any of it (the mirror image of the charger's envelope in the SECC).

Signs: present values and targets are + into the EV, - out of it (the
ISO 15118-20 convention and our SECC's, whatever `discharge_sign` says about
limits).  With `present_values='magnitude'` the direction comes from the
channel and cannot be checked.  Tolerances: context.TOLERANCES.

Each check returns a reason (str) that ends the session, or None.  The
power handed to the battery never has the wrong direction: a value against
the channel but within the tolerance is booked as 0.
"""
from .. import msg
from .power_delivery import power_limit


def _asked(ctx):
    return 'discharging' if ctx.discharge else 'charging'


def _wrong(ctx, x, tol):
    """x (signed) flows against the channel by more than tol."""
    if ctx.both_ways:
        return False
    return x < -tol if not ctx.discharge else x > tol


def _clip(ctx, x):
    """x without any part against the channel."""
    if ctx.both_ways:
        return x
    if ctx.discharge:
        return x if x < 0 else 0.0
    return x if x > 0 else 0.0


def _over(ctx, x, limit, absolute, pct):
    return abs(x) > limit + max(absolute, limit * pct / 100.0)


def _signed(ctx, x):
    """A reported value in our convention (+ into the EV)."""
    if ctx.magnitude_only:
        return -abs(x) if ctx.discharge else abs(x)
    return x


def voltage(ev, u, where='charger'):
    """A present voltage above the EV's maximum (or below zero)."""
    ctx = ev.ctx
    t = ctx.tol
    vmax = ev.vehicle.max_voltage
    if u < -t['limit_v']:
        return '%s reported a negative voltage %.1f V' % (where, u)
    if u > vmax + max(t['limit_v'], vmax * t['limit_v_pct'] / 100.0):
        return "%s's present voltage %.1f V is above the EV's maximum voltage %.0f V" % (where, u, vmax)
    return None


def dc(ev, u, i):
    """DC_ChargeLoopRes: EVSEPresentVoltage u, EVSEPresentCurrent i (as
    on the wire).  Returns (power W to book, current, reason or None)."""
    ctx = ev.ctx
    v = ev.vehicle
    t = ctx.tol
    i = _signed(ctx, i)
    if _wrong(ctx, i, t['direction_a']):
        return 0.0, i, 'charger delivered %+.1f A while %s was asked' % (i, _asked(ctx))
    why = voltage(ev, u)
    if why is not None:
        return 0.0, i, why
    p = (u if u > 0 else 0.0) * i      # a voltage a hair below 0 must not flip the sign
    if i >= 0:
        imax, pmax, what = v.max_charge_current, v.max_charge_power, 'charge'
    else:
        imax, pmax, what = v.max_discharge_current, v.max_discharge_power, 'discharge'
    if _over(ctx, i, imax, t['limit_a'], t['limit_pct']):
        return 0.0, i, "charger delivered %+.1f A, above the EV's maximum %s current %.0f A" % (
            i, what, imax)
    if _over(ctx, p, pmax, t['limit_w'], t['limit_pct']):
        return 0.0, i, "charger delivered %+.0f W, above the EV's maximum %s power %.0f W" % (
            p, what, pmax)
    if _clip(ctx, i) == 0:
        return 0.0, i, None
    return p, i, None


def ac(ev, target, present):
    """AC_ChargeLoopRes: EVSETargetActivePower and EVSEPresentActivePower
    (RationalNumbers or None).

    The EV follows the lower of the charger's target and its own plan (its
    limits, the EVSE's, the schedule: power_delivery.power_limit), with
    no target its plan.  It books the present power the charger measured,
    but no more than it draws itself and never in the other direction;
    with no present power, what it draws.
    Returns (power W to follow, power W to book, reason or None)."""
    ctx = ev.ctx
    v = ev.vehicle
    t = ctx.tol
    tv = None if target is None else _signed(ctx, msg.value(target))
    pv = None if present is None else _signed(ctx, msg.value(present))
    if tv is not None and _wrong(ctx, tv, t['direction_w']):
        return 0.0, 0.0, 'charger targets %+.0f W while %s was asked' % (tv, _asked(ctx))
    if pv is not None and _wrong(ctx, pv, t['direction_w']):
        return 0.0, 0.0, 'charger delivered %+.0f W while %s was asked' % (pv, _asked(ctx))
    if pv is not None:
        pmax, what = (v.max_charge_power, 'charge') if pv >= 0 else (v.max_discharge_power, 'discharge')
        if _over(ctx, pv, pmax, t['limit_w'], t['limit_pct']):
            return 0.0, 0.0, "charger delivered %+.0f W, above the EV's maximum %s power %.0f W" % (
                pv, what, pmax)
    if tv is None:
        follow = power_limit(ev, ctx.discharge)
        if ctx.discharge:
            follow = -follow
    else:
        tv = _clip(ctx, tv)
        if tv < 0:
            follow = -min(-tv, power_limit(ev, True))
        else:
            follow = min(tv, power_limit(ev, False))
    if pv is None:
        return follow, follow, None
    pv = _clip(ctx, pv)
    if follow == 0 or (pv < 0) != (follow < 0):
        book = 0.0
    elif abs(pv) <= abs(follow):
        book = pv
    else:
        book = follow
    return follow, book, None
