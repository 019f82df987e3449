"""The charger's Plug-and-Charge verifier (CPython host).

    v = Verifier.from_pki("DIR")                 # trust: DIR's roots, CRLs, OCSP
    charger = Charger(power, pnc=v)              # the SECC asks v.pnc_authorize(evidence, now)
    code = v.verify(evidence)                    # "OK", "WARNING_...", "FAILED_SignatureError"
    v.log[-1]                                    # (code, [reasons])

The SECC (firmware iso20/secc/authorization.py) hands over the evidence of
a PnC AuthorizationReq (format: iso20/charger.py); this module trusts none
of its parsed fields, only the octets: it decodes the SignedInfo fragment
and the PnC_AReqAuthorizationMode fragment itself (micro15118.exi, the
-20:CommonMessages grammar) and checks, in this order:

1. SignedInfo: canonical EXI, one Reference "#" + the element's Id with
   SHA-512, SignatureMethod ecdsa-sha512 (or eddsa-ed448), and the
   DigestValue equal to SHA-512 of the element fragment;
2. the certificate and challenge the SECC passed are those inside the
   signed element (else FAILED_SignatureError / WARNING_ChallengeInvalid);
3. the SignatureValue (raw r || s) over the SignedInfo octets with the
   contract certificate's key: ECDSA with SHA-512, or Ed448;
   any failure in 1-3 is FAILED_SignatureError (the research notes §6.3);
4. the contract chain with host.pki.profile.check_chain (role
   contract_leaf): path to a trusted root, which must be an MO root, the
   -20 profile, validity at the verification time, revocation by the CRLs
   and OCSP responses given; response_code() maps the violations:
   unknown root WARNING_eMSPUnknown, revoked WARNING_CertificateRevoked,
   expired WARNING_CertificateExpired, not yet valid
   WARNING_CertificateNotYetValid, any other WARNING_CertificateValidationError;
5. optional: `expires_soon_days`: a leaf ending within that many days
   answers OK_CertificateExpiresSoon; `authorize(emaid, leaf, sub_cas)`:
   the eMSP / CSMS decision on the contract (True, False, or a -20 code;
   False is WARNING_GeneralPnCAuthorizationError).

Evidence that is not even well formed is WARNING_GeneralPnCAuthorizationError.
The signature is checked before the chain (as python-iso15118's SECC does):
a request whose signature does not verify ends the session whatever its
certificates, and a chain problem leaves the EV the choice of EIM.
"""
import datetime as dt
import hashlib
import hmac
import json
import os

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509 import ocsp

from micro15118 import exi
from micro15118.iso20 import xmldsig
from host.pki import profile as _profile

SCHEMA = "-20:CommonMessages"
ELEMENT = "PnC_AReqAuthorizationMode"

OK = "OK"
EXPIRES_SOON = "OK_CertificateExpiresSoon"
SIGNATURE_ERROR = "FAILED_SignatureError"
CHALLENGE_INVALID = "WARNING_ChallengeInvalid"
GENERAL_ERROR = "WARNING_GeneralPnCAuthorizationError"
VALIDATION_ERROR = "WARNING_CertificateValidationError"


class Refused(Exception):
    def __init__(self, code, why):
        Exception.__init__(self, why)
        self.code = code


