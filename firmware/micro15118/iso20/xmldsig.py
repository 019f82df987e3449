"""XMLDSig for ISO 15118-20 signed elements (sans-I/O, no hashing here).

A -20 signature lives in the message Header (Signature: SignedInfo +
SignatureValue) and covers elements of the body that carry an Id
attribute (PnC_AReqAuthorizationMode in AuthorizationReq, ...):

* each signed element is EXI-encoded as a *fragment* with the grammar of
  the message's schema ('-20:CommonMessages' for AuthorizationReq); its
  SHA-512 is a Reference's DigestValue, the Reference's URI "#" + Id, one
  Transform and the CanonicalizationMethod http://www.w3.org/TR/canonical-exi/
  (python-iso15118 refuses a Reference without Transforms);
* SignedInfo is EXI-encoded as a fragment with the same grammar: those
  octets are signed, ECDSA over their SHA-512 on secp521r1
  (http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512), and the
  SignatureValue is the raw r || s, 66 + 66 bytes (not DER).

MicroPython has no SHA-512 and the MCU does no P-521 arithmetic: digests
and signatures go through a *crypto seam*, an object with

    sha512(data) -> 64 bytes
    sign_sha512(key_ref, digest64) -> DER ECDSA signature

(and, for the EV's certificate store, `read_certificate(ref) -> DER`).
On a board that is the SE050 (`Se050Crypto` below wraps the driver; the
private key never leaves the chip); on the host, `host.pnc.vehicle.SoftCrypto`.

CertificateInstallation (the EV, iso20/evcc/certificate_installation.py)
needs a few more primitives of the same seam, each one SE050 command:

    ecdh_into(key_ref, peer_point, out) -> n   shared secret (x) into bytearray out
    sha512_into(data, out)                      SHA-512 into bytearray out (64)
    import_private_key(key_ref, scalar, point)  a P-521 key pair written into the chip
    write_certificate(ref, der)                 a binary object
    verify_sha512(key_ref, digest, der) -> bool
    delete(ref)
    wipe()                                      zero every buffer that carried a secret

The `_into` forms write into the caller's bytearray, which it zeroes:
MicroPython cannot zero a bytes object, so no secret comes back as one.

Verify side (the SECC): `evidence()` checks the Signature's structure
against the signed element and re-encodes the element and SignedInfo
fragments, so a verifier with SHA-512 and ECDSA (the charger's host:
`host.pnc.verify`) can check the digest and the signature.  The SECC
itself never trusts a signature: it hands the evidence on.
"""
from .. import exi

CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
EDDSA_ED448 = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed448"

# SignatureValue length of each method: raw r || s on secp521r1; Ed448 R || S
SIGNATURE_SIZE = {ECDSA_SHA512: 132, EDDSA_ED448: 114}
P521_SIZE = 66                  # bytes of r and of s


# SE050 IoT applet codes (NXP se05x_enums.h, as drivers/se050.py has them) for
# the two commands whose answer is a secret and must not come back as bytes
_INS_CRYPTO = 0x03
_P1_DEFAULT = 0x00
_P1_EC = 0x01
_P2_DH = 0x0F
_P2_ONESHOT = 0x0E
_DIGEST_SHA512 = 0x06
_NIST_P521 = 0x05
# policy rules for what the EV writes during CertificateInstallation: the
# contract key may sign, verify and show its public part (a private key is
# never readable), and may be replaced or deleted by the next installation
_ALLOW_SIGN = 0x10000000
_ALLOW_VERIFY = 0x08000000
_ALLOW_READ = 0x00200000
_ALLOW_WRITE = 0x00100000
_ALLOW_DELETE = 0x00040000
KEY_POLICY = _ALLOW_SIGN | _ALLOW_VERIFY | _ALLOW_READ | _ALLOW_WRITE | _ALLOW_DELETE
CERT_POLICY = _ALLOW_READ | _ALLOW_WRITE | _ALLOW_DELETE


def _policy(rules):
    """One SE050 policy entry for authentication object 0 (drivers/se050.py policy())."""
    return bytes((8, 0, 0, 0, 0, (rules >> 24) & 0xFF, (rules >> 16) & 0xFF,
                  (rules >> 8) & 0xFF, rules & 0xFF))


def _zero(b):
    for i in range(len(b)):
        b[i] = 0


