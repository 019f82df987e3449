"""X.509 path validation and OCSP checking for the -20 TLS peers, with
``cryptography`` (tlslite-ng validates nothing).

:func:`validate_chain` builds a path from the peer's leaf through the
certificates it sent to one of the trust roots and checks, on that path:
signatures, validity times, basic constraints and path length, key usage,
extended key usage of the leaf (when present), unknown critical extensions,
and the -20 key/signature algorithm (P-521 + ECDSA-SHA512 by default, Ed448
when allowed).  A ``profile_check(path) -> [violation, ...]`` hook (for
example the PKI's -20 profile checker) runs last.

:func:`check_ocsp` checks a DER OCSP response for a leaf: it must answer for
that certificate, be signed by the issuer or by a delegated OCSP signer the
issuer certified (EKU id-kp-OCSPSigning), and be current.

Failures raise :class:`ChainError` / :class:`OcspError`, carrying the TLS
alert to send.
"""

import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, \
    padding
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import (ExtendedKeyUsageOID, ExtensionOID,
                                   SignatureAlgorithmOID)

# TLS alert codes (RFC 8446 6.2)
BAD_CERTIFICATE = 42
UNSUPPORTED_CERTIFICATE = 43
CERTIFICATE_REVOKED = 44
CERTIFICATE_EXPIRED = 45
UNKNOWN_CA = 48
BAD_CERTIFICATE_STATUS_RESPONSE = 113

#: Allowed certificate algorithms, by TLS signature scheme name:
#: (public-key test, signature algorithm OIDs).
ALGORITHMS = {
    "ecdsa_secp521r1_sha512": (
        lambda k: isinstance(k, ec.EllipticCurvePublicKey)
        and k.curve.name == "secp521r1",
        {SignatureAlgorithmOID.ECDSA_WITH_SHA512}),
    "ed448": (lambda k: isinstance(k, ed448.Ed448PublicKey),
              {SignatureAlgorithmOID.ED448}),
    # not -20; for -2 style tests
    "ecdsa_secp256r1_sha256": (
        lambda k: isinstance(k, ec.EllipticCurvePublicKey)
        and k.curve.name == "secp256r1",
        {SignatureAlgorithmOID.ECDSA_WITH_SHA256}),
    "ecdsa_secp384r1_sha384": (
        lambda k: isinstance(k, ec.EllipticCurvePublicKey)
        and k.curve.name == "secp384r1",
        {SignatureAlgorithmOID.ECDSA_WITH_SHA384}),
    "ed25519": (lambda k: isinstance(k, ed25519.Ed25519PublicKey),
                {SignatureAlgorithmOID.ED25519}),
}

#: Extensions we understand; any other critical extension fails the path.
_HANDLED = {
    ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
    ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    ExtensionOID.CERTIFICATE_POLICIES,
}

MAX_PATH = 6  # leaf + up to 4 sub-CAs + root


class ChainError(Exception):
    """A certificate chain failed; ``alert`` is the TLS alert to send."""

    def __init__(self, alert, message):
        super().__init__(message)
        self.alert = alert


class OcspError(ChainError):
    def __init__(self, message, alert=BAD_CERTIFICATE_STATUS_RESPONSE):
        super().__init__(alert, message)


def load_certificates(items):
    """Certificates from a mix of ``x509.Certificate``, PEM text/bytes
    (bundles allowed) and DER bytes."""
    if items is None:
        return []
    if isinstance(items, (str, bytes, bytearray, x509.Certificate)):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, x509.Certificate):
            out.append(item)
            continue
        data = item.encode() if isinstance(item, str) else bytes(item)
        if b"-----BEGIN" in data:
            out.extend(x509.load_pem_x509_certificates(data))
        else:
            out.append(x509.load_der_x509_certificate(data))
    return out


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _key_id(cert, oid):
    v = _ext(cert, oid)
    if v is None:
        return None
    return v.digest if oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER \
        else v.key_identifier


