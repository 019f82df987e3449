"""The contract private key of a CertificateInstallationRes: unwrap it and
put it into the SE050 (the EV's side; the CPS/MO side is host/pnc/cps.py).

What the key wrap is, and how sure we are of each part
------------------------------------------------------
ECDH (ephemeral-static) on secp521r1: the eMSP makes an ephemeral key pair,
sends its public point as DHPublicKey (133 bytes, 04 || X || Y) and agrees
a secret with the EV's OEM provisioning certificate's key; the EV agrees
the same secret with its OEM provisioning private key.  [V2G20-2489] /
[V2G20-2491] and 7.9.2.5.4 as quoted in public transcriptions of the
standard's text (found by code search, not the standard itself: say "read
in a transcription", not "checked").  Z = the shared point's x coordinate,
66 bytes big-endian (SP 800-56A; what the SE050's ECDH returns).

Session key: INFERRED.  7.9.2.5.4 names "the session key derived in the
ECDHE protocol" but no transcription we found gives its KDF.  We take the
-2 KDF ([V2G2-818], as python-iso15118's shared/security.py codes it for
-2: NIST SP 800-56A Concatenation KDF, OtherInfo = AlgorithmID 0x01 ||
PartyUInfo 0x55 || PartyVInfo 0x56) with the -20 hash and key size:
SHA-512 (the -20 hash, [V2G20-2317]) and 256 bits (AES-256):

    K = leftmost 32 bytes of SHA-512(00 00 00 01 || Z || 01 55 56)

python-iso15118 has no -20 CertificateInstallation (its -20 state raises
NotImplementedError), so there is nothing to interoperate with yet; a
different KDF in the standard changes KDF_HASH / OTHER_INFO here and in
host/pnc/cps.py, nothing else.

Encryption: AES-GCM-256 (SP 800-38D), read in transcriptions of
[V2G20-2497..2499] / [V2G20-2505], and consistent with the XSD's sizes
(94 = 12 + 66 + 16): SECP521_EncryptedPrivateKey = IV (12, random) ||
ciphertext (66: the 521-bit key padded with 7 leading zero bits) || tag
(16).  AAD ([V2G20-2492], transcription): the PCID "with capital letters
and digits without separators" followed by the contract certificate's SKI
as an upper-case hex string.  The text says 18 + 16 bytes; our test PKI's
PCID (the OEM provisioning certificate's CN) has 17 characters and its
SKIs are 20 bytes (40 hex digits), so we use them at whatever length they
have: a fixed 18/16 would need the standard's Annex C.2 / Table B.9.
The EV rejects the response when the tag does not verify ([V2G20-2504]),
when the 7 leading bits are not zero ([V2G20-2678]), and when the key is
not below the curve order or does not belong to the certificate
([V2G20-2507]): the SE050 signs a probe with the imported key and
verifies it with the certificate's public point stored beside it.

Where the plaintext key exists (the MCU does no P-521 arithmetic, and an
SE050 on IoT applet 3.x cannot decrypt-and-import, so the 66 bytes must
cross the MCU):
* `pt`, a 66-byte bytearray of install(), filled by AES-CTR only after the
  tag verified, zeroed in `finally`;
* the SE050 driver's command buffer and T=1 frame while WriteECKey goes
  out (the driver zeroes both after the command; Se050Crypto.wipe() the
  receive buffers too);
* the I2C wires to the SE050, in clear: the driver has no SCP03 session;
* the SE050's key object, from then on (never readable).
Secret by-products get the same treatment: Z (66), the KDF input (73) and
output (64), the AES round keys, GHASH key and keystream: bytearrays zeroed
before install() returns, on success or failure.  Nothing secret is put in
a bytes object (MicroPython cannot zero one) or a slice (memoryviews only).
"""
from .. import xmldsig
from . import aesgcm

KDF_HASH = "SHA-512"
OTHER_INFO = b"\x01\x55\x56"        # AlgorithmID, PartyUInfo, PartyVInfo ([V2G2-818])
KEY_SIZE = 66                       # secp521r1 private key, bytes
POINT_SIZE = 133                    # 04 || X || Y
WRAPPED_SIZE = 94                   # IV 12 || ciphertext 66 || tag 16
IV_SIZE = 12
TAG_SIZE = 16
PROBE = b"micro15118: does the imported contract key match its certificate?"
# the order n of the secp521r1 base point, big-endian, 66 bytes
P521_ORDER = (b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
              b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfa"
              b"\x51\x86\x87\x83\xbf\x2f\x96\x6b\x7f\xcc\x01\x48\xf7\x09\xa5\xd0\x3b"
              b"\xb5\xc9\xb8\x89\x9c\x47\xae\xbb\x6f\xb7\x1e\x91\x38\x64\x09")


