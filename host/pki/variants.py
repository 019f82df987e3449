"""Bad chains for tests: ``micro15118 pki variants DIR`` (also run by init).

One folder per case, ``DIR/variants/<case>/``::

    case.json          what the case is and what a peer must answer
    chain.pem          leaf + sub-CAs, leaf first (as sent on the wire)
    certs/*.pem        the same certificates one per file (+ any foreign root)
    trust/*.pem        the trust store the case is judged against: every root
                       of DIR (a charger holds V2G, MO and OEM roots)
    keys/*.pem         keys of CAs made only for this case
    se050/<dev>.json   the leaf's private key (a device key: never in keys/)
    crl/, ocsp/        revocation information the case needs

Cases, for the contract chain (``contract_*``, judged by the SECC in a PnC
AuthorizationReq) and the SECC leaf (``secc_*``, judged by the EVCC in the
TLS 1.3 handshake, before any V2G message, so no ResponseCode: a TLS alert):

=================  ==========================================================
expired            leaf validity ended yesterday
not_yet_valid      leaf validity starts in 30 days
revoked            leaf revoked by its real issuer: on DIR's CRL, OCSP says so
unknown_root       chain from a second root of the same kind that nobody trusts
cross_root         Sub-CA 1 (same name and key) re-issued by another kind of
                   root: the chain verifies, but a contract chain ends in the
                   V2G root (a SECC chain in the MO root)
wrong_curve        leaf key on the other profile's curve (secp256r1 in -20,
                   secp521r1 in -2), signed correctly by the real Sub-CA 2
tampered_signature one bit of the leaf's signature flipped
chain_too_long     three sub-CAs between leaf and root (pathlens 2, 1, 0: valid
                   X.509, but more than the -20 test chains' two)
=================  ==========================================================

``case.json`` fields: ``case``, ``chain`` (contract/secc), ``role``,
``profile``, ``description``, ``leaf``, ``sub_cas``, ``trust``, ``crls``,
``ocsp`` (paths relative to the case folder), ``expected_violation`` (the
``host.pki.profile`` code the checker must report), ``checked_by``,
``response_code`` (-20 ResponseCode in AuthorizationRes, or null),
``response_code_iso2`` (the -2 answer), ``tls_alert`` (RFC 8446 6.2 alert
for a TLS-checked chain, or null), ``openssl`` (``anchors``, extra ``args``,
``rejects``: whether ``openssl verify`` with those anchors rejects it, and
``error``, the text it prints).
"""
import datetime as dt
import json
import os
import shutil

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from host.pki import ca as _ca
from host.pki import roles as _roles
from host.pki import se050
from host.pki.profile import RESPONSE_CODES, RESPONSE_CODES_ISO2, now_utc

CASES = ("expired", "not_yet_valid", "revoked", "unknown_root", "cross_root", "wrong_curve",
         "tampered_signature", "chain_too_long")
CHAINS = {
    # chain -> leaf role, role of the root it belongs under, the "other" root
    # for cross_root, SE050 device, who checks it
    "contract": ("contract_leaf", "mo_root", "v2g_root", "vehicle",
                 "SECC: PnC AuthorizationReq (contract certificate chain)"),
    "secc": ("secc_leaf", "v2g_root", "mo_root", "charger",
             "EVCC: TLS 1.3 handshake (server certificate chain)"),
}
VARIANT_PREFIX = "variants/"

# RFC 8446 section 6.2: certificate_expired, certificate_revoked, unknown_ca
# ("could not be matched with a known trust anchor"), bad_certificate ("was
# corrupt, contained signatures that did not verify"), unsupported_certificate
# ("of an unsupported type").  Our mapping of each case onto those meanings.
TLS_ALERTS = {
    "expired": "certificate_expired",
    "not_yet_valid": "bad_certificate",
    "revoked": "certificate_revoked",
    "unknown_root": "unknown_ca",
    "cross_root": "unknown_ca",
    "wrong_curve": "unsupported_certificate",
    "tampered_signature": "bad_certificate",
    "chain_too_long": "bad_certificate",
}
EXPECTED_VIOLATION = {
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "revoked": "revoked",
    "unknown_root": "unknown_root",
    "cross_root": "root_mismatch",
    "wrong_curve": "key_type",
    "tampered_signature": "signature",
    "chain_too_long": "chain_length",
}
DESCRIPTIONS = {
    "expired": "leaf certificate expired yesterday",
    "not_yet_valid": "leaf certificate valid only from 30 days on",
    "revoked": "leaf certificate revoked by its issuer (CRL and OCSP say so)",
    "unknown_root": "chain issued under a root that is not in the trust store",
    "cross_root": "Sub-CA 1 re-issued by a root of another kind: verifies, but ends in the wrong root",
    "wrong_curve": "leaf key on a curve the profile does not allow",
    "tampered_signature": "leaf certificate signature altered (one bit)",
    "chain_too_long": "three sub-CAs between leaf and root",
}
# openssl verify: the text it prints for each case.
OPENSSL_ERRORS = {
    "expired": "certificate has expired",
    "not_yet_valid": "certificate is not yet valid",
    "revoked": "certificate revoked",
    "unknown_root": "unable to get local issuer certificate",
    "cross_root": "unable to get local issuer certificate",
    "wrong_curve": "EE certificate key too weak",
    "tampered_signature": "certificate signature failure",
    "chain_too_long": "certificate chain too long",
}


