"""AuthorizationSetup: the SECC lists its authorization services.  With
auth 'pnc' we take PnC when it is offered with a GenChallenge, the
connection runs over TLS (research notes §6.1: never a contract over plain
TCP) and the vehicle has a crypto seam; else EIM, if offered."""

REQ = 'AuthorizationSetupReq'
RES = 'AuthorizationSetupRes'


def request(ev, now):
    return {'Header': ev.header()}


def response(ev, res, now):
    ctx = ev.ctx
    offered = res['AuthorizationServices']
    ctx.auth_offered = tuple(offered)
    ctx.pnc_request = None
    pnc = res.get('PnC_ASResAuthorizationMode')
    if (ctx.pnc and ctx.tls and 'PnC' in offered and pnc is not None
            and ev.vehicle.crypto is not None):
        ctx.auth = 'PnC'
        ctx.challenge = pnc['GenChallenge']
        return 'pnc_offered'
    ctx.auth = 'EIM'
    if 'EIM' not in offered:
        if ctx.pnc:
            return ev.decline('AuthorizationSetup: neither EIM nor PnC over TLS offered', now)
        return ev.decline('AuthorizationSetup: EIM not offered', now)
    return 'eim_offered'
