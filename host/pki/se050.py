"""Factory provisioning bundles for the NXP SE050 secure element.

A private key whose owner is a device (the charger's SECC leaf; the car's
vehicle leaf, OEM provisioning leaf and contract leaves) is never written to
``DIR/keys/``: ``micro15118 pki`` writes it only into that device's bundle,
``DIR/se050/<device>.json``, in the form the factory injects it (SE05x
WriteECKey: the raw private scalar and the uncompressed public point, on the
SE05x curve ID), next to the certificate as a binary object.  CA keys, the
CPS leaf and the OCSP signer (back-end services) stay in ``DIR/keys/``.

Object-ID map (32-bit SE05x object identifiers; ours all lie in
0x15118000-0x151184FF, clear of the ranges NXP reserves: 0x7FFF0000-
0x7FFFFFFF for the applet's own objects, 0x7DA00000- for the middleware's
demo authentication keys, 0xF0000000 upward for NXP trust provisioning):

==============  ==========  ============================================
object ID       device      contents
==============  ==========  ============================================
0x15118100 + n  charger     SECC leaf key pair, n-th SECC certificate
0x15118180 + n  charger     SECC leaf certificate (DER, binary file)
0x15118200 + n  vehicle     vehicle leaf key pair (TLS 1.3 client)
0x15118280 + n  vehicle     vehicle leaf certificate
0x15118300 + n  vehicle     OEM provisioning leaf key pair
0x15118380 + n  vehicle     OEM provisioning leaf certificate
0x15118400 + n  vehicle     contract leaf key pair, n-th contract
0x15118480 + n  vehicle     contract leaf certificate
==============  ==========  ============================================

n = 0..127 is the slot: the first certificate of a role takes 0, a second
one issued with ``pki issue --name`` the next free slot.  Renewing keeps
the slot (the object is overwritten).

Each bundle entry::

    {"name": "contract_leaf", "role": "contract_leaf", "slot": 0,
     "key": {"object_id": "0x15118400", "type": "EC_KEY_PAIR",
             "curve": "NIST_P521", "se05x_curve_id": 5,
             "private_key": "<hex raw scalar>", "public_key": "<hex 04||X||Y>",
             "pkcs8_pem": "..."},
     "cert": {"object_id": "0x15118480", "type": "BINARY_FILE", "der": "<hex>"}}

``pkcs8_pem`` is the same key for host-side simulators
(``load_private_key``).  SE05x curve IDs: NIST_P256 = 0x03, NIST_P521 = 0x05
(NXP Plug & Trust ``SE05x_ECCurve_t``).  The SE050 has no Ed448 signing
curve (its Edwards/Montgomery set is Ed25519, X25519, X448), so under
``--profile ed448`` an entry says ``"curve": "ED448", "se05x_curve_id":
null, "se050_supported": false``: such a device keeps the key elsewhere.
"""
import json
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

BASE = {
    "secc_leaf": 0x15118100,
    "vehicle_leaf": 0x15118200,
    "oem_prov_leaf": 0x15118300,
    "contract_leaf": 0x15118400,
}
CERT_OFFSET = 0x80
SLOTS = 0x80

_SE05X_CURVES = {"secp256r1": ("NIST_P256", 0x03), "secp521r1": ("NIST_P521", 0x05)}


def object_ids(role, slot):
    """(key pair object ID, certificate object ID) of a role's slot."""
    if role not in BASE:
        raise ValueError("role %r has no SE050 objects" % role)
    if not 0 <= slot < SLOTS:
        raise ValueError("SE050 slot %d out of range 0..%d" % (slot, SLOTS - 1))
    return BASE[role] + slot, BASE[role] + CERT_OFFSET + slot


def bundle_path(directory, device):
    return os.path.join(directory, "se050", device + ".json")


def read_bundle(path):
    with open(path) as f:
        return json.load(f)


def _key_object(key, object_id):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curve, curve_id = _SE05X_CURVES.get(key.curve.name, (key.curve.name.upper(), None))
        size = (key.curve.key_size + 7) // 8
        private = key.private_numbers().private_value.to_bytes(size, "big")
        public = key.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    elif isinstance(key, ed448.Ed448PrivateKey):
        curve, curve_id = "ED448", None
        private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    else:
        raise ValueError("no SE050 form for a %s key" % type(key).__name__)
    obj = {"object_id": "0x%08X" % object_id, "type": "EC_KEY_PAIR", "curve": curve,
           "se05x_curve_id": curve_id, "se050_supported": curve_id is not None,
           "private_key": private.hex(), "public_key": public.hex(), "pkcs8_pem": pem}
    return obj


def put(directory, device, name, role, slot, key, cert_der, profile):
    """Write (or overwrite) ``name``'s key and certificate in the device's bundle."""
    path = bundle_path(directory, device)
    try:
        bundle = read_bundle(path)
    except FileNotFoundError:
        bundle = {"device": device, "profile": profile, "format": "micro15118-se050-1",
                  "entries": []}
    key_id, cert_id = object_ids(role, slot)
    entry = {"name": name, "role": role, "slot": slot, "key": _key_object(key, key_id),
             "cert": {"object_id": "0x%08X" % cert_id, "type": "BINARY_FILE", "der": cert_der.hex()}}
    entries = [e for e in bundle["entries"] if e["name"] != name]
    entries.append(entry)
    entries.sort(key=lambda e: int(e["key"]["object_id"], 16))
    bundle["entries"] = entries
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(bundle, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
    return entry


def entry(directory, device, name):
    for e in read_bundle(bundle_path(directory, device))["entries"]:
        if e["name"] == name:
            return e
    raise ValueError("no %r in the %s SE050 bundle" % (name, device))


def load_private_key(directory, device, name):
    """The private key of ``name`` from ``DIR/se050/<device>.json`` (for
    simulators and tests: a real device signs inside the SE050)."""
    pem = entry(directory, device, name)["key"]["pkcs8_pem"].encode()
    return serialization.load_pem_private_key(pem, None)
