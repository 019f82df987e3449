"""The EV's limits as message fields, and the EVSE's limits read back.

Discharge limits go on the wire with the configured sign (+ by default;
docs/standards-notes.md §4: some peers want them negative); read back as magnitudes.
"""
from .. import msg

R = msg.rational


def charge_limits(ev, names):
    """{field: RationalNumber} for the EV's charge limit fields in names."""
    v = ev.vehicle
    vals = {'EVMaximumChargePower': v.max_charge_power,
            'EVMinimumChargePower': v.min_charge_power,
            'EVMaximumChargeCurrent': v.max_charge_current,
            'EVMinimumChargeCurrent': v.min_charge_current,
            'EVMaximumVoltage': v.max_voltage,
            'EVMinimumVoltage': v.min_voltage}
    return dict((n, R(vals[n])) for n in names)


def discharge_limits(ev, names):
    v = ev.vehicle
    s = ev.ctx.sign
    vals = {'EVMaximumDischargePower': v.max_discharge_power,
            'EVMinimumDischargePower': v.min_discharge_power,
            'EVMaximumDischargeCurrent': v.max_discharge_current,
            'EVMinimumDischargeCurrent': v.min_discharge_current}
    return dict((n, R(s * vals[n])) for n in names)


def energy(ev, body, v2x=False):
    """Add the energy requests (Wh) to body."""
    target, most, least = ev.vehicle.energy_requests()
    body['EVTargetEnergyRequest'] = R(target)
    body['EVMaximumEnergyRequest'] = R(most)
    body['EVMinimumEnergyRequest'] = R(least)
    if v2x:
        most, least = ev.vehicle.v2x_requests()
        body['EVMaximumV2XEnergyRequest'] = R(most)
        body['EVMinimumV2XEnergyRequest'] = R(least)
    return body


def read_evse(ev, part):
    """Remember the EVSE's limits (every RationalNumber in part) as magnitudes."""
    for k in part:
        x = part[k]
        if k.startswith('EVSE') and isinstance(x, dict) and 'Exponent' in x:
            ev.ctx.evse[k] = abs(msg.value(x))


def evse(ev, name, default):
    return ev.ctx.evse.get(name, default)
