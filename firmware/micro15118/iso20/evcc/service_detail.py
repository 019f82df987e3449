"""ServiceDetail: find the parameter set of the configured control mode."""

REQ = 'ServiceDetailReq'
RES = 'ServiceDetailRes'


def request(ev, now):
    return {'Header': ev.header(), 'ServiceID': ev.ctx.service_id}


def _param(pset, name):
    for p in pset.get('Parameter', ()):
        if p['@Name'] == name:
            for k in ('intValue', 'shortValue', 'byteValue'):
                if k in p:
                    return p[k]
    return None


def response(ev, res, now):
    ctx = ev.ctx
    if res['ServiceID'] != ctx.service_id:
        return ev.decline('ServiceDetail: details of service %d' % res['ServiceID'], now)
    for pset in res['ServiceParameterList']['ParameterSet']:
        if _param(pset, 'ControlMode') == ctx.control:
            ctx.parameter_set_id = pset['ParameterSetID']
            return 'found'
    return ev.decline('ServiceDetail: no parameter set with %s control'
                   % ('dynamic' if ctx.dynamic else 'scheduled'), now)