def openssl_base_args(profile):
    """``openssl verify`` options that make OpenSSL a -20 (or -2) peer:
    strict X.509, at most two sub-CAs, and for -20 security level 4 (192-bit
    keys and hashes: secp521r1/Ed448 and SHA-512 pass, secp256r1 and SHA-256
    do not)."""
    args = ["-x509_strict", "-verify_depth", str(_roles.MAX_SUB_CAS)]
    if profile in ("iso20", "ed448"):
        args += ["-auth_level", "4"]
    return args


def _other_curve(profile):
    return "secp521r1" if profile == "iso2" else "secp256r1"


class _Case:
    def __init__(self, pki, chain, case):
        self.pki = pki
        self.chain = chain
        self.case = case
        self.leaf_role, self.root_role, self.other_root, self.device, self.checked_by = CHAINS[chain]
        self.name = "%s_%s" % (chain, case)
        self.dir = os.path.join(pki.dir, "variants", self.name)
        self.now = None
        self.files = {"crls": [], "ocsp": []}

    def write(self, rel, data, mode=0o644):
        _ca._write(os.path.join(self.dir, rel), data, mode)
        return rel

    def write_cert(self, label, cert):
        return self.write("certs/%s.pem" % label, _ca.cert_pem(cert))

    def new_ca(self, label, role_name, issuer_cert, issuer_key, cn, path_length="role", key=None):
        role = _roles.role(role_name)
        key = key or _ca.new_key(self.pki.profile)
        nb = self.now - _ca.SKEW
        cert = _ca.build_certificate(role, _ca.subject_name(role, cn), key.public_key(), issuer_cert,
                                     issuer_key or key, nb, nb + dt.timedelta(days=role.days),
                                     path_length=path_length)
        self.write("keys/%s.pem" % label, _ca.key_pem(key), 0o600)
        self.write_cert(label, cert)
        return cert, key

    def leaf(self, issuer_cert, issuer_key, key=None, not_before=None, not_after=None):
        role = _roles.role(self.leaf_role)
        key = key or _ca.new_key(self.pki.profile)
        if self.leaf_role == "contract_leaf":
            cn = self.pki.cert("contract_leaf").subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        else:
            cn = role.cn
        nb = not_before or self.now - _ca.SKEW
        na = not_after or nb + dt.timedelta(days=role.days)
        url = "%s/%s" % (self.pki.state["ocsp_url"].rstrip("/"), role.issuer)
        cert = _ca.build_certificate(role, _ca.subject_name(role, cn), key.public_key(), issuer_cert,
                                     issuer_key, nb, na, ocsp_url=url)
        return cert, key

    def real_subs(self):
        """The DIR's Sub-CA 2 and Sub-CA 1 of this chain (certs, sub2 key)."""
        sub2 = _roles.role(self.leaf_role).issuer
        sub1 = _roles.role(sub2).issuer
        return self.pki.cert(sub2), self.pki.key(sub2), self.pki.cert(sub1), sub2, sub1

    def finish(self, leaf_cert, leaf_key, subs, openssl_anchors, extra=None):
        """Write the chain, the leaf's SE050 entry, trust store and case.json."""
        leaf_rel = self.write_cert(self.leaf_role, leaf_cert)
        sub_rels = [self.write_cert(label, c) for label, c in subs]
        self.write("chain.pem", b"".join(_ca.cert_pem(c) for c in [leaf_cert] + [c for _, c in subs]))
        se050.put(self.dir, self.device, self.leaf_role, self.leaf_role, 0, leaf_key,
                  leaf_cert.public_bytes(serialization.Encoding.DER), self.pki.profile)
        trust = []
        for root in _roles.ROOTS:
            trust.append(self.write("trust/%s.pem" % root, _ca.cert_pem(self.pki.cert(root))))
        violation = EXPECTED_VIOLATION[self.case]
        openssl_rejects = not (self.case == "wrong_curve" and self.pki.profile == "iso2")
        args = openssl_base_args(self.pki.profile)
        if self.case == "revoked":
            args = args + ["-crl_check"]
        doc = {
            "case": self.name,
            "chain": self.chain,
            "role": self.leaf_role,
            "profile": self.pki.profile,
            "description": DESCRIPTIONS[self.case],
            "leaf": leaf_rel,
            "sub_cas": sub_rels,
            "chain_file": "chain.pem",
            "trust": trust,
            "crls": self.files["crls"],
            "ocsp": self.files["ocsp"],
            "expected_violation": violation,
            "checked_by": self.checked_by,
            "response_code": (RESPONSE_CODES.get(violation, "WARNING_CertificateValidationError")
                              if self.chain == "contract" else None),
            "response_code_iso2": (RESPONSE_CODES_ISO2.get(violation, "FAILED")
                                   if self.chain == "contract" else None),
            "tls_alert": TLS_ALERTS[self.case] if self.chain == "secc" else None,
            "openssl": {
                "anchors": ["trust/%s.pem" % r for r in openssl_anchors],
                "args": args,
                "rejects": openssl_rejects,
                "error": OPENSSL_ERRORS[self.case] if openssl_rejects else None,
            },
            "made": _ca._iso(self.now),
        }
        if self.chain == "contract" and self.pki.profile != "iso2":
            doc["note"] = ("-20 has no FAILED_CertChainError: certificate problems of the contract "
                           "chain are WARNING_* codes and the session goes on; FAILED_SignatureError "
                           "is for the XMLDSig signature over PnC_AReqAuthorizationMode")
        if extra:
            doc.update(extra)
        self.write("case.json", (json.dumps(doc, indent=1) + "\n").encode())
        return doc


