"""AuthorizationSetup: the SECC lists its authorization services; we use EIM
(Plug-and-Charge comes with the security issue: here is its seam)."""

REQ = 'AuthorizationSetupReq'
RES = 'AuthorizationSetupRes'


def request(ev, now):
    return {'Header': ev.header()}


def response(ev, res, now):
    if 'EIM' not in res['AuthorizationServices']:
        return ev.decline('AuthorizationSetup: EIM not offered', now)
    return 'eim_offered'
