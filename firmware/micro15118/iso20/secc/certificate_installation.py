"""CertificateInstallation: an EV without a contract asks for one; the
CPS/MO behind the charger makes it, the SECC only forwards.

Accepted after an AuthorizationSetupRes that offered PnC with
CertificateInstallationService (secc/states.py), before AuthorizationReq.

1. The Header's Signature must be one over OEMProvisioningCertificateChain
   (its Id; canonical EXI, SHA-512, ECDSA-SHA512 or Ed448, sizes), else
   FAILED_SignatureError (iso20/xmldsig.py evidence()); the SECC does no
   SHA-512 or P-521 itself.
2. The evidence goes to `charger.certificate_installation(evidence, now)`
   (format in iso20/charger.py): the backend checks the digest, the OEM
   provisioning key's signature and the OEM chain, then asks the MO for a
   contract and the CPS for SignedInstallationData.  None keeps us at
   EVSEProcessing=Ongoing (the EV repeats its request unchanged but for the
   timestamp; the same evidence object is asked again) up to the
   "install_ongoing" limit, then WARNING_NoCertificateAvailable (our
   choice: nothing to install now, the EV may still use EIM).  An answer
   is (ResponseCode, fields): with an OK code, fields holds
   CPSCertificateChain, SignedInstallationData,
   RemainingContractCertificateChains and the Header's Signature (the CPS
   leaf's, over SignedInstallationData), which the SECC passes on as they
   are: the EV checks them.  A WARNING (the OEM chain: _CertificateExpired
   / _NotYetValid / _Revoked / _ValidationError; _NoCertificateAvailable,
   _NoContractMatchingPCIDFound) refuses, the session goes on (AuthorizationReq
   with EIM, or SessionStopReq); FAILED_SignatureError or FAILED end it.
   A code outside that list, or an OK without its fields, counts as
   WARNING_NoCertificateAvailable (fail closed: nothing forwarded).
A response that carries no installation (Ongoing, a refusal) still needs
the schema's mandatory CPSCertificateChain and SignedInstallationData: it
gets the neutral ones of secc/failed.py, which the EV must not use.
"""
from .. import msg
from .. import xmldsig
from . import failed

SCHEMA = "-20:CommonMessages"
OEM = "OEMProvisioningCertificateChain"
FIELDS = ("CPSCertificateChain", "SignedInstallationData", "RemainingContractCertificateChains")

VERDICTS = (msg.OK, msg.WARNING_CERTIFICATE_EXPIRED, msg.WARNING_CERTIFICATE_NOT_YET_VALID,
            msg.WARNING_CERTIFICATE_REVOKED, msg.WARNING_CERTIFICATE_VALIDATION_ERROR,
            msg.WARNING_NO_CERTIFICATE_AVAILABLE, msg.WARNING_NO_CONTRACT_MATCHING_PCID_FOUND,
            msg.FAILED_SIGNATURE_ERROR, msg.FAILED)


def _rest(body):
    """What the EV asks for besides the signed chain (not signed)."""
    ids = body["ListOfRootCertificateIDs"]["RootCertificateID"]
    emaids = body.get("PrioritizedEMAIDs")
    return {"root_ids": [(r["X509IssuerName"], r["X509SerialNumber"]) for r in ids],
            "max_chains": body["MaximumContractCertificateChains"],
            "emaids": list(emaids["EMAID"]) if emaids else []}


def handle(s, name, body, now):
    ctx = s.ctx
    res = failed.body("CertificateInstallationRes", msg.OK, s.hdr())
    chain = body[OEM]
    sig = body["Header"].get("Signature")
    rest = _rest(body)
    pending = ctx.install_request
    if pending is not None and pending[0] == chain and pending[1] == sig and pending[2] == rest:
        evidence = ctx.install_evidence     # the EV repeats its request while Ongoing
    else:
        ctx.install_request = ctx.install_evidence = ctx.install_since = None
        try:
            evidence = xmldsig.evidence(SCHEMA, OEM, chain, sig)
        except ValueError:
            return _verdict(s, res, msg.FAILED_SIGNATURE_ERROR, None)
        evidence["leaf"] = chain["Certificate"]
        evidence["sub_cas"] = list(chain.get("SubCertificates", {}).get("Certificate", ()))
        evidence["evccid"] = ctx.evccid
        evidence.update(rest)
        ctx.install_request = (chain, sig, rest)
        ctx.install_evidence = evidence
        s.events.append(("install_request", ctx.evccid))
    answer = s.charger.certificate_installation(evidence, now)
    if answer is None:
        if ctx.install_since is None:
            ctx.install_since = now
        elif now - ctx.install_since > s.cfg["timers"]["install_ongoing"]:
            return _verdict(s, res, msg.WARNING_NO_CERTIFICATE_AVAILABLE, None)
        res["EVSEProcessing"] = msg.ONGOING
        return res, "ongoing"
    try:
        code, fields = answer
    except (TypeError, ValueError):
        code, fields = None, None
    return _verdict(s, res, code, fields)


def _verdict(s, res, code, fields):
    ctx = s.ctx
    ctx.install_request = ctx.install_evidence = ctx.install_since = None
    if code not in VERDICTS:
        code = msg.WARNING_NO_CERTIFICATE_AVAILABLE
    if code == msg.OK and not (isinstance(fields, dict) and all(k in fields for k in FIELDS)
                               and isinstance(fields.get("Signature"), dict)):
        code = msg.WARNING_NO_CERTIFICATE_AVAILABLE
    s.events.append(("cert_install", code))
    res["ResponseCode"] = code
    if code != msg.OK:
        return res, ("refused" if code.startswith("WARNING") else None)
    for k in FIELDS:
        res[k] = fields[k]
    res["Header"]["Signature"] = fields["Signature"]
    return res, "installed"
