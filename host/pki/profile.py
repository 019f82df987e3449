"""The ISO 15118-20 certificate profile checker (CPython host; needs
``cryptography``).

``check_chain(leaf, sub_cas, anchors, role=...)`` returns a list of
``Violation``: empty means the chain is acceptable.  It is what a charger
(SECC) does with a contract chain in a PnC AuthorizationReq, and what either
side does with the peer's TLS chain; ``response_code(violations)`` gives the
-20 ResponseCode the SECC answers in AuthorizationRes.

What is checked (role profiles in ``host.pki.roles``; their sources there):

* path: ``sub_cas`` ordered leaf-side first, as in -20 SubCertificates; each
  certificate names and is signed by the next, the last by one of
  ``anchors``; at most ``MAX_SUB_CAS`` sub-CAs, at least one.
* per certificate: X.509 v3; key and signature algorithm of the profile
  (``iso20``: secp521r1 with ECDSA-SHA512 or Ed448; ``iso2``: secp256r1 with
  ECDSA-SHA256); basicConstraints critical, CA flag and path length of the
  role; keyUsage critical with the role's bits, no CA bits on a leaf; the
  OCSPSigning EKU on an OCSP signer; the DC attribute of the role; SKI
  present, AKI matching the issuer's SKI; serial positive and at most 20
  octets; a contract leaf's CN a well-formed eMAID (check character verified
  when there is one).
* the root a chain ends in must be of the chain's kind (its DC): a contract
  chain that ends in the V2G root is rejected even though it verifies.
* time: not before / not after at ``at`` (default now).
* revocation, when CRLs or OCSP responses are given: a CRL counts only if
  its issuer's signature verifies, an OCSP response only if signed by the
  issuer or by a responder the issuer certified for OCSP signing.

Violation codes, and the -20 ResponseCode each maps to (AuthorizationRes,
PnC; the -20 XSD's responseCodeType has no FAILED_CertChainError, which was
-2's answer to chain and signature errors):

=====================  ==================================
code                   -20 ResponseCode
=====================  ==================================
unknown_root           WARNING_eMSPUnknown (contract chain: no trusted MO root)
revoked                WARNING_CertificateRevoked
expired                WARNING_CertificateExpired
not_yet_valid          WARNING_CertificateNotYetValid
any other              WARNING_CertificateValidationError
=====================  ==================================

FAILED_SignatureError is for the XMLDSig signature over
PnC_AReqAuthorizationMode, not for a certificate's signature.
"""
import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from host.pki import emaid as _emaid
from host.pki.roles import CHAIN_ROOT_DC, MAX_SUB_CAS, ROLES, role as _role

PROFILES = ("iso20", "iso2")

# Violation code -> -20 ResponseCode (AuthorizationRes), and the -2 code for
# a -2 peer (python-iso15118's -2 SECC mapping: not-yet-valid answers as
# expired, chain and signature errors as FAILED_CertChainError).
RESPONSE_CODES = {
    "unknown_root": "WARNING_eMSPUnknown",
    "revoked": "WARNING_CertificateRevoked",
    "expired": "WARNING_CertificateExpired",
    "not_yet_valid": "WARNING_CertificateNotYetValid",
}
RESPONSE_CODES_ISO2 = {
    "unknown_root": "FAILED_CertChainError",
    "signature": "FAILED_CertChainError",
    "issuer_mismatch": "FAILED_CertChainError",
    "chain_length": "FAILED_CertChainError",
    "root_mismatch": "FAILED_CertChainError",
    "revoked": "FAILED_CertificateRevoked",
    "expired": "FAILED_CertificateExpired",
    "not_yet_valid": "FAILED_CertificateExpired",
}
# Which violation decides the answer when there are several: a chain that
# does not link to a trusted root says nothing trustworthy about the rest.
PRIORITY = ("unknown_root", "signature", "issuer_mismatch", "root_mismatch", "chain_length",
            "revoked", "expired", "not_yet_valid")


