"""The tlslite-ng layer: a TLSConnection subclass that makes tlslite-ng 0.8.2
speak the ISO 15118-20 TLS 1.3 profile.

Every override here is of a *non-public* tlslite-ng method, which is why
pyproject.toml pins tlslite-ng==0.8.2 and this module refuses any other
version.  What is overridden, and why:

- ``_sendMsg`` (client): rewrites the ClientHello before it is hashed and
  sent: TLS 1.3 suites only, in the -20 order, no renegotiation SCSV, an
  empty legacy_session_id (no middlebox compatibility mode), only the -20
  groups and signature schemes, status_request added, and the TLS 1.2-only
  and resumption extensions dropped.
- ``_sendMsg`` drops every ChangeCipherSpec and ``_ccs_sent`` is set at
  the start, so neither side ever sends the middlebox-compatibility CCS
  (tlslite sends it after a ServerHello or HelloRetryRequest whenever the
  peer's ClientHello carries a session id, as OpenSSL's does).  A CCS
  *received* during the handshake is still ignored, as RFC 8446 requires.
- ``_getMsg``: sees every handshake message as it arrives: the ClientHello
  (its random, for the key log) and the peer's Certificate, which it hands to
  the endpoint (X.509 path validation, the OCSP staple, the -20 profile);
  an empty client Certificate ends the handshake with certificate_required.
  tlslite does neither.
- ``_create_cert_msg`` (server): puts the OCSP staple in the leaf
  CertificateEntry (RFC 8446 4.4.2.1) when the client sent status_request.
- ``_queue_message`` (server): drops the empty compress_certificate
  extension tlslite puts in a CertificateRequest even when certificate
  compression is off.
- ``_getKEX``: ECDHE on secp521r1/x448 (and the other TLS 1.3 curves) with
  ``cryptography`` instead of pure-Python python-ecdsa.
- ``_handshakeWrapperAsync``: an error tlslite raises without sending an
  alert (a bad server CertificateVerify or Finished, a bad group, a failing
  signer) is turned into the matching alert.
- The record layer (``RecordLayer._getCipherSettings``,
  ``calcTLS1_3PendingState``): AES-GCM and ChaCha20-Poly1305 from
  ``cryptography`` (tlslite's own AES-GCM is pure Python), and the traffic
  secrets are handed to the key log.

The private key never reaches this module: :class:`DelegatedECDSAKey` and
:class:`DelegatedEdDSAKey` hold the public key and a ``signer`` callback.
"""

import errno
import warnings

with warnings.catch_warnings():
    # tlslite's package __init__ imports its asyncore integration
    warnings.simplefilter("ignore", DeprecationWarning)
    import tlslite
from tlslite import TLSConnection
from tlslite.constants import (AlertDescription, CertificateStatusType,
                               CipherSuite, ExtensionType,
                               GroupName, SignatureScheme)
from tlslite.errors import (TLSDecodeError, TLSDecryptionFailed,
                            TLSHandshakeFailure, TLSIllegalParameterException,
                            TLSInsufficientSecurity, TLSLocalAlert,
                            TLSRemoteAlert, TLSUnexpectedMessage,
                            TLSAbruptCloseError)
from tlslite.extensions import (CertificateStatusExtension,
                                SignatureAlgorithmsExtension,
                                StatusRequestExtension,
                                SupportedGroupsExtension,
                                SupportedVersionsExtension)
from tlslite.handshakesettings import HandshakeSettings
from tlslite.keyexchange import ECDHKeyExchange
from tlslite.messages import (Certificate, CertificateRequest,
                              ChangeCipherSpec, ClientHello,
                              CompressedCertificate)
from tlslite.recordlayer import RecordLayer
from tlslite.utils.ecdsakey import ECDSAKey
from tlslite.utils.eddsakey import EdDSAKey

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, \
    utils as asym_utils, x448, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, \
    ChaCha20Poly1305

TLSLITE_VERSION = "0.8.2"
if tlslite.__version__ != TLSLITE_VERSION:  # pragma: no cover
    raise ImportError(
        "host.tls overrides non-public methods of tlslite-ng %s; found %s"
        % (TLSLITE_VERSION, tlslite.__version__))