class Se050Crypto:
    """The crypto seam on an SE050 (micro15118.drivers.se050.Se050, or
    anything with its sha512 / sign_sha512 / read_binary): key references
    are the chip's object IDs."""

    def __init__(self, se):
        self.se = se

    def sha512(self, data):
        return self.se.sha512(data)

    def sign_sha512(self, key_ref, digest):
        return self.se.sign_sha512(key_ref, digest)

    def read_certificate(self, ref):
        return self.se.read_binary(ref)

    # -- CertificateInstallation (module docstring) --------------------------------

    def verify_sha512(self, key_ref, digest, der):
        return self.se.verify_sha512(key_ref, digest, der)

    def _secret(self, what, ins, p1, p2, out):
        """Send the APDU built in the driver's buffer; copy the TLV 0x41 of
        the answer into `out` (no bytes object made of it); wipe."""
        se = self.se
        try:
            v = se._get(se._send(what, ins, p1, p2))
            n = len(v)
            if n > len(out):
                raise ValueError("SE050 %s: %d bytes for a %d-byte buffer" % (what, n, len(out)))
            for i in range(n):
                out[i] = v[i]
            return n
        finally:
            self.wipe()

    def ecdh_into(self, key_ref, peer_point, out):
        """ECDHGenerateSharedSecret with the chip's key `key_ref`: the shared
        x coordinate into `out`; returns its length (66 on P-521).  Built
        with the driver's APDU helpers: its ecdh() returns bytes."""
        se = self.se
        se._begin()
        se._obj(key_ref)
        se._tlv(0x42, peer_point)
        return self._secret("ECDH", _INS_CRYPTO, _P1_EC, _P2_DH, out)

    def sha512_into(self, data, out):
        """DigestOneShot SHA-512 of data (<= 880 bytes) into `out`; the
        input (a key derivation's, holding a shared secret) is wiped from
        the driver's buffers after."""
        se = self.se
        se._begin()
        se._tlv_int(0x41, _DIGEST_SHA512, 1)
        se._tlv(0x42, data)
        if self._secret("DigestOneShot", _INS_CRYPTO, _P1_DEFAULT, _P2_ONESHOT, out) != 64:
            raise ValueError("SE050 SHA-512: not 64 bytes")

    def import_private_key(self, key_ref, scalar, point):
        """WriteECKey: the P-521 key pair (scalar, point) as object key_ref
        (replacing one there), policy KEY_POLICY.  Pass the scalar as a
        memoryview of the caller's bytearray: the driver copies it into its
        command buffer and the T=1 frame and zeroes both after."""
        se = self.se
        try:
            if se.exists(key_ref):
                se.delete(key_ref)
            se.write_private_key(key_ref, _NIST_P521, scalar, point, policy=_policy(KEY_POLICY))
        finally:
            self.wipe()

    def write_certificate(self, ref, der):
        se = self.se
        if se.exists(ref):
            se.delete(ref)
        se.write_binary(ref, der, policy=_policy(CERT_POLICY))

    def delete(self, ref):
        se = self.se
        if se.exists(ref):
            se.delete(ref)

    def wipe(self):
        """Zero the driver's command buffer and every T=1 buffer (the
        driver's own wipe() leaves the receive buffers, where an ECDH
        answer sits)."""
        se = self.se
        if hasattr(se, "wipe"):
            se.wipe()
        t1 = getattr(se, "t1", None)
        for name in ("_rx", "_rsp", "_tx", "_ctl"):
            b = getattr(t1, name, None)
            if isinstance(b, bytearray):
                _zero(b)


# --- DER <-> raw r || s ---------------------------------------------------------

def _der_len(der, i):
    """(length, next index) of the DER length at der[i]."""
    n = der[i]
    if n < 0x80:
        return n, i + 1
    k = n & 0x7F
    if k == 0 or k > 2 or i + 1 + k > len(der):
        raise ValueError("DER: bad length")
    v = 0
    for j in range(k):
        v = (v << 8) | der[i + 1 + j]
    if v < 0x80 or (k == 2 and v < 0x100):
        raise ValueError("DER: length not minimal")
    return v, i + 1 + k


def _der_int(der, i, size):
    """(the INTEGER at der[i] as `size` big-endian bytes, next index)."""
    if i >= len(der) or der[i] != 0x02:
        raise ValueError("DER: INTEGER expected")
    n, i = _der_len(der, i + 1)
    if n == 0 or i + n > len(der):
        raise ValueError("DER: bad INTEGER")
    v = der[i:i + n]
    if v[0] & 0x80:
        raise ValueError("DER: negative INTEGER")
    if n > 1 and v[0] == 0 and not v[1] & 0x80:
        raise ValueError("DER: INTEGER not minimal")
    while len(v) > 1 and v[0] == 0:
        v = v[1:]
    if len(v) > size:
        raise ValueError("DER: INTEGER longer than %d bytes" % size)
    return bytes(size - len(v)) + bytes(v), i + n


def der_to_raw(der, size=P521_SIZE):
    """ECDSA-Sig-Value (DER SEQUENCE of r, s) -> r || s, each `size` bytes
    (66 for secp521r1: the -20 SignatureValue is 132 bytes)."""
    der = bytes(der)
    if len(der) < 8 or der[0] != 0x30:
        raise ValueError("DER: SEQUENCE expected")
    n, i = _der_len(der, 1)
    if i + n != len(der):
        raise ValueError("DER: length does not match")
    r, i = _der_int(der, i, size)
    s, i = _der_int(der, i, size)
    if i != len(der):
        raise ValueError("DER: trailing data")
    return r + s