def aad(pcid, ski):
    """[V2G20-2492]: PCID (upper case, no separators) || SKI as upper-case hex."""
    p = "".join(c for c in pcid.upper() if c not in "-* ")
    return p.encode() + "".join("%02X" % b for b in ski).encode()


def _zero(b):
    for i in range(len(b)):
        b[i] = 0


def _below_order(d):
    """0 < d < n, comparing big-endian bytes (no arithmetic on the key)."""
    nonzero = 0
    for i in range(KEY_SIZE):
        nonzero |= d[i]
    if not nonzero:
        return False
    for i in range(KEY_SIZE):
        if d[i] != P521_ORDER[i]:
            return d[i] < P521_ORDER[i]
    return False


def session_key(crypto, z, n, out):
    """K (32 bytes) into `out` from the shared secret z[0:n] (module docstring)."""
    buf = bytearray(4 + n + len(OTHER_INFO))
    h = bytearray(64)
    try:
        buf[3] = 1                          # counter 00000001
        for i in range(n):
            buf[4 + i] = z[i]
        for i in range(len(OTHER_INFO)):
            buf[4 + n + i] = OTHER_INFO[i]
        crypto.sha512_into(memoryview(buf), h)
        for i in range(32):
            out[i] = h[i]
    finally:
        _zero(buf)
        _zero(h)


def install(crypto, oem_key, dh_public, wrapped, aad_, key_ref, point):
    """Unwrap SECP521_EncryptedPrivateKey and import the key into the chip as
    `key_ref` with the contract certificate's public `point`, then check it.
    Raises ValueError (or the seam's error) with nothing imported on any
    failure; never returns or keeps the key."""
    if len(dh_public) != POINT_SIZE or dh_public[0] != 4:
        raise ValueError("DHPublicKey is no uncompressed P-521 point")
    if len(wrapped) != WRAPPED_SIZE:
        raise ValueError("SECP521_EncryptedPrivateKey is not %d bytes" % WRAPPED_SIZE)
    if len(point) != POINT_SIZE or point[0] != 4:
        raise ValueError("the contract certificate's key is no P-521 point")
    z = bytearray(KEY_SIZE)
    k = bytearray(32)
    pt = bytearray(KEY_SIZE)
    imported = False
    try:
        n = crypto.ecdh_into(oem_key, dh_public, z)
        if n != KEY_SIZE:
            raise ValueError("ECDH gave %d bytes" % n)
        session_key(crypto, z, n, k)
        _zero(z)
        iv = wrapped[0:IV_SIZE]
        ct = wrapped[IV_SIZE:IV_SIZE + KEY_SIZE]
        tag = wrapped[IV_SIZE + KEY_SIZE:]
        if not aesgcm.decrypt(k, iv, ct, aad_, tag, pt):
            raise ValueError("AES-GCM: the tag does not verify (V2G20-2504)")
        _zero(k)
        if pt[0] & 0xFE:
            raise ValueError("decrypted key lacks its 7 leading zero bits (V2G20-2678)")
        if not _below_order(pt):
            raise ValueError("decrypted key is not in 1..n-1 (V2G20-2507)")
        crypto.import_private_key(key_ref, memoryview(pt), point)
        imported = True
        _zero(pt)
        digest = crypto.sha512(PROBE)
        der = crypto.sign_sha512(key_ref, digest)
        # the check itself: the signature verifies with the stored public
        # point (the certificate's), so the imported scalar belongs to it
        if not crypto.verify_sha512(key_ref, digest, der):
            raise ValueError("the key does not belong to the contract certificate (V2G20-2507)")
        xmldsig.der_to_raw(der)             # a well-formed P-521 signature
        imported = False                    # keep it
    finally:
        _zero(z)
        _zero(k)
        _zero(pt)
        crypto.wipe()
        if imported:
            try:
                crypto.delete(key_ref)
            except Exception:
                pass