def signed_element(ev, element_name):
    """(element, evidence) of a signed request: the element decoded from
    the octets that were signed, and xmldsig.evidence of it (method,
    signature, signed_info = the signed octets, digest).  Both fragments decode, re-encode to themselves (canonical),
    the SignedInfo passes the SECC's structural checks, and its digest is
    the element's SHA-512.  Raises Refused(FAILED_SignatureError) otherwise.
    The signature itself is checked by the caller, with the signer's key."""
    octets = bytes(ev["signed_info"])
    element = bytes(ev["element"])
    try:
        si = exi.decode(SCHEMA, octets, fragment=True)["SignedInfo"]
        decoded = exi.decode(SCHEMA, element, fragment=True)[element_name]
    except (exi.ExiError, KeyError, TypeError) as e:
        raise Refused(SIGNATURE_ERROR, "fragments do not decode: %s" % e) from None
    try:
        # the structural checks the SECC made, on what was signed
        sig = {"SignedInfo": si, "SignatureValue": {"#text": bytes(ev["signature"])}}
        mine = xmldsig.evidence(SCHEMA, element_name, decoded, sig)
    except ValueError as e:
        raise Refused(SIGNATURE_ERROR, "SignedInfo: %s" % e) from None
    if mine["element"] != element or mine["signed_info"] != octets:
        raise Refused(SIGNATURE_ERROR, "fragments are not canonical")
    if ev.get("digest") is not None and bytes(ev["digest"]) != mine["digest"]:
        raise Refused(SIGNATURE_ERROR, "digest differs from the SignedInfo's")
    if not hmac.compare_digest(hashlib.sha512(element).digest(), mine["digest"]):
        raise Refused(SIGNATURE_ERROR, "digest of %s does not match" % element_name)
    return decoded, mine


def _cert(der, what):
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except (ValueError, TypeError) as e:
        raise Refused(VALIDATION_ERROR, "%s does not parse: %s" % (what, e)) from None


def _load_certs(items):
    """Certificates from x509 objects, DER/PEM bytes or file paths."""
    out = []
    for c in items:
        if isinstance(c, x509.Certificate):
            out.append(c)
            continue
        if isinstance(c, (str, os.PathLike)):
            with open(c, "rb") as f:
                c = f.read()
        if c.lstrip().startswith(b"-----"):
            out.extend(x509.load_pem_x509_certificates(c))
        else:
            out.append(x509.load_der_x509_certificate(c))
    return out


def _load_crls(items):
    out = []
    for c in items:
        if isinstance(c, (str, os.PathLike)):
            with open(c, "rb") as f:
                c = f.read()
        if isinstance(c, bytes):
            c = (x509.load_pem_x509_crl(c) if c.lstrip().startswith(b"-----")
                 else x509.load_der_x509_crl(c))
        out.append(c)
    return out


def _load_ocsp(items):
    out = []
    for r in items:
        if isinstance(r, (str, os.PathLike)):
            with open(r, "rb") as f:
                r = f.read()
        if isinstance(r, bytes):
            r = ocsp.load_der_ocsp_response(r)
        out.append(r)
    return out