def _int_der(v):
    while len(v) > 1 and v[0] == 0:
        v = v[1:]
    if v[0] & 0x80:
        v = b"\x00" + v
    return b"\x02" + _len_der(len(v)) + v


def _len_der(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])


def raw_to_der(raw):
    """r || s (two halves of equal length) -> DER ECDSA-Sig-Value."""
    raw = bytes(raw)
    if not raw or len(raw) % 2:
        raise ValueError("raw signature: odd length")
    h = len(raw) // 2
    body = _int_der(raw[:h]) + _int_der(raw[h:])
    return b"\x30" + _len_der(len(body)) + body


# --- building ---------------------------------------------------------------------

def fragment(schema, name, element):
    """The EXI fragment of one element (the octets its digest covers)."""
    return exi.encode(schema, {name: element}, fragment=True)


def reference(id_, digest):
    return {"@URI": "#" + id_,
            "Transforms": {"Transform": [{"@Algorithm": CANONICAL_EXI}]},
            "DigestMethod": {"@Algorithm": SHA512},
            "DigestValue": digest}


def signed_info(references, method=ECDSA_SHA512):
    return {"CanonicalizationMethod": {"@Algorithm": CANONICAL_EXI},
            "SignatureMethod": {"@Algorithm": method},
            "Reference": references}


def sign(crypto, key_ref, schema, elements):
    """The Header's Signature over `elements`, [(name, element dict with
    '@Id')], of a message of `schema`: ECDSA-SHA512 with the key
    `key_ref` of the crypto seam."""
    refs = []
    for name, element in elements:
        refs.append(reference(element["@Id"], crypto.sha512(fragment(schema, name, element))))
    si = signed_info(refs)
    octets = exi.encode(schema, {"SignedInfo": si}, fragment=True)
    der = crypto.sign_sha512(key_ref, crypto.sha512(octets))
    return {"SignedInfo": si, "SignatureValue": {"#text": der_to_raw(der)}}


# --- verify side ------------------------------------------------------------------

def _algorithm(m, what):
    """The Algorithm of a method element that has nothing else."""
    if not isinstance(m, dict) or "@Algorithm" not in m:
        raise ValueError("no " + what)
    if len(m) != 1:
        raise ValueError(what + " with parameters")
    return m["@Algorithm"]


def evidence(schema, name, element, signature):
    """What a verifier needs for one signed element of a received message:

        {"id": Id, "element": its EXI fragment, "digest": DigestValue,
         "signed_info": the EXI fragment of SignedInfo (the signed octets),
         "method": SignatureMethod, "signature": SignatureValue (raw)}

    Raises ValueError when the Signature cannot be one over this element
    (no Signature, not exactly one Reference, a URI other than "#" + Id,
    an unknown algorithm or transform, a digest or signature of the wrong
    size): the answer to that is FAILED_SignatureError."""
    if not isinstance(signature, dict) or not isinstance(element, dict):
        raise ValueError("no Signature")
    id_ = element.get("@Id")
    si = signature.get("SignedInfo")
    if not isinstance(id_, str) or not isinstance(si, dict):
        raise ValueError("no Id or SignedInfo")
    if _algorithm(si.get("CanonicalizationMethod"), "CanonicalizationMethod") != CANONICAL_EXI:
        raise ValueError("CanonicalizationMethod is not canonical EXI")
    method = _algorithm(si.get("SignatureMethod"), "SignatureMethod")
    if method not in SIGNATURE_SIZE:
        raise ValueError("unknown SignatureMethod")
    refs = si.get("Reference")
    if not isinstance(refs, list) or len(refs) != 1:
        raise ValueError("not exactly one Reference")
    ref = refs[0]
    if not isinstance(ref, dict) or ref.get("@URI") != "#" + id_:
        raise ValueError("Reference URI is not #" + id_)
    if "Transforms" in ref:
        ts = ref["Transforms"].get("Transform")
        if not isinstance(ts, list) or len(ts) != 1 or _algorithm(ts[0], "Transform") != CANONICAL_EXI:
            raise ValueError("Transforms other than canonical EXI")
    if _algorithm(ref.get("DigestMethod"), "DigestMethod") != SHA512:
        raise ValueError("DigestMethod is not SHA-512")
    digest = ref.get("DigestValue")
    value = signature.get("SignatureValue")
    value = value.get("#text") if isinstance(value, dict) else None
    if not isinstance(digest, bytes) or len(digest) != 64:
        raise ValueError("DigestValue is not 64 bytes")
    if not isinstance(value, bytes) or len(value) != SIGNATURE_SIZE[method]:
        raise ValueError("SignatureValue of the wrong size")
    return {"id": id_, "element": fragment(schema, name, element), "digest": digest,
            "signed_info": exi.encode(schema, {"SignedInfo": si}, fragment=True),
            "method": method, "signature": value}