# --- names ---------------------------------------------------------------

#: -20 cipher suites, in the order [V2G20-1856] gives.
SUITES = {
    "TLS_AES_256_GCM_SHA384": CipherSuite.TLS_AES_256_GCM_SHA384,
    "TLS_CHACHA20_POLY1305_SHA256": CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
}
_SUITE_TO_TLSLITE = {"TLS_AES_256_GCM_SHA384": "aes256gcm",
                     "TLS_CHACHA20_POLY1305_SHA256": "chacha20-poly1305"}

#: signature scheme name -> (tlslite code point, kind, hash name or None)
SIG_SCHEMES = {
    "ecdsa_secp521r1_sha512": (SignatureScheme.ecdsa_secp521r1_sha512,
                               "ecdsa", "sha512"),
    "ecdsa_secp384r1_sha384": (SignatureScheme.ecdsa_secp384r1_sha384,
                               "ecdsa", "sha384"),
    "ecdsa_secp256r1_sha256": (SignatureScheme.ecdsa_secp256r1_sha256,
                               "ecdsa", "sha256"),
    "ed448": (SignatureScheme.ed448, "eddsa", None),
    "ed25519": (SignatureScheme.ed25519, "eddsa", None),
}
_SCHEME_BY_CODE = {v[0]: k for k, v in SIG_SCHEMES.items()}

#: cryptography curve name -> (python-ecdsa name tlslite uses, TLS hash)
_EC_CURVES = {
    "secp521r1": ("NIST521p", "sha512", "ecdsa_secp521r1_sha512"),
    "secp384r1": ("NIST384p", "sha384", "ecdsa_secp384r1_sha384"),
    "secp256r1": ("NIST256p", "sha256", "ecdsa_secp256r1_sha256"),
}
_HASHES = {"sha512": hashes.SHA512, "sha384": hashes.SHA384,
           "sha256": hashes.SHA256}

GROUPS = ("secp521r1", "x448", "secp384r1", "secp256r1", "x25519")


def suite_name(code):
    """RFC 8446 name of a TLS 1.3 cipher suite code point."""
    return CipherSuite.ietfNames.get(code, hex(code))


def alert_name(code):
    return AlertDescription.toStr(code) if code is not None else None


# --- keys ----------------------------------------------------------------

def scheme_for_public_key(pub):
    """The TLS 1.3 signature scheme a certificate key signs with."""
    if isinstance(pub, ec.EllipticCurvePublicKey):
        try:
            return _EC_CURVES[pub.curve.name][2]
        except KeyError:
            raise ValueError("curve %s is not usable in TLS 1.3"
                             % pub.curve.name)
    if isinstance(pub, ed448.Ed448PublicKey):
        return "ed448"
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return "ed25519"
    raise ValueError("unsupported key type %s" % type(pub).__name__)


class VerifyingECDSAKey(ECDSAKey):
    """tlslite ECDSA key interface over a ``cryptography`` public key
    (verification only; replaces python-ecdsa's slow pure-Python verify)."""

    key_type = "ecdsa"

    def __init__(self, public_key):  # pylint: disable=super-init-not-called
        self._pub = public_key
        self.curve_name = _EC_CURVES[public_key.curve.name][0]
        self.public_key = public_key

    def __len__(self):
        return self._pub.curve.key_size

    def hasPrivateKey(self):
        return False

    def acceptsPassword(self):
        return False

    def verify(self, sigBytes, bytes, padding=None, hashAlg=None,
               saltLen=None):
        hash_name = hashAlg or _EC_CURVES[self._pub.curve.name][1]
        try:
            self._pub.verify(
                bytes_(sigBytes), bytes_(bytes),
                ec.ECDSA(asym_utils.Prehashed(_HASHES[hash_name]())))
            return True
        except (InvalidSignature, ValueError, KeyError):
            return False

    def _verify(self, signature, hash_bytes):
        return self.verify(signature, hash_bytes)

    def write(self, password=None):
        raise NotImplementedError("no private key here")