class Violation:
    __slots__ = ("code", "cert", "message")

    def __init__(self, code, cert, message):
        self.code = code          # machine-readable reason, see the module docstring
        self.cert = cert          # which certificate (role name or subject)
        self.message = message

    def __repr__(self):
        return "Violation(%r, %r, %r)" % (self.code, self.cert, self.message)

    def __str__(self):
        return "%s: %s: %s" % (self.cert, self.code, self.message)

    def as_dict(self):
        return {"code": self.code, "cert": self.cert, "message": self.message}


def response_code(violations, iso2=False):
    """The ResponseCode a SECC answers for a contract chain with these
    violations ("OK" for none)."""
    if not violations:
        return "OK"
    codes = {v.code for v in violations}
    first = next((c for c in PRIORITY if c in codes), violations[0].code)
    if iso2:
        return RESPONSE_CODES_ISO2.get(first, "FAILED")
    return RESPONSE_CODES.get(first, "WARNING_CertificateValidationError")


# ---------------------------------------------------------------------------
# small helpers shared with the generator and ``inspect``

def now_utc():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def key_kind(public_key):
    """'secp521r1', 'secp256r1', 'ed448', ... of a public key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return public_key.curve.name
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "ed448"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return type(public_key).__name__


def dc_values(name):
    return [a.value for a in name.get_attributes_for_oid(NameOID.DOMAIN_COMPONENT)]


def common_name(name):
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return cns[0].value if cns else None


def _ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def key_usage_names(ku):
    out = set()
    for name in ("digital_signature", "content_commitment", "key_encipherment",
                 "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign"):
        if getattr(ku, name):
            out.add(name)
    return out


def _aware(t):
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _verify_signature(public_key, signature, data, hash_alg):
    """True when ``signature`` over ``data`` verifies with ``public_key``."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_alg))
        elif isinstance(public_key, (ed448.Ed448PublicKey, ed25519.Ed25519PublicKey)):
            public_key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True


