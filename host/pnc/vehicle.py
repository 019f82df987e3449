"""The EV's Plug-and-Charge side on the host: for simulators, benches and tests.

    objs = model_objects("DIR/se050/vehicle.json")   # -> Se050Model.load_bundle(objs)
    cfg = contract_config("DIR")                     # Evcc config: auth pnc + references
    crypto = SoftCrypto.from_bundle("DIR/se050/vehicle.json")   # no SE050 at all

CertificateInstallation (a vehicle without a contract):

    objs = model_objects(bundle, without=("contract_leaf",))   # no contract in the chip
    cfg = install_config("DIR")                      # Evcc config: install_contract + OEM refs
    v = InstallationVerifier.from_pki("DIR")         # Vehicle(cps_verifier=v): the CPS chain
    cfg2 = installed_config(info)                    # after ('contract_installed', info)

A ``micro15118 pki`` device bundle (host/pki/se050.py) holds each device
key with its certificate; the vehicle's contract leaf key is object
0x15118400 + slot, its certificate 0x15118480 + slot.  ``model_objects``
turns a bundle into the SE050 model's provisioning objects (key pairs that
may sign and be read for their public part, certificates as readable
binary files), so the firmware's Se050 driver signs against the model with
the key inside it.  The sub-CA certificates are not in the chip: the Evcc
config names them as DER bytes (on a board: DER files).
"""
import hashlib
import hmac
import json
import os

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from micro15118 import exi
from micro15118.iso20 import xmldsig
from host.pki import profile as _profile


_CURVES = {"NIST_P256": "secp256r1", "NIST_P521": "secp521r1"}


def _bundle(source):
    if isinstance(source, dict):
        return source
    with open(source) as f:
        return json.load(f)


def model_objects(bundle, without=()):
    """host.bench.se050_model provisioning objects of a pki device bundle
    (a path or the parsed dict); entries the SE050 cannot hold (Ed448) and
    those whose role is in ``without`` (("contract_leaf",): a vehicle that
    has no contract yet) are left out.  The OEM provisioning key may also
    agree keys (ECDH: CertificateInstallation's key wrap)."""
    out = []
    for e in _bundle(bundle)["entries"]:
        k = e["key"]
        if not k.get("se050_supported", True) or e.get("role") in without:
            continue
        policy = ["sign", "verify", "read"] + (["ka"] if e.get("role") == "oem_prov_leaf" else [])
        out.append({"object_id": k["object_id"], "curve": _CURVES.get(k["curve"], k["curve"]),
                    "private_key_pem": k["pkcs8_pem"], "policy": policy})
        out.append({"object_id": e["cert"]["object_id"], "data_hex": e["cert"]["der"],
                    "policy": ["read"]})
    return out


def _entry(bundle, name):
    for e in _bundle(bundle)["entries"]:
        if e["name"] == name:
            return e
    raise ValueError("no %r in the bundle" % name)


def _ders(path):
    with open(path, "rb") as f:
        return [c.public_bytes(serialization.Encoding.DER) for c in x509.load_pem_x509_certificates(f.read())]


def contract_config(directory, name="contract_leaf"):
    """Evcc config keys for PnC with ``name``'s contract: a ``micro15118 pki``
    directory (its chains/<name>.pem) or a ``pki variants`` case folder (its
    case.json).  The key and the leaf are SE050 references (the vehicle
    bundle's object IDs), the sub-CAs DER bytes."""
    case = os.path.join(directory, "case.json")
    if os.path.exists(case):
        with open(case) as f:
            c = json.load(f)
        subs = [d for p in c["sub_cas"] for d in _ders(os.path.join(directory, p))]
    else:
        subs = _ders(os.path.join(directory, "chains", name + ".pem"))[1:]
    e = _entry(os.path.join(directory, "se050", "vehicle.json"), name)
    return {"auth": "pnc", "contract_key": int(e["key"]["object_id"], 16),
            "contract_chain": [int(e["cert"]["object_id"], 16)] + subs}