class VerifyingEdDSAKey(EdDSAKey):
    """tlslite EdDSA key interface over a ``cryptography`` public key."""

    def __init__(self, public_key):  # pylint: disable=super-init-not-called
        self._pub = public_key
        self.curve_name = ("Ed448" if isinstance(public_key,
                                                 ed448.Ed448PublicKey)
                           else "Ed25519")
        self.key_type = self.curve_name
        self.public_key = public_key

    def __len__(self):
        return 456 if self.curve_name == "Ed448" else 256

    def hasPrivateKey(self):
        return False

    def acceptsPassword(self):
        return False

    def _hashAndVerify(self, signature, data):
        try:
            self._pub.verify(bytes_(signature), bytes_(data))
            return True
        except (InvalidSignature, ValueError):
            return False

    def write(self, password=None):
        raise NotImplementedError("no private key here")


class DelegatedECDSAKey(VerifyingECDSAKey):
    """An ECDSA "private key" whose signature is made by ``signer``.

    In TLS 1.3 tlslite calls :meth:`sign` once per handshake with the
    transcript-bound digest (SHA-512 for ecdsa_secp521r1_sha512); the digest
    goes to ``signer(digest, scheme)``, which returns a DER ECDSA-Sig-Value.
    """

    def __init__(self, public_key, signer, on_sign=None):
        super().__init__(public_key)
        self._signer = signer
        self._on_sign = on_sign
        self.scheme = _EC_CURVES[public_key.curve.name][2]

    def hasPrivateKey(self):
        return True

    def sign(self, bytes, padding=None, hashAlg="sha1", saltLen=None):
        want = _EC_CURVES[self._pub.curve.name][1]
        if hashAlg != want:
            raise ValueError("asked to sign a %s digest with %s"
                             % (hashAlg, self.scheme))
        digest = bytes_(bytes)
        if self._on_sign:
            self._on_sign(self.scheme, len(digest))
        return bytearray(self._signer(digest, self.scheme))

    def _sign(self, data, hAlg):
        return self.sign(data, hashAlg=hAlg)

    def hashAndSign(self, bytes, rsaScheme=None, hAlg='sha1', sLen=None):
        # not used by TLS 1.3 ECDSA; keep the digest-only contract anyway
        h = hashes.Hash(_HASHES[hAlg]())
        h.update(bytes_(bytes))
        return self.sign(h.finalize(), hashAlg=hAlg)


class DelegatedEdDSAKey(VerifyingEdDSAKey):
    """An EdDSA "private key" whose signature is made by ``signer``.

    Pure EdDSA signs the message itself, so ``signer`` gets the whole TLS 1.3
    CertificateVerify content (64 spaces, context string, 0, transcript
    hash: 146 bytes with SHA-384) and returns the raw signature."""

    def __init__(self, public_key, signer, on_sign=None):
        super().__init__(public_key)
        self._signer = signer
        self._on_sign = on_sign
        self.scheme = self.curve_name.lower()

    def hasPrivateKey(self):
        return True

    def _hashAndSign(self, data):
        data = bytes_(data)
        if self._on_sign:
            self._on_sign(self.scheme, len(data))
        return bytearray(self._signer(data, self.scheme))


def delegated_key(public_key, signer, on_sign=None):
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return DelegatedECDSAKey(public_key, signer, on_sign)
    if isinstance(public_key, (ed448.Ed448PublicKey,
                               ed25519.Ed25519PublicKey)):
        return DelegatedEdDSAKey(public_key, signer, on_sign)
    raise ValueError("unsupported key type %s" % type(public_key).__name__)


def verifying_key(public_key):
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return VerifyingECDSAKey(public_key)
    return VerifyingEdDSAKey(public_key)


def bytes_(b):
    return b if isinstance(b, bytes) else bytes(b)


# --- key exchange --------------------------------------------------------