def _build(c):
    pki = c.pki
    sub2_cert, sub2_key, sub1_cert, sub2_name, sub1_name = c.real_subs()
    real_subs = [(sub2_name, sub2_cert), (sub1_name, sub1_cert)]
    anchors = [c.root_role]
    now = c.now
    case = c.case
    if case == "expired":
        cert, key = c.leaf(sub2_cert, sub2_key, not_before=now - dt.timedelta(days=30),
                           not_after=now - dt.timedelta(days=1))
        return c.finish(cert, key, real_subs, anchors)
    if case == "not_yet_valid":
        cert, key = c.leaf(sub2_cert, sub2_key, not_before=now + dt.timedelta(days=30))
        return c.finish(cert, key, real_subs, anchors)
    if case == "revoked":
        cert, key = c.leaf(sub2_cert, sub2_key)
        lst = pki.state["revoked"].setdefault(sub2_name, [])
        lst.append({"serial": "%x" % cert.serial_number, "name": VARIANT_PREFIX + c.name,
                    "time": _ca._iso(now), "reason": "key_compromise"})
        pki.save()
        crl = pki.write_crl(sub2_name, now=now)
        c.files["crls"].append(c.write("crl/%s.pem" % sub2_name, crl.public_bytes(serialization.Encoding.PEM)))
        signer = _roles.OCSP_RESPONDERS.get(sub2_name)
        if signer:
            signer_cert, signer_key = pki.cert(signer), pki.key(signer)
        else:
            signer_cert, signer_key = sub2_cert, sub2_key
        resp = _ca.ocsp_response(cert, sub2_cert, signer_cert, signer_key,
                                 revoked=(now, "key_compromise"), this_update=now)
        c.files["ocsp"].append(c.write("ocsp/%s.der" % c.leaf_role,
                                       resp.public_bytes(serialization.Encoding.DER)))
        return c.finish(cert, key, real_subs, anchors)
    if case == "unknown_root":
        root_role = _roles.role(c.root_role)
        root, root_key = c.new_ca("unknown_root", c.root_role, None, None, "Unknown " + root_role.cn)
        s1, s1_key = c.new_ca(sub1_name, sub1_name, root, root_key, "Unknown " + _roles.role(sub1_name).cn)
        s2, s2_key = c.new_ca(sub2_name, sub2_name, s1, s1_key, "Unknown " + _roles.role(sub2_name).cn)
        cert, key = c.leaf(s2, s2_key)
        return c.finish(cert, key, [(sub2_name, s2), (sub1_name, s1)], anchors)
    if case == "cross_root":
        # Sub-CA 1 with its real name and key, certified by the other root:
        # the real Sub-CA 2 still verifies under it.
        other = pki.cert(c.other_root)
        sub1_role = _roles.role(sub1_name)
        cross = _ca.build_certificate(sub1_role, sub1_cert.subject, pki.key(sub1_name).public_key(), other,
                                      pki.key(c.other_root), now - _ca.SKEW,
                                      now - _ca.SKEW + dt.timedelta(days=sub1_role.days))
        cert, key = c.leaf(sub2_cert, sub2_key)
        return c.finish(cert, key, [(sub2_name, sub2_cert), (sub1_name, cross)], anchors,
                        extra={"anchored_at": c.other_root,
                               "openssl_with_all_roots": "accepts (it knows no roles)"})
    if case == "wrong_curve":
        curve = _other_curve(pki.profile)
        cert, key = c.leaf(sub2_cert, sub2_key, key=_ca.new_key(curve))
        return c.finish(cert, key, real_subs, anchors, extra={"leaf_curve": curve})
    if case == "tampered_signature":
        cert, key = c.leaf(sub2_cert, sub2_key)
        der = bytearray(cert.public_bytes(serialization.Encoding.DER))
        der[-1] ^= 0x01          # the last octet of the signature value
        bad = x509.load_der_x509_certificate(bytes(der))
        return c.finish(bad, key, real_subs, anchors)
    if case == "chain_too_long":
        root = pki.cert(c.root_role)
        root_key = pki.key(c.root_role)
        s0, s0_key = c.new_ca("sub_ca0", sub1_name, root, root_key, "Extra Sub-CA 0", path_length=2)
        s1, s1_key = c.new_ca(sub1_name, sub1_name, s0, s0_key, _roles.role(sub1_name).cn + " (long chain)")
        s2, s2_key = c.new_ca(sub2_name, sub2_name, s1, s1_key, _roles.role(sub2_name).cn + " (long chain)")
        cert, key = c.leaf(s2, s2_key)
        return c.finish(cert, key, [(sub2_name, s2), (sub1_name, s1), ("sub_ca0", s0)], anchors)
    raise ValueError("unknown case %r" % case)


