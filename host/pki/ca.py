"""The test PKI directory that ``micro15118 pki`` builds and keeps.

Layout of DIR::

    pki.json              state: profile, every certificate's role, issuer,
                          serial and key location, revocations, CRL numbers
    certs/<name>.pem      one certificate per file (name = role, or the
                          --name given to ``pki issue``)
    keys/<name>.pem       private keys of CAs and back-end leaves (PKCS#8,
                          mode 0600); never a device's key
    se050/<device>.json   device keys, see ``host.pki.se050``
    crl/<ca>.pem          one CRL per CA, signed by it
    ocsp/<name>.der       an OCSP response (DER) for every non-root
                          certificate: good or revoked
    chains/<name>.pem     leaf + sub-CAs, leaf first (what a TLS peer sends)
    variants/<case>/      bad chains for tests (``host.pki.variants``)

Profiles: ``iso20`` (secp521r1, ECDSA-SHA512; the default), ``ed448``
(Ed448), ``iso2`` (secp256r1, ECDSA-SHA256, for -2 peers).

Validity: each certificate starts one hour before it is made (clock skew of
the peer) and lasts its role's days (``host.pki.roles``).  CRLs and OCSP
responses are made with nextUpdate 7 days on (our choice; ``pki refresh``
re-signs them).  OCSP CertIDs use SHA-256 (the hash OCPP 2.0.1's
OCSPRequestData carries).
"""
import datetime as dt
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from host.pki import emaid as _emaid
from host.pki import roles as _roles
from host.pki import se050
from host.pki.profile import now_utc

GEN_PROFILES = ("iso20", "ed448", "iso2")
ORGANIZATION = "micro15118 test PKI"
COUNTRY = "DE"
DEFAULT_EMAID = ("DE", "M15", "C12345678")
DEFAULT_OCSP_URL = "http://127.0.0.1:8888/ocsp"
SKEW = dt.timedelta(hours=1)
UPDATE_PERIOD = dt.timedelta(days=7)
STATE = "pki.json"

REASONS = {r.name: r for r in x509.ReasonFlags
           if r not in (x509.ReasonFlags.unspecified, x509.ReasonFlags.remove_from_crl)}


# ---------------------------------------------------------------------------
# keys

def new_key(profile_or_curve):
    """A fresh private key for a generation profile (or a curve name)."""
    if profile_or_curve in ("iso20", "secp521r1"):
        return ec.generate_private_key(ec.SECP521R1())
    if profile_or_curve in ("iso2", "secp256r1"):
        return ec.generate_private_key(ec.SECP256R1())
    if profile_or_curve == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ValueError("unknown profile or curve %r" % (profile_or_curve,))


