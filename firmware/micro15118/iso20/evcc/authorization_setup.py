"""AuthorizationSetup: the SECC lists its authorization services.  With
auth 'pnc' we take PnC when it is offered with a GenChallenge, the
connection runs over TLS (research notes §6.1: never a contract over plain
TCP) and the vehicle has a crypto seam; else EIM, if offered.

A PnC vehicle without a contract (no contract_key, install_contract set)
first asks for one when the SECC offers CertificateInstallationService
(outcome 'install': certificate_installation.py); without that offer it
uses EIM, if offered (event ('no_contract', ...))."""

REQ = 'AuthorizationSetupReq'
RES = 'AuthorizationSetupRes'


def request(ev, now):
    return {'Header': ev.header()}


def response(ev, res, now):
    ctx = ev.ctx
    offered = res['AuthorizationServices']
    ctx.auth_offered = tuple(offered)
    ctx.pnc_request = None
    ctx.install_request = ctx.install_evidence = None
    ctx.installing = False
    pnc = res.get('PnC_ASResAuthorizationMode')
    if (ctx.pnc and ctx.tls and 'PnC' in offered and pnc is not None
            and ev.vehicle.crypto is not None):
        ctx.challenge = pnc['GenChallenge']
        if ctx.contract_key is not None:
            ctx.auth = 'PnC'
            return 'pnc_offered'
        if ctx.install and res['CertificateInstallationService']:
            ctx.auth = 'PnC'
            ctx.installing = True
            return 'install'
        ev.events.append(('no_contract', 'CertificateInstallationService not offered'
                          if ctx.install else 'no contract and install_contract not set'))
    ctx.auth = 'EIM'
    if 'EIM' not in offered:
        if ctx.pnc:
            return ev.decline('AuthorizationSetup: neither EIM nor PnC over TLS offered', now)
        return ev.decline('AuthorizationSetup: EIM not offered', now)
    return 'eim_offered'