def _issued_by(cert, issuer):
    """Name match, key id match (when both present) and signature."""
    if cert.issuer != issuer.subject:
        return False
    aki = _key_id(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    ski = _key_id(issuer, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if aki is not None and ski is not None and aki != ski:
        return False
    return _signature_ok(cert, issuer)


# Verified (certificate, issuer) pairs: the same sub-CAs come with every
# handshake, and a P-521 verification costs about a millisecond.  Only
# successes are kept; the key is the exact DER of both.
_VERIFIED = {}
_VERIFIED_MAX = 512


def _signature_ok(cert, issuer):
    key = (cert, issuer)   # x509.Certificate hashes and compares its DER
    if key in _VERIFIED:
        return True
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = True
    return True


def _paths(leaf, pool, roots):
    """All candidate paths leaf -> ... -> trust root (depth-first)."""
    root_ders = {r.public_bytes(Encoding.DER): r for r in roots}

    def walk(path):
        cert = path[-1]
        anchor = root_ders.get(cert.public_bytes(Encoding.DER))
        if anchor is not None and len(path) > 1:
            yield path
            return
        if len(path) >= MAX_PATH:
            return
        for cand in list(roots) + pool:
            if any(cand == p for p in path):
                continue
            if _issued_by(cert, cand):
                yield from walk(path + [cand])

    # a leaf that is itself a trust root is not a path (no self-trust of
    # end entities)
    yield from walk([leaf])


def _check_path(path, purpose, now, algorithms):
    """The per-certificate checks of one candidate path; ChainError also for
    a field that does not parse (see validate_chain)."""
    try:
        return _check_path_fields(path, purpose, now, algorithms)
    except ChainError:
        raise
    except Exception as e:  # noqa: BLE001 - cryptography parses lazily
        raise ChainError(BAD_CERTIFICATE, "malformed certificate: %s: %s" % (type(e).__name__, e)) from None


def _check_path_fields(path, purpose, now, algorithms):
    for i, cert in enumerate(path):
        who = _Who(cert, i, len(path))
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ChainError(CERTIFICATE_EXPIRED,
                             "%s is not valid at %s (valid %s .. %s)"
                             % (who, now.isoformat(),
                                cert.not_valid_before_utc.isoformat(),
                                cert.not_valid_after_utc.isoformat()))
        pub = cert.public_key()
        if algorithms is not None:
            ok = [n for n in algorithms if ALGORITHMS[n][0](pub)
                  and cert.signature_algorithm_oid in ALGORITHMS[n][1]]
            if not ok:
                raise ChainError(
                    UNSUPPORTED_CERTIFICATE,
                    "%s: key %s / signature %s not allowed (allowed: %s)"
                    % (who, _key_desc(pub),
                       getattr(cert.signature_algorithm_oid, "_name",
                               cert.signature_algorithm_oid.dotted_string),
                       ", ".join(algorithms)))
        for ext in cert.extensions:
            if ext.critical and ext.oid not in _HANDLED:
                raise ChainError(BAD_CERTIFICATE,
                                 "%s: unhandled critical extension %s"
                                 % (who, ext.oid.dotted_string))
        bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
        ku = _ext(cert, ExtensionOID.KEY_USAGE)
        if i == 0:
            if bc is not None and bc.ca:
                raise ChainError(BAD_CERTIFICATE,
                                 "%s is a CA certificate" % who)
            if ku is not None and not ku.digital_signature:
                raise ChainError(BAD_CERTIFICATE,
                                 "%s: key usage lacks digitalSignature" % who)
            eku = _ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
            want = (ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server"
                    else ExtendedKeyUsageOID.CLIENT_AUTH)
            if eku is not None and want not in eku and \
                    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
                raise ChainError(BAD_CERTIFICATE,
                                 "%s: extended key usage lacks %s"
                                 % (who, want._name))
            continue
        if cert.version != x509.Version.v3 or bc is None or not bc.ca:
            raise ChainError(BAD_CERTIFICATE,
                             "%s issues certificates but is not a CA "
                             "(basicConstraints)" % who)
        # CA certificates between this one and the leaf
        below = i - 1
        if bc.path_length is not None and below > bc.path_length:
            raise ChainError(BAD_CERTIFICATE,
                             "%s: path length %d exceeds its pathLen %d"
                             % (who, below, bc.path_length))
        if ku is not None and not ku.key_cert_sign:
            raise ChainError(BAD_CERTIFICATE,
                             "%s: key usage lacks keyCertSign" % who)


class _Who(object):
    """'leaf (CN=...)', formatted only when an error needs it."""

    def __init__(self, cert, i, n):
        self.cert, self.i, self.n = cert, i, n

    def __str__(self):
        role = "leaf" if self.i == 0 else (
            "root" if self.i == self.n - 1
            else "sub-CA %d" % (self.n - 1 - self.i))
        return "%s (%s)" % (role, self.cert.subject.rfc4514_string())


def _key_desc(pub):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return "EC " + pub.curve.name
    return type(pub).__name__.replace("PublicKey", "")


def validate_chain(chain, roots, purpose, now=None,
                   algorithms=("ecdsa_secp521r1_sha512",),
                   profile_check=None):
    """Validate ``chain`` (leaf first, as sent by the peer) against
    ``roots``.  ``purpose`` is "server" or "client" (the peer's role).

    Returns the validated path, leaf first, ending with the trust root.
    Raises :class:`ChainError`, also for a certificate whose lazily parsed
    fields make ``cryptography`` raise something else on first reading
    (an unknown curve, a duplicate extension, ...): bad_certificate."""
    try:
        return _validate_chain(chain, roots, purpose, now, algorithms, profile_check)
    except ChainError:
        raise
    except Exception as e:  # noqa: BLE001 - see the docstring
        raise ChainError(BAD_CERTIFICATE, "malformed certificate: %s: %s" % (type(e).__name__, e)) from None


def _validate_chain(chain, roots, purpose, now, algorithms, profile_check):
    chain = load_certificates(chain)
    roots = load_certificates(roots)
    if not chain:
        raise ChainError(BAD_CERTIFICATE, "empty certificate chain")
    if not roots:
        raise ChainError(UNKNOWN_CA, "no trust roots configured")
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    leaf, pool = chain[0], chain[1:]
    first_error = None
    found = False
    for path in _paths(leaf, pool, roots):
        found = True
        try:
            _check_path(path, purpose, now, algorithms)
        except ChainError as e:
            first_error = first_error or e
            continue
        if profile_check is not None:
            violations = list(profile_check(path) or ())
            if violations:
                first_error = first_error or ChainError(
                    BAD_CERTIFICATE,
                    "-20 profile: " + "; ".join(str(v) for v in violations))
                continue
        return path
    if found:
        raise first_error
    raise ChainError(UNKNOWN_CA,
                     "no path from %s to a trust root"
                     % leaf.subject.rfc4514_string())


class OcspResult(object):
    def __init__(self, status, this_update, next_update, revocation_time,
                 signer):
        self.status = status            # "good" | "revoked" | "unknown"
        self.this_update = this_update
        self.next_update = next_update
        self.revocation_time = revocation_time
        self.signer = signer            # "issuer" | "delegated"

    def __repr__(self):
        return ("OcspResult(status=%r, signer=%r, this_update=%s, "
                "next_update=%s)" % (self.status, self.signer,
                                     self.this_update, self.next_update))


def _verify_sig(pub, signature, data, hash_alg):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(signature, data, ec.ECDSA(hash_alg))
    elif isinstance(pub, (ed448.Ed448PublicKey, ed25519.Ed25519PublicKey)):
        pub.verify(signature, data)
    else:
        pub.verify(signature, data, padding.PKCS1v15(), hash_alg)


def check_ocsp(der, leaf, issuer, now=None, skew=datetime.timedelta(minutes=5),
               algorithms=None):
    """Check a DER OCSPResponse for ``leaf`` (issued by ``issuer``).
    Returns :class:`OcspResult`; raises :class:`OcspError` when the response
    is malformed, for another certificate, badly signed or not current."""
    try:
        return _check_ocsp(der, leaf, issuer, now, skew, algorithms)
    except OcspError:
        raise
    except Exception as e:  # noqa: BLE001 - a field parsed lazily (validate_chain)
        raise OcspError("malformed OCSP response or certificate: %s: %s" % (type(e).__name__, e)) from None


def _check_ocsp(der, leaf, issuer, now, skew, algorithms):
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    try:
        resp = ocsp.load_der_ocsp_response(bytes(der))
    except ValueError as e:
        raise OcspError("OCSP response does not parse: %s" % e)
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspError("OCSP response status %s" % resp.response_status.name)
    single = None
    for r in resp.responses:
        req = ocsp.OCSPRequestBuilder().add_certificate(
            leaf, issuer, r.hash_algorithm).build()
        if r.serial_number == leaf.serial_number and \
                r.issuer_name_hash == req.issuer_name_hash and \
                r.issuer_key_hash == req.issuer_key_hash:
            single = r
            break
    if single is None:
        raise OcspError("OCSP response is not about serial %x of %s"
                        % (leaf.serial_number,
                           issuer.subject.rfc4514_string()))

    # who signed it
    def matches(cert):
        if resp.responder_name is not None:
            return cert.subject == resp.responder_name
        # SHA-1 of the certificate's own key (the request builder computes
        # exactly that for an "issuer")
        req = ocsp.OCSPRequestBuilder().add_certificate(
            cert, cert, hashes.SHA1()).build()
        return req.issuer_key_hash == resp.responder_key_hash

    if matches(issuer):
        signer_cert, signer = issuer, "issuer"
    else:
        signer_cert = next((c for c in resp.certificates if matches(c)), None)
        if signer_cert is None:
            raise OcspError("OCSP responder is neither the issuer nor a "
                            "certificate in the response")
        if not _issued_by(signer_cert, issuer):
            raise OcspError("OCSP signer %s is not issued by %s"
                            % (signer_cert.subject.rfc4514_string(),
                               issuer.subject.rfc4514_string()))
        eku = _ext(signer_cert, ExtensionOID.EXTENDED_KEY_USAGE)
        if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            raise OcspError("OCSP signer lacks id-kp-OCSPSigning")
        if not signer_cert.not_valid_before_utc <= now <= \
                signer_cert.not_valid_after_utc:
            raise OcspError("OCSP signer certificate is not valid now")
        if algorithms is not None:
            pub = signer_cert.public_key()
            if not any(ALGORITHMS[n][0](pub) for n in algorithms):
                raise OcspError("OCSP signer key %s not allowed"
                                % _key_desc(pub))
        signer = "delegated"
    try:
        _verify_sig(signer_cert.public_key(), resp.signature,
                    resp.tbs_response_bytes, resp.signature_hash_algorithm)
    except (InvalidSignature, ValueError, TypeError,
            UnsupportedAlgorithm) as e:
        raise OcspError("OCSP response signature does not verify (%s)"
                        % (e.__class__.__name__))
    if single.this_update_utc > now + skew:
        raise OcspError("OCSP response thisUpdate %s is in the future"
                        % single.this_update_utc.isoformat())
    if single.next_update_utc is not None and \
            single.next_update_utc < now - skew:
        raise OcspError("OCSP response expired at %s"
                        % single.next_update_utc.isoformat())
    status = {ocsp.OCSPCertStatus.GOOD: "good",
              ocsp.OCSPCertStatus.REVOKED: "revoked",
              ocsp.OCSPCertStatus.UNKNOWN: "unknown"}[single.certificate_status]
    return OcspResult(status, single.this_update_utc, single.next_update_utc,
                      single.revocation_time_utc, signer)