def install_config(directory, name="oem_prov_leaf", slot=0, roots=("v2g_root",)):
    """Evcc config keys for a PnC vehicle without a contract that installs one
    (a ``micro15118 pki`` directory): the OEM provisioning key and leaf as
    SE050 references (the vehicle bundle's object IDs), its sub-CAs as DER,
    ListOfRootCertificateIDs of ``roots`` (issuer as an RFC 4514 string,
    serial) and the SE050 slot for the new contract."""
    from host.pki.ca import Pki
    pki = Pki.open(directory)
    e = _entry(os.path.join(directory, "se050", "vehicle.json"), name)
    subs = _ders(os.path.join(directory, "chains", name + ".pem"))[1:]
    ids = [(pki.cert(r).issuer.rfc4514_string(), pki.cert(r).serial_number) for r in roots]
    return {"auth": "pnc", "install_contract": True, "oem_prov_key": int(e["key"]["object_id"], 16),
            "oem_prov_chain": [int(e["cert"]["object_id"], 16)] + subs, "root_cert_ids": ids,
            "contract_slot": slot}


def installed_config(info):
    """The Evcc config keys of a contract the EVCC installed (the info of its
    ('contract_installed', info) event): PnC with it from the next session."""
    return {"auth": "pnc", "contract_key": info["key"], "contract_chain": list(info["chain"])}


SCHEMA = "-20:CommonMessages"
SIGNED_INSTALLATION_DATA = "SignedInstallationData"


class InstallationVerifier:
    """The EV's judge of a CertificateInstallationRes (the Vehicle's
    ``cps_verifier``; on a board it runs on the vehicle's host): from the
    evidence (iso20/vehicle.py) it trusts only the octets, decodes the
    SignedInfo and SignedInstallationData fragments itself and checks

    1. SignedInfo: one Reference "#" + Id, SHA-512, ECDSA-SHA512; the
       DigestValue is SHA-512 of the element fragment;
    2. the SignatureValue over SignedInfo with the CPS leaf's key;
    3. the CPS chain (leaf, sub-CAs) with host.pki.profile.check_chain, role
       cps_leaf: to a trusted V2G root, the -20 profile, validity (and
       revocation when CRLs / OCSP responses are given).

    True, or the reason for a refusal.  ``anchors``: the V2G roots the EV
    trusts (x509 objects, DER/PEM bytes or files)."""

    def __init__(self, anchors, clock=None, profile="iso20", crls=(), ocsp_responses=()):
        from host.pnc.verify import _load_certs, _load_crls, _load_ocsp
        self.anchors = _load_certs(anchors)
        self.crls = _load_crls(crls)
        self.ocsp_responses = _load_ocsp(ocsp_responses)
        self.clock = clock or _profile.now_utc
        self.profile = _profile.profile_of(profile)
        self.log = []               # (verdict, [reasons])

    @classmethod
    def from_pki(cls, directory, roots=("v2g_root",), **kw):
        from host.pki.ca import Pki
        pki = Pki.open(directory)
        kw.setdefault("profile", pki.profile)
        return cls([pki.cert(r) for r in roots], **kw)

    def verify_installation(self, evidence, now=None):
        why = self.check(evidence)
        self.log.append((not why, why))
        return True if not why else "; ".join(why)

    def check(self, ev, at=None):
        """[reasons]; empty when the response may be used."""
        try:
            octets = bytes(ev["signed_info"])
            element = bytes(ev["element"])
            try:
                si = exi.decode(SCHEMA, octets, fragment=True)["SignedInfo"]
                data = exi.decode(SCHEMA, element, fragment=True)[SIGNED_INSTALLATION_DATA]
            except (exi.ExiError, KeyError, TypeError) as e:
                return ["fragments do not decode: %s" % e]
            sig = {"SignedInfo": si, "SignatureValue": {"#text": bytes(ev["signature"])}}
            try:
                mine = xmldsig.evidence(SCHEMA, SIGNED_INSTALLATION_DATA, data, sig)
            except ValueError as e:
                return ["SignedInfo: %s" % e]
            if mine["element"] != element or mine["signed_info"] != octets:
                return ["fragments are not canonical"]
            if mine["method"] != xmldsig.ECDSA_SHA512:
                return ["signature method %s" % mine["method"]]
            if not hmac.compare_digest(hashlib.sha512(element).digest(), mine["digest"]):
                return ["digest of SignedInstallationData does not match"]
            try:
                leaf = x509.load_der_x509_certificate(bytes(ev["leaf"]))
                subs = [x509.load_der_x509_certificate(bytes(c)) for c in ev["sub_cas"]]
            except ValueError as e:
                return ["CPS certificate does not parse: %s" % e]
            key = leaf.public_key()
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return ["the CPS leaf has no EC key"]
            try:
                key.verify(xmldsig.raw_to_der(mine["signature"]), octets, ec.ECDSA(hashes.SHA512()))
            except (InvalidSignature, ValueError):
                return ["SignatureValue does not verify with the CPS leaf's key"]
            violations = _profile.check_chain(leaf, subs, self.anchors, "cps_leaf", profile=self.profile,
                                              at=at or self.clock(), crls=self.crls,
                                              ocsp_responses=self.ocsp_responses)
            return [str(v) for v in violations]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            return ["evidence not well formed: %r" % (e,)]


