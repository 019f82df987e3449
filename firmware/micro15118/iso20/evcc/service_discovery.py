"""ServiceDiscovery: is our energy service offered?"""

REQ = 'ServiceDiscoveryReq'
RES = 'ServiceDiscoveryRes'


def request(ev, now):
    return {'Header': ev.header(), 'SupportedServiceIDs': {'ServiceID': [ev.ctx.service_id]}}


def response(ev, res, now):
    ctx = ev.ctx
    ctx.renegotiation_supported = res['ServiceRenegotiationSupported']
    ids = [s['ServiceID'] for s in res['EnergyTransferServiceList']['Service']]
    if ctx.service_id not in ids:
        return ev.decline('ServiceDiscovery: service %d not offered (%r)' % (ctx.service_id, ids), now)
    return 'offered'
