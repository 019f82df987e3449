"""CertificateInstallation: the EV without a contract gets one over the
SECC (the CPS/MO behind it makes it).  Sent from the Authorization state
(authorization.py hands over while ctx.installing) when AuthorizationSetup
offered PnC with CertificateInstallationService, the config asks for it
(install_contract) and the vehicle has no contract yet.

Request, built once and repeated unchanged but for the timestamp while the
SECC answers Ongoing: OEMProvisioningCertificateChain (Id "id1", the OEM
provisioning leaf and its sub-CAs) signed in the Header with the OEM
provisioning key through the crypto seam (xmldsig.sign: the SE050), the
config's ListOfRootCertificateIDs (the V2G roots the EV trusts),
MaximumContractCertificateChains and PrioritizedEMAIDs.

Response, Finished and OK:
1. the SignedInstallationData and its Signature are checked for structure
   here (xmldsig.evidence: one Reference to its Id, SHA-512, ECDSA-SHA512);
2. the vehicle's verifier seam decides on the rest
   (vehicle.verify_installation(evidence, now): the digest, the CPS
   leaf's signature over SignedInfo, the CPS chain to a V2G root; None
   while it is pending, the EVCC asks again after ongoing_delay_ms, up to
   timeouts['install_verify']);
3. contract_key.install(): ECDH with the OEM provisioning key in the
   SE050, the session key, AES-GCM, the key into the SE050 as a key pair
   and checked (contract_key.py says how, and where the plaintext is);
4. the contract chain into SE050 binary objects (config contract_slot:
   key 0x15118400 + slot, leaf 0x15118480 + slot, sub-CAs 0x15118500 +
   4 * slot + i), then ctx.contract_key / contract_chain name them and the
   EV goes on with PnC Authorization, signing with the new key over the
   GenChallenge of AuthorizationSetupRes.  Event ('contract_installed',
   {"key", "chain", "emaid", "remaining"}): the app keeps the references
   for the next session (the Evcc config's contract_key / contract_chain).
A WARNING (the CPS refused) or a response that fails 1-4 (nothing is
imported then): ('install_refused', code) / ('install_invalid', why), and
EIM if the SECC offered it and eim_fallback allows, else the session ends
politely.  X448 and TPM-wrapped keys are refused as invalid (the SE050 has
no Ed448 and we have no TPM).
"""
from .. import msg
from .. import xmldsig
from . import contract_key
from . import der

REQ = 'CertificateInstallationReq'
RES = 'CertificateInstallationRes'
SCHEMA = '-20:CommonMessages'
OEM = 'OEMProvisioningCertificateChain'
SID = 'SignedInstallationData'

KEY_BASE = 0x15118400           # host/pki/se050.py's object map
CERT_BASE = 0x15118480
SUB_CA_BASE = 0x15118500        # ours: 4 per slot (the XSD allows 3 sub-CAs)


def refs(slot):
    """(key, leaf, [sub-CA objects]) of a contract slot."""
    return (KEY_BASE + slot, CERT_BASE + slot,
            [SUB_CA_BASE + 4 * slot + i for i in range(3)])


def _build(ev):
    ctx = ev.ctx
    v = ev.vehicle
    chain = [v.certificate(r) for r in ctx.oem_chain]
    if ctx.pcid is None:
        ctx.pcid = der.fields(chain[0])['cn']
        if not ctx.pcid:
            raise ValueError('the OEM provisioning certificate has no CN (PCID)')
    element = {'@Id': 'id1', 'Certificate': chain[0],
               'SubCertificates': {'Certificate': chain[1:]}}
    sig = xmldsig.sign(v.crypto, ctx.oem_key, SCHEMA, [(OEM, element)])
    return element, sig


def request(ev, now):
    ctx = ev.ctx
    if ctx.install_request is None:
        ctx.install_request = _build(ev)
    element, sig = ctx.install_request
    h = ev.header()
    h['Signature'] = sig
    body = {'Header': h, OEM: element,
            'ListOfRootCertificateIDs': {'RootCertificateID': list(ctx.root_ids)},
            'MaximumContractCertificateChains': ctx.max_chains}
    if ctx.emaids:
        body['PrioritizedEMAIDs'] = {'EMAID': list(ctx.emaids)}
    return body