class CryptographyKEX(object):
    """tlslite's ECDHKeyExchange interface (as used by TLS 1.3) with
    ``cryptography``: NIST curves and X25519/X448."""

    _NIST = {GroupName.secp521r1: ec.SECP521R1,
             GroupName.secp384r1: ec.SECP384R1,
             GroupName.secp256r1: ec.SECP256R1}
    _X = {GroupName.x448: x448, GroupName.x25519: x25519}

    def __init__(self, group, version):
        self.group = group
        self.version = version

    def get_random_private_key(self):
        if self.group in self._NIST:
            return ec.generate_private_key(self._NIST[self.group]())
        mod = self._X[self.group]
        cls = (mod.X448PrivateKey if mod is x448 else mod.X25519PrivateKey)
        return cls.generate()

    def calc_public_value(self, private, point_format='uncompressed'):
        pub = private.public_key()
        if self.group in self._NIST:
            return bytearray(pub.public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint))
        return bytearray(pub.public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw))

    def calc_shared_key(self, private, peer_share,
                        valid_point_formats=('uncompressed',)):
        peer_share = bytes_(peer_share)
        try:
            if self.group in self._NIST:
                if not peer_share or peer_share[0] != 4:
                    raise ValueError("not an uncompressed point")
                peer = ec.EllipticCurvePublicKey.from_encoded_point(
                    self._NIST[self.group](), peer_share)
                return bytearray(private.exchange(ec.ECDH(), peer))
            mod = self._X[self.group]
            cls = (mod.X448PublicKey if mod is x448 else mod.X25519PublicKey)
            shared = private.exchange(cls.from_public_bytes(peer_share))
        except ValueError as e:
            raise TLSIllegalParameterException("Invalid key share: %s" % e)
        if not any(shared):
            raise TLSIllegalParameterException("Invalid key share")
        return bytearray(shared)


# --- record layer --------------------------------------------------------

class _AEAD(object):
    """tlslite AEAD interface over ``cryptography``."""

    isBlockCipher = False
    isAEAD = True
    nonceLength = 12
    tagLength = 16
    implementation = "cryptography"

    def __init__(self, key, name):
        self.key = bytes_(key)
        self.name = name
        self._aead = (ChaCha20Poly1305(self.key) if name == "chacha20-poly1305"
                      else AESGCM(self.key))

    def seal(self, nonce, plaintext, data):
        return bytearray(self._aead.encrypt(bytes_(nonce), bytes_(plaintext),
                                            bytes_(data)))

    def open(self, nonce, ciphertext, data):
        try:
            return bytearray(self._aead.decrypt(bytes_(nonce),
                                                bytes_(ciphertext),
                                                bytes_(data)))
        except InvalidTag:
            return None


def _aes_gcm(key, implementations=None):
    return _AEAD(key, "aes256gcm" if len(key) == 32 else "aes128gcm")


def _chacha(key, implementations=None):
    return _AEAD(key, "chacha20-poly1305")


class FastRecordLayer(RecordLayer):
    """Record layer with ``cryptography`` AEADs; reports TLS 1.3 traffic
    secrets to ``on_secrets(kind, client_secret, server_secret)`` where kind
    is "handshake" for the first pair and "application" for the second."""

    on_secrets = None

    def __init__(self, sock):
        super().__init__(sock)
        self._secret_pairs = 0

    @staticmethod
    def _getCipherSettings(cipherSuite):
        if cipherSuite in CipherSuite.aes256GcmSuites:
            return 32, 4, _aes_gcm
        if cipherSuite in CipherSuite.aes128GcmSuites:
            return 16, 4, _aes_gcm
        if cipherSuite in CipherSuite.chacha20Suites:
            return 32, 12, _chacha
        return RecordLayer._getCipherSettings(cipherSuite)

    def calcTLS1_3PendingState(self, cipherSuite, cl_traffic_secret,
                               sr_traffic_secret, implementations):
        super().calcTLS1_3PendingState(cipherSuite, cl_traffic_secret,
                                       sr_traffic_secret, implementations)
        kind = "handshake" if self._secret_pairs == 0 else "application"
        self._secret_pairs += 1
        if self.on_secrets is not None:
            self.on_secrets(kind, bytes(cl_traffic_secret),
                            bytes(sr_traffic_secret))


# --- settings ------------------------------------------------------------

