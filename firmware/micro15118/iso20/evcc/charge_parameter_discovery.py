"""AC_/DC_ChargeParameterDiscovery: the EV's limits for the EVSE's
(BPT variants add the discharge limits)."""
from . import params

_DC = ('EVMaximumChargePower', 'EVMinimumChargePower', 'EVMaximumChargeCurrent',
       'EVMinimumChargeCurrent', 'EVMaximumVoltage', 'EVMinimumVoltage')
_DC_BPT = ('EVMaximumDischargePower', 'EVMinimumDischargePower',
           'EVMaximumDischargeCurrent', 'EVMinimumDischargeCurrent')
_AC = ('EVMaximumChargePower', 'EVMinimumChargePower')
_AC_BPT = ('EVMaximumDischargePower', 'EVMinimumDischargePower')


def names(ctx):
    p = 'DC_' if ctx.dc else 'AC_'
    return p + 'ChargeParameterDiscoveryReq', p + 'ChargeParameterDiscoveryRes'


def _mode(ctx, side):
    return ('BPT_' if ctx.bpt else '') + ('DC_' if ctx.dc else 'AC_') + 'CPD' + side + 'EnergyTransferMode'


def request(ev, now):
    ctx = ev.ctx
    if ctx.dc:
        m = params.charge_limits(ev, _DC)
        m['TargetSOC'] = int(ev.vehicle.target_soc())
        if ctx.bpt:
            m.update(params.discharge_limits(ev, _DC_BPT))
    else:
        m = params.charge_limits(ev, _AC)
        if ctx.bpt:
            m.update(params.discharge_limits(ev, _AC_BPT))
    return {'Header': ev.header(), _mode(ctx, 'Req'): m}


def response(ev, res, now):
    ctx = ev.ctx
    part = res.get(_mode(ctx, 'Res'))
    if part is None:
        return ev.decline('ChargeParameterDiscovery: no %s' % _mode(ctx, 'Res'), now)
    ctx.evse = {}
    params.read_evse(ev, part)
    if ctx.dc and ctx.evse['EVSEMaximumVoltage'] < ev.vehicle.present_voltage():
        return ev.decline('ChargeParameterDiscovery: EVSE voltage below the battery', now)
    return 'limits'