def issued_by(cert, issuer):
    """True when ``issuer`` names and signs ``cert``."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# ---------------------------------------------------------------------------
# one certificate against one role

_ALGORITHMS = {
    # profile -> {key kind: signature algorithm OIDs a certificate signed by
    # such a key may carry}
    "iso20": {"secp521r1": (SignatureAlgorithmOID.ECDSA_WITH_SHA512,),
              "ed448": (SignatureAlgorithmOID.ED448,)},
    "iso2": {"secp256r1": (SignatureAlgorithmOID.ECDSA_WITH_SHA256,)},
}


def profile_of(name):
    """Checker profile of a generator profile name (ed448 -> iso20)."""
    if name in ("iso20", "ed448"):
        return "iso20"
    if name == "iso2":
        return "iso2"
    raise ValueError("unknown profile %r (iso20, ed448, iso2)" % (name,))


def check_certificate(cert, role, profile="iso20", label=None):
    """Profile violations of one certificate in ``role`` (a role name or
    ``host.pki.roles.Role``).  Time, chain and revocation are not looked at.
    A field that does not parse is the violation "malformed" (check_chain)."""
    try:
        return _check_certificate(cert, role, profile, label)
    except Exception as e:  # noqa: BLE001 - cryptography parses lazily, see check_chain
        return [Violation("malformed", label or getattr(role, "name", role), "%s: %s" % (type(e).__name__, e))]


def _check_certificate(cert, role, profile, label):
    r = _role(role) if isinstance(role, str) else role
    prof = profile_of(profile)
    label = label or r.name
    out = []

    def bad(code, message):
        out.append(Violation(code, label, message))

    if cert.version != x509.Version.v3:
        bad("version", "not an X.509 v3 certificate")
    kind = key_kind(cert.public_key())
    allowed = _ALGORITHMS[prof]
    if kind not in allowed:
        bad("key_type", "%s key; the %s profile wants %s" % (kind, prof, " or ".join(allowed)))
    sig_oid = cert.signature_algorithm_oid
    if not any(sig_oid in oids for oids in allowed.values()):
        bad("signature_algorithm", "signed with %s; the %s profile wants %s" % (
            getattr(sig_oid, "_name", sig_oid.dotted_string), prof,
            " or ".join(o._name for oids in allowed.values() for o in oids)))
    serial = cert.serial_number
    if serial <= 0 or serial.bit_length() > 159:
        bad("serial_number", "serial %d not positive or longer than 20 octets" % serial)

    bc = _ext(cert, x509.BasicConstraints)
    if bc is None:
        bad("basic_constraints", "no basicConstraints")
    else:
        if not bc.critical:
            bad("basic_constraints", "basicConstraints not critical")
        if bc.value.ca != r.is_ca:
            bad("basic_constraints", "cA=%s, the role wants %s" % (bc.value.ca, r.is_ca))
        if r.kind in ("sub1", "sub2") and bc.value.path_length != r.path_length:
            bad("path_length", "pathLenConstraint %s, %s wants %s" % (
                bc.value.path_length, r.kind.replace("sub", "Sub-CA "), r.path_length))

    ku = _ext(cert, x509.KeyUsage)
    if ku is None:
        bad("key_usage", "no keyUsage")
    else:
        if not ku.critical:
            bad("key_usage", "keyUsage not critical")
        have = key_usage_names(ku.value)
        missing = r.key_usage - have
        if missing:
            bad("key_usage", "keyUsage lacks %s" % ", ".join(sorted(missing)))
        if not r.is_ca and have & {"key_cert_sign", "crl_sign"}:
            bad("key_usage", "a leaf with %s" % ", ".join(sorted(have & {"key_cert_sign", "crl_sign"})))

    eku = _ext(cert, x509.ExtendedKeyUsage)
    if r.eku_ocsp and (eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku.value):
        bad("extended_key_usage", "an OCSP signer without the OCSPSigning EKU")

    if r.dc is not None:
        dcs = dc_values(cert.subject)
        if not dcs:
            bad("domain_component", "no DC attribute; the role wants DC=%s" % "/".join(r.dc))
        elif any(v not in r.dc for v in dcs):
            bad("domain_component", "DC=%s; the role wants DC=%s" % (",".join(dcs), "/".join(r.dc)))

    if _ext(cert, x509.SubjectKeyIdentifier) is None:
        bad("subject_key_identifier", "no subjectKeyIdentifier")
    if r.kind != "root" and _ext(cert, x509.AuthorityKeyIdentifier) is None:
        bad("authority_key_identifier", "no authorityKeyIdentifier")

    if r.name == "contract_leaf":
        cn = common_name(cert.subject)
        try:
            _emaid.parse(cn or "")
        except ValueError as exc:
            bad("emaid", str(exc))
    return out


def check_validity(cert, at, label):
    at = _aware(at)
    if at < cert.not_valid_before_utc:
        return [Violation("not_yet_valid", label, "valid from %s" % cert.not_valid_before_utc.isoformat())]
    if at > cert.not_valid_after_utc:
        return [Violation("expired", label, "expired %s" % cert.not_valid_after_utc.isoformat())]
    return []


# ---------------------------------------------------------------------------
# revocation

def _crl_status(cert, issuer, crls, label):
    for crl in crls:
        if crl.issuer != cert.issuer:
            continue
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):
            return [Violation("revocation_info", label, "CRL of %s not signed by the issuer" %
                              crl.issuer.rfc4514_string())]
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            return [Violation("revoked", label, "on the CRL since %s" %
                              entry.revocation_date_utc.isoformat())]
    return []


def ocsp_signer_ok(response, issuer):
    """(ok, why): is ``response`` signed by ``issuer`` or by a responder that
    ``issuer`` certified for OCSP signing (RFC 6960 4.2.2.2)?"""
    candidates = [issuer] + list(response.certificates)
    for signer in candidates:
        if signer is not issuer:
            if not issued_by(signer, issuer):
                continue
            eku = _ext(signer, x509.ExtendedKeyUsage)
            if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku.value:
                continue
        if _verify_signature(signer.public_key(), response.signature, response.tbs_response_bytes,
                             response.signature_hash_algorithm):
            return True, ""
    return False, "OCSP response not signed by the issuer or a responder it certified"


def ocsp_matches(single, cert, issuer):
    """Does an OCSP SingleResponse name ``cert`` (issued by ``issuer``)?"""
    if single.serial_number != cert.serial_number:
        return False
    want = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, single.hash_algorithm).build()
    return (want.issuer_name_hash == single.issuer_name_hash
            and want.issuer_key_hash == single.issuer_key_hash)


def _ocsp_status(cert, issuer, responses, at, label):
    for resp in responses:
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            continue
        for single in resp.responses:
            if issuer is None or not ocsp_matches(single, cert, issuer):
                continue
            ok, why = ocsp_signer_ok(resp, issuer)
            if not ok:
                return [Violation("revocation_info", label, why)]
            if single.next_update_utc is not None and _aware(at) > single.next_update_utc:
                return [Violation("revocation_info", label, "OCSP response out of date (nextUpdate %s)"
                                  % single.next_update_utc.isoformat())]
            if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
                return [Violation("revoked", label, "OCSP: revoked %s" %
                                  single.revocation_time_utc.isoformat())]
            if single.certificate_status == ocsp.OCSPCertStatus.UNKNOWN:
                return [Violation("revocation_info", label, "OCSP: status unknown")]
            return []
    return []


# ---------------------------------------------------------------------------
# a whole chain

def check_chain(leaf, sub_cas, anchors, role, profile="iso20", at=None, crls=(), ocsp_responses=(),
                private_environment=False):
    """Violations of the chain ``leaf`` <- ``sub_cas`` (leaf-side first) <-
    one of ``anchors`` (trusted roots), the leaf in ``role``.

    ``crls`` and ``ocsp_responses``: revocation information to apply
    (``x509.CertificateRevocationList`` / ``ocsp.OCSPResponse``).
    ``private_environment``: no sub-CAs expected (-2/-20 PE chains).

    A certificate from a peer is parsed lazily by ``cryptography``: a field
    read for the first time (extensions, names, the key of an unknown curve)
    can raise one of many classes (DuplicateExtension, UnsupportedAlgorithm,
    KeyError, ...).  Any of them is a malformed chain, reported as the
    violation "malformed", never an exception (tests/test_cert_fuzz.py)."""
    try:
        return _check_chain(leaf, sub_cas, anchors, role, profile, at, crls, ocsp_responses,
                            private_environment)
    except Exception as e:  # noqa: BLE001 - see the docstring
        return [Violation("malformed", getattr(role, "name", role), "%s: %s" % (type(e).__name__, e))]


def _check_chain(leaf, sub_cas, anchors, role, profile, at, crls, ocsp_responses, private_environment):
    at = at or now_utc()
    leaf_role = _role(role) if isinstance(role, str) else role
    out = []
    sub_cas = list(sub_cas)

    # Role of each position, leaf-side first: leaf, Sub-CA 2, Sub-CA 1 (a
    # lone sub-CA is Sub-CA 2, issued by the root directly); extra sub-CAs
    # beyond that have no role (None).
    sub_roles = []
    r = ROLES.get(leaf_role.issuer) if leaf_role.issuer else None
    while r is not None and r.kind != "root":
        sub_roles.append(r)
        r = ROLES.get(r.issuer) if r.issuer else None
    position_roles = [leaf_role] + [sub_roles[i] if i < len(sub_roles) else None
                                    for i in range(len(sub_cas))]

    labels = [leaf_role.name] + [position_roles[i + 1].name if position_roles[i + 1]
                                 else "sub_ca[%d]" % i for i in range(len(sub_cas))]

    # Chain length.
    if private_environment:
        if sub_cas:
            out.append(Violation("chain_length", leaf_role.name,
                                 "%d sub-CAs in a private environment chain" % len(sub_cas)))
    elif not sub_cas:
        out.append(Violation("chain_length", leaf_role.name, "no sub-CA (at least 1 expected)"))
    elif len(sub_cas) > MAX_SUB_CAS:
        out.append(Violation("chain_length", leaf_role.name,
                             "%d sub-CAs, at most %d allowed" % (len(sub_cas), MAX_SUB_CAS)))

    # Profiles.
    chain = [leaf] + sub_cas
    for i, cert in enumerate(chain):
        r = position_roles[i]
        if r is None:
            # An extra sub-CA: only the CA basics of any sub-CA.
            bc = _ext(cert, x509.BasicConstraints)
            if bc is None or not bc.value.ca:
                out.append(Violation("basic_constraints", labels[i], "not a CA"))
            continue
        out.extend(check_certificate(cert, r, profile, label=labels[i]))

    # Links: names, signatures, AKI/SKI, path length.
    for i in range(len(sub_cas)):
        child, parent = chain[i], chain[i + 1]
        if child.issuer != parent.subject:
            out.append(Violation("issuer_mismatch", labels[i], "issuer %s, next certificate is %s" % (
                child.issuer.rfc4514_string(), parent.subject.rfc4514_string())))
        elif not issued_by(child, parent):
            out.append(Violation("signature", labels[i], "signature does not verify with %s's key"
                                 % labels[i + 1]))
        out.extend(_aki_matches(child, parent, labels[i]))
        bc = _ext(parent, x509.BasicConstraints)
        if bc is not None and bc.value.path_length is not None and bc.value.path_length < i:
            out.append(Violation("path_length", labels[i + 1], "pathLenConstraint %d with %d sub-CAs below"
                                 % (bc.value.path_length, i)))

    # The anchor.
    top = chain[-1]
    named = [a for a in anchors if a.subject == top.issuer]
    root = next((a for a in named if issued_by(top, a)), None)
    if root is None:
        if named:
            out.append(Violation("signature", labels[-1], "signature does not verify with the trusted root %s"
                                 % named[0].subject.rfc4514_string()))
        else:
            out.append(Violation("unknown_root", labels[-1], "issuer %s is no trusted root"
                                 % top.issuer.rfc4514_string()))
    else:
        out.extend(_aki_matches(top, root, labels[-1]))
        want = CHAIN_ROOT_DC.get(leaf_role.chain)
        have = dc_values(root.subject)
        if want and not any(v in want for v in have):
            out.append(Violation("root_mismatch", labels[-1], "a %s chain ending in root %s (DC=%s), not DC=%s"
                                 % (leaf_role.chain, common_name(root.subject), ",".join(have) or "-",
                                    "/".join(want))))
        bc = _ext(root, x509.BasicConstraints)
        if bc is not None and bc.value.path_length is not None and bc.value.path_length < len(sub_cas):
            out.append(Violation("path_length", "root", "pathLenConstraint %d with %d sub-CAs below"
                                 % (bc.value.path_length, len(sub_cas))))

    # Time.
    for i, cert in enumerate(chain):
        out.extend(check_validity(cert, at, labels[i]))
    if root is not None:
        out.extend(check_validity(root, at, "root"))

    # Revocation.
    issuers = chain[1:] + [root]
    for i, cert in enumerate(chain):
        found = _crl_status(cert, issuers[i], crls, labels[i])
        found += _ocsp_status(cert, issuers[i], ocsp_responses, at, labels[i])
        seen = set()
        for v in found:
            if (v.code, v.cert) not in seen:
                seen.add((v.code, v.cert))
                out.append(v)
    return out


def _aki_matches(child, parent, label):
    aki = _ext(child, x509.AuthorityKeyIdentifier)
    ski = _ext(parent, x509.SubjectKeyIdentifier)
    if aki is None or ski is None or aki.value.key_identifier is None:
        return []  # absence is reported by check_certificate
    if aki.value.key_identifier != ski.value.digest:
        return [Violation("authority_key_identifier", label, "AKI does not match the issuer's SKI")]
    return []


def path_checker(role, profile="iso20", at=None, crls=(), ocsp_responses=()):
    """A ``profile_check(path)`` hook for ``host.tls.validate``: ``path`` is
    leaf first and ends with the trust root it was validated against."""
    def check(path):
        path = list(path)
        return check_chain(path[0], path[1:-1], path[-1:], role, profile=profile, at=at,
                           crls=crls, ocsp_responses=ocsp_responses)
    return check