def response(ev, res, now):
    ctx = ev.ctx
    code = res['ResponseCode']
    if code.startswith('WARNING'):
        ev.events.append(('install_refused', code))
        return _without(ev, code, now)
    if res['EVSEProcessing'] != msg.FINISHED:
        return 'install_ongoing'
    try:
        ctx.install_evidence = (_evidence(res), res)
    except ValueError as e:
        return _invalid(ev, 'SignedInstallationData: %s' % e, now)
    ev.await_since = None
    return _verify(ev, now)


def resume(ev, now):
    """The vehicle's verifier was pending: ask it again."""
    return _verify(ev, now)


def _evidence(res):
    data = res[SID]
    if data.get('ECDHCurve') != 'SECP521' or 'SECP521_EncryptedPrivateKey' not in data:
        raise ValueError('only SECP521 key wrapping is supported (no X448, no TPM)')
    e = xmldsig.evidence(SCHEMA, SID, data, res['Header'].get('Signature'))
    if e['method'] != xmldsig.ECDSA_SHA512:
        raise ValueError('signature method %s' % e['method'])
    cps = res['CPSCertificateChain']
    e['leaf'] = cps['Certificate']
    e['sub_cas'] = list(cps.get('SubCertificates', {}).get('Certificate', ()))
    return e


def _verify(ev, now):
    ctx = ev.ctx
    evidence, res = ctx.install_evidence
    verdict = ev.vehicle.verify_installation(evidence, now)
    if verdict is None:
        return 'verifying'
    if verdict is not True:
        return _invalid(ev, 'CPS signature or chain refused: %s' % (verdict,), now)
    try:
        info = _install(ev, res[SID], res['RemainingContractCertificateChains'])
    except Exception as e:          # the key wrap, the certificate, the SE050
        return _invalid(ev, 'contract not installed: %r' % (e,), now)
    ctx.install_evidence = None
    ctx.installing = False
    ctx.auth = 'PnC'
    ctx.pnc_request = None
    ev.ongoing_since = None
    ev.events.append(('contract_installed', info))
    return 'installed'


def _install(ev, data, remaining):
    ctx = ev.ctx
    crypto = ev.vehicle.crypto
    chain = data['ContractCertificateChain']
    leaf = chain['Certificate']
    subs = chain['SubCertificates']['Certificate']
    f = der.fields(leaf)
    if f['curve'] != der.OID_P521 or f['ski'] is None:
        raise ValueError('contract certificate: no P-521 key or no SKI')
    key_ref, leaf_ref, sub_refs = ctx.install_refs
    if len(subs) > len(sub_refs):
        raise ValueError('%d contract sub-CAs' % len(subs))
    contract_key.install(crypto, ctx.oem_key, data['DHPublicKey'], data['SECP521_EncryptedPrivateKey'],
                         contract_key.aad(ctx.pcid, f['ski']), key_ref, f['point'])
    try:
        crypto.write_certificate(leaf_ref, leaf)
        for i in range(len(subs)):
            crypto.write_certificate(sub_refs[i], subs[i])
    except Exception:
        for r in [key_ref, leaf_ref] + sub_refs[:len(subs)]:
            try:
                crypto.delete(r)
            except Exception:
                pass
        raise
    ctx.contract_key = key_ref
    ctx.contract_chain = [leaf_ref] + sub_refs[:len(subs)]
    return {'key': key_ref, 'chain': list(ctx.contract_chain), 'emaid': f['cn'],
            'remaining': remaining}


def _invalid(ev, why, now):
    ev.events.append(('install_invalid', why))
    return _without(ev, why, now)


def _without(ev, why, now):
    """No contract: EIM if offered and allowed, else end politely."""
    ctx = ev.ctx
    ctx.installing = False
    ctx.install_evidence = None
    if ctx.eim_fallback and 'EIM' in ctx.auth_offered:
        ctx.auth = 'EIM'
        ev.ongoing_since = None
        return 'eim_fallback'
    return ev.decline(why, now)
