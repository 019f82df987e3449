"""The EV's Plug-and-Charge side on the host: for simulators, benches and tests.

    objs = model_objects("DIR/se050/vehicle.json")   # -> Se050Model.load_bundle(objs)
    cfg = contract_config("DIR")                     # Evcc config: auth pnc + references
    crypto = SoftCrypto.from_bundle("DIR/se050/vehicle.json")   # no SE050 at all

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
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils


_CURVES = {"NIST_P256": "secp256r1", "NIST_P521": "secp521r1"}


def _bundle(source):
    if isinstance(source, dict):
        return source
    with open(source) as f:
        return json.load(f)


def model_objects(bundle):
    """host.bench.se050_model provisioning objects of a pki device bundle
    (a path or the parsed dict); entries the SE050 cannot hold (Ed448) are
    left out."""
    out = []
    for e in _bundle(bundle)["entries"]:
        k = e["key"]
        if not k.get("se050_supported", True):
            continue
        out.append({"object_id": k["object_id"], "curve": _CURVES.get(k["curve"], k["curve"]),
                    "private_key_pem": k["pkcs8_pem"], "policy": ["sign", "verify", "read"]})
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

