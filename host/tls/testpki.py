"""A throw-away -20 test PKI for the TLS tests and benchmark (not a profile
reference: the PKI's own generator and profile checker live in host/pki).

V2G root -> CPO Sub-CA 1 (pathLen 1) -> CPO Sub-CA 2 (pathLen 0) -> SECC leaf,
with a delegated OCSP signer under CPO Sub-CA 2; V2G root -> Vehicle
Sub-CA 1 -> Vehicle Sub-CA 2 -> vehicle leaf (as EVerest's test PKI does).
All secp521r1 + ECDSA-SHA512 by default, or Ed448.
"""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def _key(algorithm):
    if algorithm == "ed448":
        return ed448.Ed448PrivateKey.generate()
    return ec.generate_private_key(ec.SECP521R1())


def _hash(key):
    return None if isinstance(key, ed448.Ed448PrivateKey) else hashes.SHA512()


def _name(cn, dc, org="micro15118 test"):
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, dc),
    ])


class Issued(object):
    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    @property
    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self):
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())


def issue(subject, key, issuer=None, *, ca=False, path_length=None,
          days=60, now=None, eku=None, not_before=None, not_after=None,
          key_usage=None, extra=()):
    """One certificate; ``issuer`` is an :class:`Issued` (None: self-signed)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    pub = key.public_key()
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before or now - DAY)
         .not_valid_after(not_after or now + days * DAY)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length),
                        critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub),
                        critical=False))
    if key_usage is None:
        key_usage = (dict(key_cert_sign=True, crl_sign=True) if ca
                     else dict(digital_signature=True, key_agreement=True))
    ku = dict(digital_signature=False, content_commitment=False,
              key_encipherment=False, data_encipherment=False,
              key_agreement=False, key_cert_sign=False, crl_sign=False,
              encipher_only=False, decipher_only=False)
    ku.update(key_usage)
    b = b.add_extension(x509.KeyUsage(**ku), critical=True)
    if issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.key.public_key()), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    signer = issuer.key if issuer else key
    return Issued(b.sign(signer, _hash(signer)), key)


class TestPki(object):
    """The two -20 chains, an OCSP signer, and helpers."""

    __test__ = False  # not a pytest class

    def __init__(self, algorithm="ecdsa_secp521r1_sha512", now=None):
        self.algorithm = algorithm
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        k = lambda: _key(algorithm)  # noqa: E731
        n = self.now
        self.root = issue(_name("V2G Root CA", "V2G"), k(), ca=True,
                          days=3650, now=n)
        self.cpo_sub1 = issue(_name("CPO Sub-CA 1", "CPO"), k(), self.root,
                              ca=True, path_length=1, days=1460, now=n)
        self.cpo_sub2 = issue(_name("CPO Sub-CA 2", "CPO"), k(),
                              self.cpo_sub1, ca=True, path_length=0,
                              days=365, now=n)
        self.secc = issue(_name("SECC 0001", "CPO"), k(), self.cpo_sub2,
                          days=60, now=n)
        self.ocsp_signer = issue(
            _name("CPO Sub-CA 2 OCSP", "CPO"), k(), self.cpo_sub2, days=30,
            now=n, key_usage=dict(digital_signature=True),
            eku=[ExtendedKeyUsageOID.OCSP_SIGNING])
        self.veh_sub1 = issue(_name("Vehicle Sub-CA 1", "OEM"), k(),
                              self.root, ca=True, path_length=1, days=1460,
                              now=n)
        self.veh_sub2 = issue(_name("Vehicle Sub-CA 2", "OEM"), k(),
                              self.veh_sub1, ca=True, path_length=0,
                              days=1460, now=n)
        self.vehicle = issue(_name("WMIVIN12345678901", "OEM"), k(),
                             self.veh_sub2, days=1460, now=n)

    # chains as PEM lists, leaf first
    @property
    def secc_chain(self):
        return [self.secc.pem, self.cpo_sub2.pem, self.cpo_sub1.pem]

    @property
    def vehicle_chain(self):
        return [self.vehicle.pem, self.veh_sub2.pem, self.veh_sub1.pem]

    def ocsp_response(self, cert=None, issuer=None, status="good",
                      delegated=True, this_update=None, next_update=None,
                      responder=None):
        """DER OCSPResponse for ``cert`` (default: the SECC leaf)."""
        cert = cert or self.secc
        issuer = issuer or self.cpo_sub2
        if responder is None:
            responder = self.ocsp_signer if delegated else issuer
        now = self.now
        this_update = this_update or now - datetime.timedelta(minutes=1)
        next_update = next_update or now + DAY
        kw = {}
        if status == "revoked":
            kw = dict(revocation_time=now - DAY,
                      revocation_reason=x509.ReasonFlags.key_compromise)
        else:
            kw = dict(revocation_time=None, revocation_reason=None)
        st = {"good": ocsp.OCSPCertStatus.GOOD,
              "revoked": ocsp.OCSPCertStatus.REVOKED,
              "unknown": ocsp.OCSPCertStatus.UNKNOWN}[status]
        b = (ocsp.OCSPResponseBuilder()
             .add_response(cert=cert.cert, issuer=issuer.cert,
                           algorithm=hashes.SHA1(), cert_status=st,
                           this_update=this_update, next_update=next_update,
                           **kw)
             .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.cert))
        if responder is not issuer:
            b = b.certificates([responder.cert])
        resp = b.sign(responder.key, _hash(responder.key))
        return resp.public_bytes(serialization.Encoding.DER)

    def write(self, directory):
        """PEM/DER files for openssl and tshark; returns {name: path}."""
        os.makedirs(directory, exist_ok=True)
        files = {
            "root.pem": self.root.pem,
            "secc.pem": self.secc.pem,
            "secc.key": self.secc.key_pem,
            "secc_chain.pem": self.cpo_sub2.pem + self.cpo_sub1.pem,
            "secc_fullchain.pem": b"".join(self.secc_chain),
            "vehicle.pem": self.vehicle.pem,
            "vehicle.key": self.vehicle.key_pem,
            "vehicle_chain.pem": self.veh_sub2.pem + self.veh_sub1.pem,
            "vehicle_fullchain.pem": b"".join(self.vehicle_chain),
            "secc_ocsp.der": self.ocsp_response(),
        }
        out = {}
        for name, data in files.items():
            path = os.path.join(directory, name)
            with open(path, "wb") as f:
                f.write(data)
            out[name] = path
        return out