def make_settings(suites, groups, sig_schemes):
    """HandshakeSettings for a TLS 1.3-only endpoint."""
    s = HandshakeSettings()
    s.minVersion = (3, 4)
    s.maxVersion = (3, 4)
    s.versions = [(3, 4)]
    s.cipherNames = [_SUITE_TO_TLSLITE[n] for n in suites]
    s.eccCurves = list(groups)
    s.keyShares = [groups[0]]
    s.dhGroups = []
    s.ecdsaSigHashes = [SIG_SCHEMES[n][2] for n in sig_schemes
                        if SIG_SCHEMES[n][1] == "ecdsa"]
    s.more_sig_schemes = [{"ed448": "Ed448", "ed25519": "Ed25519"}[n]
                          for n in sig_schemes if SIG_SCHEMES[n][1] == "eddsa"]
    s.rsaSigHashes = []
    s.dsaSigHashes = []
    s.certificate_compression_send = []
    s.certificate_compression_receive = []
    s.use_heartbeat_extension = False
    s.usePaddingExtension = False
    s.record_size_limit = None
    s.psk_modes = []
    s.ticketKeys = []
    s.ticket_count = 0
    s.cipherImplementations = ["python"]
    return s.validate()


# --- the connection --------------------------------------------------------

_EXC_ALERTS = (
    (TLSDecryptionFailed, AlertDescription.decrypt_error),
    (TLSIllegalParameterException, AlertDescription.illegal_parameter),
    (TLSUnexpectedMessage, AlertDescription.unexpected_message),
    (TLSDecodeError, AlertDescription.decode_error),
    (TLSHandshakeFailure, AlertDescription.handshake_failure),
    (TLSInsufficientSecurity, AlertDescription.insufficient_security),
)


class PeerCertificateRejected(Exception):
    """Raised by the endpoint's certificate hook: ends the handshake with
    ``alert``."""

    def __init__(self, alert, message):
        super().__init__(message)
        self.alert = alert