def make_variants(pki, chains=("contract", "secc"), cases=CASES, now=None):
    """Write every case for every chain; returns the case.json documents."""
    now = now or now_utc()
    vdir = os.path.join(pki.dir, "variants")
    shutil.rmtree(vdir, ignore_errors=True)
    # Forget what an earlier run revoked for its variants.
    touched = set()
    for ca_name, lst in pki.state["revoked"].items():
        keep = [r for r in lst if not r.get("name", "").startswith(VARIANT_PREFIX)]
        if len(keep) != len(lst):
            pki.state["revoked"][ca_name] = keep
            touched.add(ca_name)
    pki.save()
    for ca_name in touched:
        pki.write_crl(ca_name, now=now)
    docs = []
    for chain in chains:
        for case in cases:
            c = _Case(pki, chain, case)
            c.now = now
            docs.append(_build(c))
    return docs


def load_case(case_dir):
    """(case.json, leaf, sub_cas, trust, crls, ocsp responses) of a case folder."""
    from cryptography.x509 import ocsp
    with open(os.path.join(case_dir, "case.json")) as f:
        doc = json.load(f)
    p = lambda rel: os.path.join(case_dir, rel)  # noqa: E731
    leaf = _ca.load_cert(p(doc["leaf"]))
    subs = [_ca.load_cert(p(r)) for r in doc["sub_cas"]]
    trust = [_ca.load_cert(p(r)) for r in doc["trust"]]
    crls = []
    for r in doc["crls"]:
        with open(p(r), "rb") as f:
            crls.append(x509.load_pem_x509_crl(f.read()))
    resps = []
    for r in doc["ocsp"]:
        with open(p(r), "rb") as f:
            resps.append(ocsp.load_der_ocsp_response(f.read()))
    return doc, leaf, subs, trust, crls, resps