def sign_hash(key):
    """The hash a signature by ``key`` uses (None for Ed448: pure EdDSA)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384()}.get(
            key.curve.name, hashes.SHA512())
    return None


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_certs(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificates(f.read())


def _write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text):
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------
# certificates

def subject_name(role, cn):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
             x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY)]
    if role.dc:
        attrs.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, role.dc[0]))
    elif role.chain == "cpo":
        attrs.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "V2G"))  # python-iso15118's CPO sub-CAs
    return x509.Name(attrs)


def _key_usage(names):
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment",
                           "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                           "encipher_only", "decipher_only"), False)
    for n in names:
        flags[n] = True
    return x509.KeyUsage(**flags)


def build_certificate(role, subject, public_key, issuer_cert, issuer_key, not_before, not_after,
                      serial=None, ocsp_url=None, path_length="role"):
    """One certificate of ``role`` (a ``Role``) with the profile's extensions.
    ``issuer_cert`` None: self-signed with ``issuer_key``."""
    serial = serial or x509.random_serial_number()
    issuer_name = issuer_cert.subject if issuer_cert is not None else subject
    if path_length == "role":
        path_length = role.path_length
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
         .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=role.is_ca, path_length=path_length if role.is_ca else None),
                        critical=True)
         .add_extension(_key_usage(role.key_usage), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                            critical=False)
    if role.eku_ocsp:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        b = b.add_extension(x509.OCSPNoCheck(), critical=False)
    if ocsp_url and role.aia_ocsp:
        b = b.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    return b.sign(issuer_key, sign_hash(issuer_key))


def ocsp_response(cert, issuer, signer_cert, signer_key, revoked=None, this_update=None,
                  next_update=None):
    """A signed OCSP response for ``cert``: good, or revoked when ``revoked``
    is (time, reason name)."""
    this_update = this_update or now_utc()
    next_update = next_update or this_update + UPDATE_PERIOD
    if revoked:
        status, rtime, reason = ocsp.OCSPCertStatus.REVOKED, revoked[0], REASONS.get(revoked[1])
    else:
        status, rtime, reason = ocsp.OCSPCertStatus.GOOD, None, None
    b = (ocsp.OCSPResponseBuilder()
         .add_response(cert=cert, issuer=issuer, algorithm=hashes.SHA256(), cert_status=status,
                       this_update=this_update, next_update=next_update, revocation_time=rtime,
                       revocation_reason=reason)
         .responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert))
    if signer_cert is not issuer:
        b = b.certificates([signer_cert])
    return b.sign(signer_key, sign_hash(signer_key))


def build_crl(issuer_cert, issuer_key, entries, number, this_update=None, next_update=None):
    """A CRL of ``issuer_cert`` listing ``entries`` [(serial, time, reason name)]."""
    this_update = this_update or now_utc()
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(issuer_cert.subject)
         .last_update(this_update).next_update(next_update or this_update + UPDATE_PERIOD)
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
             issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value),
             critical=False))
    for serial, when, reason in entries:
        rb = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason in REASONS:
            rb = rb.add_extension(x509.CRLReason(REASONS[reason]), critical=False)
        b = b.add_revoked_certificate(rb.build())
    return b.sign(issuer_key, sign_hash(issuer_key))


# ---------------------------------------------------------------------------
# the directory

class Pki:
    """A PKI directory: ``Pki.create(DIR, ...)`` or ``Pki.open(DIR)``."""

    def __init__(self, directory, state):
        self.dir = directory
        self.state = state

    # -- state ------------------------------------------------------------
    @property
    def profile(self):
        return self.state["profile"]

    @property
    def vehicle_root(self):
        return self.state["vehicle_root"]

    @classmethod
    def open(cls, directory):
        path = os.path.join(directory, STATE)
        try:
            with open(path) as f:
                state = json.load(f)
        except FileNotFoundError:
            raise ValueError("%s is no PKI directory (no %s; run micro15118 pki init)"
                             % (directory, STATE)) from None
        return cls(directory, state)

    @classmethod
    def create(cls, directory, profile="iso20", emaid=None, vin=None, vehicle_root="v2g_root",
               ocsp_url=DEFAULT_OCSP_URL, force=False, now=None):
        """A new hierarchy with every role of ``host.pki.roles``."""
        if profile not in GEN_PROFILES:
            raise ValueError("unknown profile %r (%s)" % (profile, ", ".join(GEN_PROFILES)))
        if vehicle_root not in _roles.VEHICLE_ROOTS:
            raise ValueError("vehicle root must be one of %s" % ", ".join(_roles.VEHICLE_ROOTS))
        if os.path.exists(os.path.join(directory, STATE)) and not force:
            raise ValueError("%s already holds a PKI (pki.json); --force replaces it" % directory)
        if force:
            cls._clear(directory)
        os.makedirs(directory, exist_ok=True)
        pki = cls(directory, {"format": 1, "profile": profile, "vehicle_root": vehicle_root,
                              "ocsp_url": ocsp_url, "certs": {}, "revoked": {}, "crl_number": {}})
        now = now or now_utc()
        emaid = _emaid.normalize(emaid) if emaid else _emaid.make(*DEFAULT_EMAID)
        for name in _roles.ORDER:
            cn = emaid if name == "contract_leaf" else (vin if name == "vehicle_leaf" and vin else None)
            pki.issue(name, name, cn=cn, now=now, publish=False)
        pki.publish(now=now)
        return pki

    @staticmethod
    def _clear(directory):
        """Remove what a previous init wrote (only our files and folders)."""
        import shutil
        for sub in ("certs", "keys", "se050", "crl", "ocsp", "chains", "variants"):
            shutil.rmtree(os.path.join(directory, sub), ignore_errors=True)
        try:
            os.remove(os.path.join(directory, STATE))
        except FileNotFoundError:
            pass

    def save(self):
        _write(os.path.join(self.dir, STATE), (json.dumps(self.state, indent=1, sort_keys=True) + "\n").encode())

    # -- paths and loading --------------------------------------------------
    def path(self, kind, name):
        ext = {"certs": ".pem", "keys": ".pem", "crl": ".pem", "ocsp": ".der", "chains": ".pem"}[kind]
        return os.path.join(self.dir, kind, name + ext)

    def names(self, role=None):
        return [n for n, e in self.state["certs"].items() if role is None or e["role"] == role]

    def entry(self, name):
        try:
            return self.state["certs"][name]
        except KeyError:
            raise ValueError("no certificate %r in %s (have: %s)" % (
                name, self.dir, " ".join(self.state["certs"]))) from None

    def cert(self, name):
        self.entry(name)
        return load_cert(self.path("certs", name))

    def key(self, name):
        """A private key: from keys/ or, for a device key, its SE050 bundle."""
        e = self.entry(name)
        where = e["key"]
        if where == "keys":
            with open(self.path("keys", name), "rb") as f:
                return serialization.load_pem_private_key(f.read(), None)
        if where.startswith("se050:"):
            return se050.load_private_key(self.dir, where.split(":", 1)[1], name)
        raise ValueError("the key of %r is not held here (%s)" % (name, where))

    def role_of(self, name):
        return _roles.role(self.entry(name)["role"])

    def issuer_of(self, name):
        return self.entry(name)["issuer"]

    def chain(self, name):
        """[cert, its sub-CAs...] up to (not including) the root."""
        out = [self.cert(name)]
        issuer = self.issuer_of(name)
        while issuer is not None and self.role_of(issuer).kind != "root":
            out.append(self.cert(issuer))
            issuer = self.issuer_of(issuer)
        return out

    def root_of(self, name):
        while self.issuer_of(name) is not None:
            name = self.issuer_of(name)
        return name

    def roots(self):
        return [self.cert(n) for n in self.names() if self.role_of(n).kind == "root"]

    def is_revoked(self, name):
        serial = self.entry(name)["serial"]
        issuer = self.issuer_of(name)
        return any(r["serial"] == serial for r in self.state["revoked"].get(issuer or "", []))

    # -- issuing -------------------------------------------------------------
    def issue(self, name, role_name, cn=None, days=None, not_before=None, not_after=None,
              public_key=None, key=None, now=None, publish=True, slot=None):
        """Issue ``name`` in ``role_name``: a new key unless ``key`` or
        ``public_key`` (from a CSR: the key stays with its owner) is given."""
        role = _roles.role(role_name)
        now = now or now_utc()
        if role_name == "contract_leaf":
            cn = _emaid.normalize(cn) if cn else _emaid.make(*DEFAULT_EMAID)
        cn = cn or role.cn
        issuer = _roles.issuer_of(role_name, self.vehicle_root)
        if issuer is not None and issuer not in self.state["certs"]:
            raise ValueError("issuer %s of %s does not exist yet" % (issuer, role_name))
        if public_key is not None and key is not None:
            raise ValueError("give a key or a public key, not both")
        if public_key is None and key is None:
            key = new_key(self.profile)
        pub = public_key if public_key is not None else key.public_key()
        not_before = not_before or now - SKEW
        not_after = not_after or not_before + dt.timedelta(days=days or role.days)
        if not_after <= not_before:
            raise ValueError("validity ends before it starts")
        if issuer is None:
            issuer_cert, issuer_key = None, key
            if issuer_key is None:
                raise ValueError("a root needs its private key (no CSR)")
        else:
            issuer_cert, issuer_key = self.cert(issuer), self.key(issuer)
        url = "%s/%s" % (self.state["ocsp_url"].rstrip("/"), issuer) if issuer else None
        cert = build_certificate(role, subject_name(role, cn), pub, issuer_cert, issuer_key,
                                 not_before, not_after, ocsp_url=url)
        entry = {"role": role_name, "issuer": issuer, "serial": "%x" % cert.serial_number}
        if role_name == "contract_leaf":
            entry["emaid"] = cn
        _write(self.path("certs", name), cert_pem(cert))
        if key is None:
            entry["key"] = "external"
        elif role.device:
            old = self.state["certs"].get(name, {})
            slot = old.get("slot") if slot is None else slot
            if slot is None:
                used = {e.get("slot") for e in self.state["certs"].values() if e["role"] == role_name}
                slot = next(i for i in range(se050.SLOTS) if i not in used)
            se050.put(self.dir, role.device, name, role_name, slot, key,
                      cert.public_bytes(serialization.Encoding.DER), self.profile)
            entry["key"] = "se050:" + role.device
            entry["slot"] = slot
        else:
            _write(self.path("keys", name), key_pem(key), 0o600)
            entry["key"] = "keys"
        self.state["certs"][name] = entry
        if issuer is not None:
            _write(self.path("chains", name), b"".join(cert_pem(c) for c in self.chain(name)))
        self.save()
        if publish and issuer is not None:
            self.write_ocsp(name, now=now)
        return cert

    def renew(self, name, new_key=False, days=None, now=None):
        """Re-issue ``name``: same subject and role, new serial and validity;
        the same key unless ``new_key``."""
        e = self.entry(name)
        old = self.cert(name)
        cn = old.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        if new_key:
            key, public_key = None, None
        elif e["key"] == "external":
            key, public_key = None, old.public_key()
        else:
            key, public_key = self.key(name), None
        cert = self.issue(name, e["role"], cn=cn, days=days, key=key, public_key=public_key, now=now)
        if self.role_of(name).is_ca:
            # Chains through this CA carry the new certificate (what it issued
            # keeps verifying only if the key stayed).
            for other in self.names():
                if self.issuer_of(other) is not None:
                    _write(self.path("chains", other), b"".join(cert_pem(c) for c in self.chain(other)))
        return cert

    def revoke(self, name, reason="key_compromise", now=None):
        e = self.entry(name)
        if e["issuer"] is None:
            raise ValueError("%s is a root: remove it from the trust stores instead" % name)
        if reason not in REASONS:
            raise ValueError("unknown reason %r (%s)" % (reason, ", ".join(REASONS)))
        now = now or now_utc()
        lst = self.state["revoked"].setdefault(e["issuer"], [])
        if not any(r["serial"] == e["serial"] for r in lst):
            lst.append({"serial": e["serial"], "name": name, "time": _iso(now), "reason": reason})
        self.save()
        self.write_crl(e["issuer"], now=now)
        self.write_ocsp(name, now=now)

    # -- CRLs and OCSP -----------------------------------------------------------
    def write_crl(self, ca, now=None):
        number = self.state["crl_number"].get(ca, 0) + 1
        self.state["crl_number"][ca] = number
        entries = [(int(r["serial"], 16), _parse_time(r["time"]), r["reason"])
                   for r in self.state["revoked"].get(ca, [])]
        crl = build_crl(self.cert(ca), self.key(ca), entries, number, this_update=now)
        _write(self.path("crl", ca), crl.public_bytes(serialization.Encoding.PEM))
        self.save()
        return crl

    def responder(self, name):
        """(cert, key) that signs OCSP responses about ``name``."""
        issuer = self.issuer_of(name)
        signer = _roles.OCSP_RESPONDERS.get(issuer)
        if signer and signer != name and signer in self.state["certs"] and not self.is_revoked(signer):
            return self.cert(signer), self.key(signer)
        return self.cert(issuer), self.key(issuer)

    def write_ocsp(self, name, now=None):
        e = self.entry(name)
        issuer = e["issuer"]
        rev = next((r for r in self.state["revoked"].get(issuer, []) if r["serial"] == e["serial"]), None)
        signer_cert, signer_key = self.responder(name)
        issuer_cert = self.cert(issuer)
        resp = ocsp_response(self.cert(name), issuer_cert,
                             signer_cert if signer_cert.subject != issuer_cert.subject else issuer_cert,
                             signer_key, revoked=(_parse_time(rev["time"]), rev["reason"]) if rev else None,
                             this_update=now)
        _write(self.path("ocsp", name), resp.public_bytes(serialization.Encoding.DER))
        return resp

    def publish(self, now=None):
        """(Re)write every CA's CRL and every OCSP response."""
        for name in self.names():
            if self.role_of(name).is_ca:
                self.write_crl(name, now=now)
        for name in self.names():
            if self.issuer_of(name) is not None:
                self.write_ocsp(name, now=now)

    def crls(self):
        out = []
        for name in self.names():
            p = self.path("crl", name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out.append(x509.load_pem_x509_crl(f.read()))
        return out

    def ocsp_responses(self):
        out = []
        for name in self.names():
            p = self.path("ocsp", name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out.append(ocsp.load_der_ocsp_response(f.read()))
        return out