class Connection(TLSConnection):
    """TLSConnection with the -20 overrides (see the module docstring).

    ``hooks`` is the endpoint; it provides ``_tls_on_client_random(random)``,
    ``_tls_on_peer_certificate(certificate_msg)`` (may raise
    :class:`PeerCertificateRejected`), ``_tls_on_secrets(kind, c, s)``,
    and the attributes ``_tls_suites`` (code points, in order),
    ``_tls_groups``, ``_tls_sig_schemes`` (names) and ``_tls_ocsp_staple``.
    """

    def __init__(self, sock, hooks):
        super().__init__(sock)
        self._hooks = hooks
        self._recordLayer = FastRecordLayer(self.sock)
        self._recordLayer.on_secrets = hooks._tls_on_secrets
        # No middlebox-compatibility ChangeCipherSpec from us, ever.
        self._ccs_sent = True
        self._handshaking = True

    # ECDHE with cryptography
    @staticmethod
    def _getKEX(group, version):
        if group in CryptographyKEX._NIST or group in CryptographyKEX._X:
            return CryptographyKEX(group, version)
        return ECDHKeyExchange(group, version)

    # -- ClientHello (client); never a ChangeCipherSpec --
    def _sendMsg(self, msg, randomizeFirstBlock=True, update_hashes=True):
        if isinstance(msg, ChangeCipherSpec):
            # tlslite sends one after a HelloRetryRequest whenever the
            # ClientHello had a session id, whatever _ccs_sent says
            return iter(())
        if isinstance(msg, ClientHello) and self._client:
            self._rewrite_client_hello(msg)
            self._hooks._tls_on_client_random(bytes(msg.random))
        return super()._sendMsg(msg, randomizeFirstBlock, update_hashes)

    def _rewrite_client_hello(self, ch):
        hooks = self._hooks
        ch.cipher_suites = list(hooks._tls_suites)
        ch.session_id = bytearray(0)
        keep = (ExtensionType.key_share, ExtensionType.server_name,
                ExtensionType.cookie, ExtensionType.alpn)
        exts = [e for e in (ch.extensions or []) if e.extType in keep]
        exts.insert(0, SupportedVersionsExtension().create([(3, 4)]))
        exts.append(SupportedGroupsExtension().create(
            [getattr(GroupName, g) for g in hooks._tls_groups]))
        exts.append(SignatureAlgorithmsExtension().create(
            [SIG_SCHEMES[n][0] for n in hooks._tls_sig_schemes]))
        exts.append(StatusRequestExtension().create())
        # key_share last but one is fine; RFC 8446 only pins pre_shared_key
        ch.extensions = exts

    # -- incoming handshake messages --
    def _getMsg(self, expectedType, secondaryType=None, constructorType=None):
        for result in super()._getMsg(expectedType, secondaryType,
                                      constructorType):
            if result in (0, 1):
                yield result
                continue
            if self._handshaking:
                if isinstance(result, ClientHello) and not self._client:
                    self._hooks._tls_on_client_random(bytes(result.random))
                elif isinstance(result, CompressedCertificate):
                    for r in self._sendError(
                            AlertDescription.unexpected_message,
                            "compressed certificate not negotiated"):
                        yield r
                elif isinstance(result, Certificate):
                    try:
                        self._hooks._tls_on_peer_certificate(result)
                    except PeerCertificateRejected as e:
                        for r in self._alert_now(e.alert, str(e)):
                            yield r
            yield result
            return

    def _alert_now(self, alert, message):
        # A client that rejects the server's certificate has not switched
        # its write side to the handshake keys yet (tlslite does that after
        # the server Finished); RFC 8446 wants the alert encrypted.
        if self._client and \
                self._recordLayer._pendingWriteState.encContext is not None:
            self._changeWriteState()
        for r in self._sendError(alert, message):
            yield r

    def _guard(self, handshake):
        try:
            for r in handshake:
                yield r
        except (TLSLocalAlert, TLSRemoteAlert, TLSAbruptCloseError,
                GeneratorExit):
            raise
        except Exception as e:  # noqa: BLE001 - becomes an alert
            alert = next((a for t, a in _EXC_ALERTS if isinstance(e, t)),
                         AlertDescription.internal_error)
            for r in self._alert_now(alert, "%s: %s"
                                     % (type(e).__name__, e)):
                yield r

    def _handshakeWrapperAsync(self, handshaker, checker):
        # tlslite raises some errors without telling the peer (a bad server
        # CertificateVerify or Finished, a bad group, a failing signer):
        # send the matching alert first.
        return super()._handshakeWrapperAsync(self._guard(handshaker),
                                              checker)

    # -- OCSP staple in the leaf CertificateEntry (server) --
    def _create_cert_msg(self, peer, request_msg, valid_compression_algos,
                         cert_chain, cert_type, cert_context=b'',
                         version=(3, 2)):
        msg = super()._create_cert_msg(peer, request_msg,
                                       valid_compression_algos, cert_chain,
                                       cert_type, cert_context, version)
        staple = self._hooks._tls_ocsp_staple
        if peer == "server" and staple and isinstance(msg, Certificate) \
                and msg.certificate_list \
                and request_msg.getExtension(ExtensionType.status_request):
            req = request_msg.getExtension(ExtensionType.status_request)
            if req.status_type == CertificateStatusType.ocsp:
                msg.certificate_list[0].extensions = [
                    CertificateStatusExtension().create(
                        CertificateStatusType.ocsp, bytearray(staple))]
                self._hooks._tls_stapled = True
        return msg

    # -- no empty compress_certificate in CertificateRequest (server) --
    def _queue_message(self, msg):
        if isinstance(msg, CertificateRequest) and msg.extensions:
            msg.extensions = [
                e for e in msg.extensions
                if not (e.extType == ExtensionType.compress_certificate
                        and not e.algorithms)]
        return super()._queue_message(msg)


class MemorySocket(object):
    """The socket tlslite drives: bytes from the MCU go in, records for the
    MCU come out.  recv() without data raises EWOULDBLOCK, which tlslite's
    async generators turn into "waiting to read"."""

    def __init__(self):
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.eof = False
        self.closed = False

    def send(self, data):
        self.outbuf += data
        return len(data)

    def sendall(self, data):
        self.outbuf += data

    def recv(self, bufsize):
        if self.inbuf:
            out = bytes(self.inbuf[:bufsize])
            del self.inbuf[:bufsize]
            return out
        if self.eof:
            return b""
        raise BlockingIOError(errno.EWOULDBLOCK, "no records from the MCU")

    def shutdown(self, how):
        pass

    def close(self):
        self.closed = True

    def getsockname(self):
        return ("mcu-link", 0)

    def getpeername(self):
        return ("mcu-link", 0)

    def settimeout(self, value):
        pass

    def gettimeout(self):
        return 0.0

    def setsockopt(self, level, optname, value):
        pass