class SoftCrypto:
    """The crypto seam in software (hashlib + cryptography), for a vehicle
    without an SE050: keys {ref: private key}, certificates {ref: DER}."""

    def __init__(self, keys, certificates=None):
        self.keys = dict(keys)
        self.certificates = dict(certificates or {})
        self.signatures = 0

    @classmethod
    def from_bundle(cls, bundle):
        keys, certs = {}, {}
        for e in _bundle(bundle)["entries"]:
            keys[int(e["key"]["object_id"], 16)] = serialization.load_pem_private_key(
                e["key"]["pkcs8_pem"].encode(), None)
            certs[int(e["cert"]["object_id"], 16)] = bytes.fromhex(e["cert"]["der"])
        return cls(keys, certs)

    def sha512(self, data):
        return hashlib.sha512(bytes(data)).digest()

    def sign_sha512(self, key_ref, digest):
        self.signatures += 1
        return self.keys[key_ref].sign(bytes(digest), ec.ECDSA(utils.Prehashed(hashes.SHA512())))

    def read_certificate(self, ref):
        return self.certificates[ref]

    # -- CertificateInstallation (iso20/xmldsig.py lists them) --------------------------
    def ecdh_into(self, key_ref, peer_point, out):
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), bytes(peer_point))
        z = self.keys[key_ref].exchange(ec.ECDH(), peer)
        out[0:len(z)] = z
        return len(z)

    def sha512_into(self, data, out):
        out[0:64] = hashlib.sha512(bytes(data)).digest()

    def import_private_key(self, key_ref, scalar, point):
        key = ec.derive_private_key(int.from_bytes(bytes(scalar), "big"), ec.SECP521R1())
        pub = key.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
        if pub != bytes(point):
            raise ValueError("the private key does not match the public point")
        self.keys[key_ref] = key

    def write_certificate(self, ref, der):
        self.certificates[ref] = bytes(der)

    def verify_sha512(self, key_ref, digest, der):
        try:
            self.keys[key_ref].public_key().verify(bytes(der), bytes(digest),
                                                   ec.ECDSA(utils.Prehashed(hashes.SHA512())))
            return True
        except InvalidSignature:
            return False

    def delete(self, ref):
        self.keys.pop(ref, None)
        self.certificates.pop(ref, None)

    def wipe(self):
        pass