class Verifier:
    """The PnC verifier a Charger takes as ``pnc`` (module docstring).

    anchors: trusted roots (x509, DER/PEM bytes or files); a charger holds
    the V2G, MO and OEM roots, and check_chain insists that a contract chain
    ends in an MO root.  crls, ocsp_responses: revocation information
    (objects, bytes or files).  clock() -> aware datetime, the verification
    time (default: now).  profile: "iso20" (default) or "iso2"."""

    def __init__(self, anchors, crls=(), ocsp_responses=(), clock=None, profile="iso20",
                 authorize=None, expires_soon_days=None):
        self.anchors = _load_certs(anchors)
        self.crls = _load_crls(crls)
        self.ocsp_responses = _load_ocsp(ocsp_responses)
        self.clock = clock or _profile.now_utc
        self.profile = _profile.profile_of(profile)
        self.authorize = authorize
        self.expires_soon_days = expires_soon_days
        self.log = []               # (code, [reasons]) per verification

    @classmethod
    def from_pki(cls, directory, **kw):
        """Trust a ``micro15118 pki`` directory: its roots, CRLs and OCSP responses."""
        from host.pki.ca import Pki
        pki = Pki.open(directory)
        kw.setdefault("profile", pki.profile)
        return cls(pki.roots(), pki.crls(), pki.ocsp_responses(), **kw)

    @classmethod
    def from_case(cls, case_dir, **kw):
        """The trust store, CRLs and OCSP responses of a ``pki variants`` case."""
        with open(os.path.join(case_dir, "case.json")) as f:
            case = json.load(f)
        path = lambda p: os.path.join(case_dir, p)  # noqa: E731
        kw.setdefault("profile", case.get("profile", "iso20"))
        return cls([path(p) for p in case["trust"]], [path(p) for p in case.get("crls", ())],
                   [path(p) for p in case.get("ocsp", ())], **kw)

    # -- the Charger seam -------------------------------------------------------
    def pnc_authorize(self, evidence, now):
        """Charger.pnc's call: decides at once (never None)."""
        return self.verify(evidence)

    def verify(self, evidence, at=None):
        code, why = self.check(evidence, at)
        self.log.append((code, why))
        return code

    # -- the checks ---------------------------------------------------------------
    def check(self, evidence, at=None):
        """(ResponseCode, [reasons])."""
        at = at or self.clock()
        try:
            leaf, subs, mode = self._signed(evidence)
            return self._chain(leaf, subs, at)
        except Refused as e:
            return e.code, [str(e)]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            return GENERAL_ERROR, ["evidence not well formed: %r" % (e,)]
        except Exception as e:  # noqa: BLE001
            # cryptography parses a certificate's fields when first read and
            # raises many classes for a malformed one (UnsupportedAlgorithm
            # for an unknown curve, DuplicateExtension, ...): an EV must not
            # make the verifier raise
            return VALIDATION_ERROR, ["malformed certificate: %s: %s" % (type(e).__name__, e)]

    def _signed(self, ev):
        """Steps 1-3: the signature; returns (leaf, sub-CAs, the signed element)."""
        mode, mine = signed_element(ev, ELEMENT)
        octets = mine["signed_info"]
        chain = mode["ContractCertificateChain"]
        leaf_der = chain["Certificate"]
        subs_der = chain["SubCertificates"]["Certificate"]
        if bytes(ev["leaf"]) != leaf_der or [bytes(c) for c in ev.get("sub_cas", subs_der)] != subs_der:
            raise Refused(SIGNATURE_ERROR, "certificates are not the signed ones")
        if ev.get("challenge") is not None and bytes(ev["challenge"]) != mode["GenChallenge"]:
            raise Refused(CHALLENGE_INVALID, "GenChallenge is not the signed one")
        leaf = _cert(leaf_der, "contract certificate")
        subs = [_cert(c, "sub-CA %d" % i) for i, c in enumerate(subs_der)]
        _verify(leaf.public_key(), mine["method"], mine["signature"], octets)
        return leaf, subs, mode

    def _chain(self, leaf, subs, at):
        violations = _profile.check_chain(leaf, subs, self.anchors, "contract_leaf", profile=self.profile,
                                          at=at, crls=self.crls, ocsp_responses=self.ocsp_responses)
        code = _profile.response_code(violations)
        why = [str(v) for v in violations]
        if code != OK:
            return code, why
        days = self.expires_soon_days
        if days is not None and leaf.not_valid_after_utc - at <= dt.timedelta(days=days):
            code = EXPIRES_SOON
            why.append("contract certificate expires %s" % leaf.not_valid_after_utc.isoformat())
        if self.authorize is not None:
            emaid = _profile.common_name(leaf.subject)
            verdict = self.authorize(emaid, leaf, subs)
            if verdict is not True:
                code = verdict if isinstance(verdict, str) else GENERAL_ERROR
                why.append("eMSP/CSMS: %s for %s" % (code, emaid))
        return code, why


def _verify(key, method, raw, octets):
    try:
        if method == xmldsig.ECDSA_SHA512 and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(xmldsig.raw_to_der(raw), octets, ec.ECDSA(hashes.SHA512()))
        elif method == xmldsig.EDDSA_ED448 and isinstance(key, ed448.Ed448PublicKey):
            key.verify(raw, octets)
        else:
            raise Refused(SIGNATURE_ERROR, "%s cannot be verified with a %s key"
                          % (method, _profile.key_kind(key)))
    except InvalidSignature:
        raise Refused(SIGNATURE_ERROR, "SignatureValue does not verify with the contract key") from None
