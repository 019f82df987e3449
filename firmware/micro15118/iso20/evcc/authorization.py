"""Authorization: EIM, or Plug-and-Charge when AuthorizationSetup chose it.

The request is repeated unchanged but for the timestamp while the SECC
answers Ongoing ([V2G20-1582]), for at most V2G_EVCC_Ongoing_Timeout; so
the PnC element and its signature are made once (iso20/xmldsig.py, with
the vehicle's crypto seam: two SHA-512 and one ECDSA in the SE050).

PnC_AReqAuthorizationMode: Id "id1", the SECC's GenChallenge, the contract
chain of the config's contract_chain (leaf, then SubCertificates).
When the signature cannot be made (the crypto seam or the certificate
store fails) or the SECC refuses PnC with a WARNING: EIM if the SECC
offered it and eim_fallback allows, with the next request at once; else
the session ends politely (decline).

A vehicle without a contract first installs one in this state: while
ctx.installing the request is CertificateInstallationReq
(certificate_installation.py), then AuthorizationReq with the new contract.
"""
from .. import msg
from .. import xmldsig
from . import certificate_installation

REQ = 'AuthorizationReq'
RES = 'AuthorizationRes'

PNC = 'PnC_AReqAuthorizationMode'


def names(ctx):
    if ctx.installing:
        return certificate_installation.REQ, certificate_installation.RES
    return REQ, RES


def _pnc_request(ev):
    ctx = ev.ctx
    v = ev.vehicle
    chain = [v.certificate(r) for r in ctx.contract_chain]
    mode = {'@Id': 'id1', 'GenChallenge': ctx.challenge,
            'ContractCertificateChain': {'Certificate': chain[0],
                                         'SubCertificates': {'Certificate': chain[1:]}}}
    sig = xmldsig.sign(v.crypto, ctx.contract_key, '-20:CommonMessages', [(PNC, mode)])
    return mode, sig


def _can_fall_back(ctx):
    return ctx.eim_fallback and 'EIM' in ctx.auth_offered


def request(ev, now):
    ctx = ev.ctx
    if ctx.installing:
        try:
            return certificate_installation.request(ev, now)
        except Exception as e:      # the crypto seam or certificate store failed
            if not _can_fall_back(ctx):
                raise ValueError('CertificateInstallationReq signature: %r' % (e,))
            ev.events.append(('install_unavailable', repr(e)))
            ctx.installing = False
            ctx.auth = 'EIM'
    if ctx.auth == 'PnC' and ctx.pnc_request is None:
        try:
            ctx.pnc_request = _pnc_request(ev)
        except Exception as e:      # the crypto seam or certificate store failed
            if not _can_fall_back(ctx):
                raise ValueError('PnC signature: %r' % (e,))
            ev.events.append(('pnc_unavailable', repr(e)))
            ctx.auth = 'EIM'
    if ctx.auth == 'PnC':
        mode, sig = ctx.pnc_request
        h = ev.header()
        h['Signature'] = sig
        return {'Header': h, 'SelectedAuthorizationService': 'PnC', PNC: mode}
    return {'Header': ev.header(), 'SelectedAuthorizationService': 'EIM',
            'EIM_AReqAuthorizationMode': {}}


def resume(ev, now):
    return certificate_installation.resume(ev, now)


def response(ev, res, now):
    ctx = ev.ctx
    if ctx.installing:
        return certificate_installation.response(ev, res, now)
    code = res['ResponseCode']
    if code.startswith('WARNING'):
        if ctx.auth == 'PnC' and _can_fall_back(ctx):
            # PnC refused (a certificate, the eMSP, the challenge): EIM instead
            ev.events.append(('pnc_refused', code))
            ctx.auth = 'EIM'
            ctx.pnc_request = None
            ev.ongoing_since = None
            return 'eim_fallback'
        # not authorized (e.g. WARNING_EIMAuthorizationFailure): end politely
        return ev.decline(code, now)
    if res['EVSEProcessing'] != msg.FINISHED:
        return 'ongoing'
    return 'authorized'
