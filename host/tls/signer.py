"""The signer seam: what the TLS endpoints call for their one handshake
signature, and a software stand-in for the SE050.

Contract (``signer(digest, algorithm) -> bytes``):

- ``algorithm`` is the TLS 1.3 SignatureScheme name.
- ``"ecdsa_secp521r1_sha512"`` (the -20 default): ``digest`` is the 64-byte
  SHA-512 of the CertificateVerify content; return a DER ECDSA-Sig-Value
  (SEQUENCE { r INTEGER, s INTEGER }).  This is the SE050's "sign a hash"
  operation; the private key never leaves it.  (Also
  ``ecdsa_secp384r1_sha384`` / ``ecdsa_secp256r1_sha256`` with 48/32-byte
  digests, for non -20 keys.)
- ``"ed448"``: pure EdDSA, so ``digest`` is the whole message to sign (the
  146-byte CertificateVerify content with a SHA-384 transcript); return the
  raw 114-byte signature.
- It is called exactly once per handshake, synchronously, from inside
  ``feed_records``/``start``; raise to fail the handshake (the endpoint
  sends internal_error).
"""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, \
    utils

_PREHASH = {"ecdsa_secp521r1_sha512": hashes.SHA512,
            "ecdsa_secp384r1_sha384": hashes.SHA384,
            "ecdsa_secp256r1_sha256": hashes.SHA256}


class SoftwareSigner(object):
    """A signer backed by a ``cryptography`` private key: the SE050's stand-in
    in tests and simulations.  Records each call as (algorithm, len(data))."""

    def __init__(self, private_key):
        self._key = private_key
        self.calls = []

    def __call__(self, digest, algorithm):
        digest = bytes(digest)
        self.calls.append((algorithm, len(digest)))
        if algorithm in _PREHASH:
            if not isinstance(self._key, ec.EllipticCurvePrivateKey):
                raise ValueError("%s needs an EC key" % algorithm)
            h = _PREHASH[algorithm]()
            if len(digest) != h.digest_size:
                raise ValueError("%s: digest must be %d bytes, got %d"
                                 % (algorithm, h.digest_size, len(digest)))
            return self._key.sign(digest, ec.ECDSA(utils.Prehashed(h)))
        if algorithm in ("ed448", "ed25519"):
            if not isinstance(self._key, (ed448.Ed448PrivateKey,
                                          ed25519.Ed25519PrivateKey)):
                raise ValueError("%s needs an EdDSA key" % algorithm)
            return self._key.sign(digest)
        raise ValueError("unsupported signature algorithm %r" % algorithm)
