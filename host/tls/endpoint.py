"""Sans-socket TLS 1.3 endpoints for the MCU: the MCU's TCP stack carries
the TLS records, the host terminates TLS here.

Both classes have the same edge::

    ep.feed_records(data)      # TCP payload bytes from the MCU (any split)
    ep.feed_eof()              # the MCU's TCP connection got a FIN/RST
    out = ep.records_out()     # TLS records to send on the MCU's TCP socket
    msg = ep.plaintext_out()   # decrypted V2GTP bytes (a byte stream)
    ep.send_plaintext(v2gtp)   # queued until the handshake is done
    ep.close()                 # close_notify
    ep.state                   # "handshake" | "open" | "closed" | "failed"
    ep.error                   # TlsError (alert code, who sent it) or None
    ep.peer_chain              # validated path, leaf first .. trust root
                               # (set once the handshake succeeded)

After every call, send ``records_out()`` to the MCU and read
``plaintext_out()``.  Nothing here blocks on I/O; the one blocking call is
the signer (once per handshake, from inside ``feed_records``/``start``).
Not thread-safe: drive an endpoint from one thread.
"""

import datetime
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from tlslite.constants import AlertDescription, ExtensionType, GroupName
from tlslite.errors import (TLSAbruptCloseError, TLSLocalAlert,
                            TLSRemoteAlert)
from tlslite.x509 import X509
from tlslite.x509certchain import X509CertChain

from . import _tlslite as T
from .validate import (BAD_CERTIFICATE_STATUS_RESPONSE, CERTIFICATE_REVOKED,
                       ChainError, OcspError, check_ocsp, load_certificates,
                       validate_chain)

HANDSHAKE = "handshake"
OPEN = "open"
CLOSED = "closed"
FAILED = "failed"

#: -20 defaults ([V2G20-1856]; groups and schemes per the -20 key types)
SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
GROUPS = ("secp521r1", "x448")
SIG_ALGS = ("ecdsa_secp521r1_sha512",)
SIG_ALGS_ED448 = ("ecdsa_secp521r1_sha512", "ed448")

CERTIFICATE_REQUIRED = AlertDescription.certificate_required  # 116
DECODE_ERROR = AlertDescription.decode_error


class TlsError(Exception):
    """Why an endpoint failed.  ``alert``: TLS alert code or None (transport
    or local error); ``sent``: True if we sent the alert, False if the peer
    did."""

    def __init__(self, message, alert=None, sent=None):
        super().__init__(message)
        self.alert = alert
        self.sent = sent

    @property
    def alert_name(self):
        return T.alert_name(self.alert)

    def __repr__(self):
        if self.alert is None:
            return "TlsError(%s)" % self
        return "TlsError(%s %s(%d): %s)" % (
            "sent" if self.sent else "received", self.alert_name, self.alert,
            self)


class _KeyLog(object):
    """NSS key log lines (SSLKEYLOGFILE format) to a path, a file object or a
    callable taking one line."""

    def __init__(self, target):
        self._target = target

    def write(self, label, client_random, secret):
        line = "%s %s %s\n" % (label, client_random.hex(), secret.hex())
        t = self._target
        if callable(t):
            t(line)
        elif hasattr(t, "write"):
            t.write(line)
            if hasattr(t, "flush"):
                t.flush()
        else:
            with open(os.fspath(t), "a") as f:
                f.write(line)


_OWN_CHAINS = {}


def _tlslite_chain(chain):
    """tlslite's parse of our own chain, kept per chain (tlslite parses keys
    with pure-Python python-ecdsa; a server makes one endpoint per TCP
    connection with the same chain).  tlslite only reads it."""
    key = tuple(c.public_bytes(Encoding.DER) for c in chain)
    tl = _OWN_CHAINS.get(key)
    if tl is None:
        xs = []
        for der in key:
            x = X509()
            x.parseBinary(bytearray(der))
            xs.append(x)
        tl = X509CertChain(xs)
        if len(_OWN_CHAINS) > 16:
            _OWN_CHAINS.clear()
        _OWN_CHAINS[key] = tl
    return tl


class _Endpoint(object):
    _role = None          # "server" | "client"
    _peer_role = None

    def __init__(self, chain_pems, signer, trust_roots, *, keylog=None,
                 profile_check=None, sig_algs=SIG_ALGS, groups=GROUPS,
                 suites=SUITES, now=None):
        for n in sig_algs:
            if n not in T.SIG_SCHEMES:
                raise ValueError("unknown signature scheme %r" % n)
        for n in groups:
            if n not in T.GROUPS:
                raise ValueError("unknown group %r" % n)
        for n in suites:
            if n not in T.SUITES:
                raise ValueError("unsupported cipher suite %r" % n)
        self._sig_algs = tuple(sig_algs)
        self._roots = load_certificates(trust_roots)
        if not self._roots:
            raise ValueError("no trust roots")
        self._profile_check = profile_check
        self._now = now
        self._keylog = _KeyLog(keylog) if keylog is not None else None

        self._chain = load_certificates(chain_pems)
        if self._chain:
            if signer is None:
                raise ValueError("a certificate chain needs a signer")
            own = T.scheme_for_public_key(self._chain[0].public_key())
            if own not in self._sig_algs:
                raise ValueError("own leaf signs with %s, not in %s"
                                 % (own, ", ".join(self._sig_algs)))
            self._tl_chain = _tlslite_chain(self._chain)
            self._key = T.delegated_key(self._chain[0].public_key(),
                                        self._call_signer)
        else:
            self._tl_chain = None
            self._key = None
        self._signer = signer
        self.signatures = 0

        # hooks read by the tlslite Connection
        self._tls_suites = [T.SUITES[n] for n in suites]
        self._tls_groups = tuple(groups)
        self._tls_sig_schemes = self._sig_algs
        self._tls_ocsp_staple = None
        self._tls_stapled = False

        self._settings = T.make_settings(suites, groups, self._sig_algs)
        self._sock = T.MemorySocket()
        self._conn = T.Connection(self._sock, self)
        self._hs = None
        self._reader = None
        self._pending = bytearray()
        self._plain = bytearray()

        self.state = HANDSHAKE
        self.error = None
        self.peer_chain = None
        self._validated_path = None
        self.client_random = None
        self.cipher_suite = None
        self.group = None
        self.ocsp = None

    # -- the edge ------------------------------------------------------
    def feed_records(self, data):
        """TCP payload from the MCU (TLS records, split anywhere)."""
        if data:
            self._sock.inbuf += data
        self._pump()

    def feed_eof(self):
        """The MCU's TCP connection was closed by the peer."""
        self._sock.eof = True
        self._pump()

    def records_out(self):
        """TLS records for the MCU to send (drains)."""
        out = bytes(self._sock.outbuf)
        del self._sock.outbuf[:]
        return out

    def plaintext_out(self):
        """Decrypted application data (V2GTP byte stream; drains)."""
        out = bytes(self._plain)
        del self._plain[:]
        return out

    def send_plaintext(self, data):
        """Encrypt application data; queued while the handshake runs."""
        if self.state in (FAILED, CLOSED):
            raise TlsError("connection is %s" % self.state)
        self._pending += data
        if self.state == OPEN:
            self._flush_pending()

    def close(self):
        """Send close_notify; the endpoint is closed afterwards."""
        if self.state == OPEN:
            try:
                for _ in self._conn.closeAsync():
                    pass
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        if self.state in (OPEN, HANDSHAKE):
            self.state = CLOSED

    @property
    def peer_leaf(self):
        return self.peer_chain[0] if self.peer_chain else None

    @property
    def peer_leaf_sha512(self):
        """SHA-512 fingerprint of the peer's leaf certificate (DER), for
        binding a V2G session to the vehicle certificate."""
        leaf = self.peer_leaf
        return hashlib.sha512(leaf.public_bytes(Encoding.DER)).digest() \
            if leaf is not None else None

    def export_keying_material(self, label, length):
        """RFC 8446 7.5 exporter (empty context)."""
        if self.state != OPEN:
            raise TlsError("handshake not finished")
        return bytes(self._conn.keyingMaterialExporter(bytearray(label),
                                                       length))

    # -- hooks for the tlslite Connection ------------------------------
    def _call_signer(self, digest, scheme):
        self.signatures += 1
        return self._signer(digest, scheme)

    def _tls_on_client_random(self, random):
        self.client_random = random

    def _tls_on_secrets(self, kind, client_secret, server_secret):
        if self._keylog is None or self.client_random is None:
            return
        if kind == "handshake":
            labels = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                      "SERVER_HANDSHAKE_TRAFFIC_SECRET")
        else:
            labels = ("CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")
        self._keylog.write(labels[0], self.client_random, client_secret)
        self._keylog.write(labels[1], self.client_random, server_secret)

    def _validation_time(self):
        if self._now is None:
            return datetime.datetime.now(datetime.timezone.utc)
        return self._now() if callable(self._now) else self._now

    def _tls_on_peer_certificate(self, msg):
        entries = msg.certificate_list
        if not entries:
            if self._role == "server":
                raise T.PeerCertificateRejected(
                    CERTIFICATE_REQUIRED,
                    "client sent no certificate (vehicle certificate "
                    "required)")
            raise T.PeerCertificateRejected(DECODE_ERROR,
                                            "server sent no certificate")
        try:
            certs = [x509.load_der_x509_certificate(
                bytes(e.certificate.writeBytes())) for e in entries]
        except Exception as e:  # noqa: BLE001 - ValueError, InvalidVersion, ...
            raise T.PeerCertificateRejected(
                AlertDescription.bad_certificate, "unparsable certificate: %s"
                % e)
        now = self._validation_time()
        try:
            path = validate_chain(certs, self._roots, self._peer_role, now,
                                  self._sig_algs, self._profile_check)
        except ChainError as e:
            raise T.PeerCertificateRejected(e.alert, str(e))
        if self._role == "client":
            self._check_staple(entries[0], path, now)
        self._validated_path = path
        # peer's CertificateVerify: verify with cryptography, not python-ecdsa
        entries[0].certificate.publicKey = T.verifying_key(
            path[0].public_key())

    def _check_staple(self, entry, path, now):
        pass

    # -- driving tlslite -----------------------------------------------
    def _pump(self):
        if self.state == HANDSHAKE and self._hs is not None:
            try:
                while next(self._hs) != 0:
                    pass
            except StopIteration:
                self._hs = None
                self._handshake_done()
            except Exception as e:  # noqa: BLE001 - reported via .error
                self._fail(e)
                return
        if self.state == OPEN:
            self._read()

    def _handshake_done(self):
        self.state = OPEN
        self.peer_chain = self._validated_path
        s = self._conn.session
        self.cipher_suite = T.suite_name(s.cipherSuite)
        self.group = GroupName.toStr(self._conn.ecdhCurve) \
            if self._conn.ecdhCurve is not None else None
        self._flush_pending()

    def _read(self):
        while self.state == OPEN:
            if self._reader is None:
                self._reader = self._conn.readAsync()
            try:
                r = next(self._reader)
            except StopIteration:
                self._reader = None
                continue
            except Exception as e:  # noqa: BLE001
                self._reader = None
                self._fail(e)
                return
            if r == 0:
                return
            if r == 1:
                continue
            self._reader = None
            self._plain += r
            if not r and self._conn.closed:
                self.state = CLOSED
                return

    def _flush_pending(self):
        if not self._pending:
            return
        data = bytes(self._pending)
        del self._pending[:]
        try:
            for _ in self._conn.writeAsync(data):
                pass
        except Exception as e:  # noqa: BLE001
            self._fail(e)

    def _fail(self, e):
        if isinstance(e, TLSLocalAlert):
            self.error = TlsError(e.message or T.alert_name(e.description),
                                  e.description, True)
        elif isinstance(e, TLSRemoteAlert):
            self.error = TlsError("peer sent %s" % T.alert_name(e.description),
                                  e.description, False)
        elif isinstance(e, TLSAbruptCloseError):
            self.error = TlsError("transport closed without close_notify")
        else:
            self.error = TlsError("%s: %s" % (type(e).__name__, e))
            self.error.__cause__ = e
        self.state = FAILED


class TlsServer(_Endpoint):
    """The SECC side: TLS 1.3 server with mutual authentication.

    ``chain_pems``: SECC leaf first, then its sub-CAs (PEM text/bytes,
    bundles, DER or ``x509.Certificate``).  ``signer(digest, algorithm)``:
    see :mod:`host.tls.signer`.  ``trust_roots``: the roots vehicle chains
    must lead to.  ``ocsp_staple``: DER OCSPResponse for the leaf, sent when
    the client asks (status_request); refresh with :meth:`set_ocsp_staple`.
    ``keylog``: path, file object or callable for NSS key log lines.
    ``profile_check(path) -> [violation, ...]``: extra -20 profile checks on
    the validated vehicle path.  ``sig_algs``: accepted/used schemes
    (:data:`SIG_ALGS`, or :data:`SIG_ALGS_ED448`).  ``now``: validation
    time (datetime or callable), default the clock.
    """

    _role = "server"
    _peer_role = "client"

    def __init__(self, chain_pems, signer, trust_roots, ocsp_staple=None,
                 keylog=None, profile_check=None, **kw):
        super().__init__(chain_pems, signer, trust_roots, keylog=keylog,
                         profile_check=profile_check, **kw)
        if self._tl_chain is None:
            raise ValueError("the server needs its certificate chain")
        self._tls_ocsp_staple = ocsp_staple
        self._hs = self._conn.handshakeServerAsync(
            certChain=self._tl_chain, privateKey=self._key, reqCert=True,
            settings=self._settings)
        self._pump()

    def set_ocsp_staple(self, der):
        self._tls_ocsp_staple = der

    @property
    def stapled(self):
        """True if the OCSP staple went out in this handshake."""
        return self._tls_stapled


class TlsClient(_Endpoint):
    """The EVCC side: TLS 1.3 client presenting the vehicle certificate.

    ``chain_pems``: vehicle leaf first, then its sub-CAs (None: no client
    certificate; a -20 server refuses that).  ``trust_roots``: roots the
    SECC chain must lead to.  ``require_ocsp``: refuse a server that does
    not staple a valid OCSP response (else a missing staple is allowed, a
    bad one never is, revoked never is).  Call :meth:`start` (or
    ``records_out()``) to produce the ClientHello.  Other arguments as for
    :class:`TlsServer`.  After the handshake ``ocsp`` holds the checked
    staple (:class:`~host.tls.validate.OcspResult`) or None.
    """

    _role = "client"
    _peer_role = "server"

    def __init__(self, chain_pems, signer, trust_roots, keylog=None,
                 profile_check=None, require_ocsp=False, server_name=None,
                 **kw):
        super().__init__(chain_pems, signer, trust_roots, keylog=keylog,
                         profile_check=profile_check, **kw)
        self._require_ocsp = require_ocsp
        self._server_name = server_name
        self._started = False

    def start(self):
        """Produce the ClientHello (idempotent)."""
        if self._started:
            return
        self._started = True
        self._hs = self._conn.handshakeClientCert(
            self._tl_chain, self._key, settings=self._settings,
            serverName=self._server_name, async_=True)
        self._pump()

    def records_out(self):
        self.start()
        return super().records_out()

    def feed_records(self, data):
        self.start()
        super().feed_records(data)

    def _check_staple(self, entry, path, now):
        staple = None
        for ext in entry.extensions or ():
            if ext.extType == ExtensionType.status_request:
                staple = bytes(ext.response)
        if staple is None:
            if self._require_ocsp:
                raise T.PeerCertificateRejected(
                    BAD_CERTIFICATE_STATUS_RESPONSE,
                    "server stapled no OCSP response")
            return
        try:
            res = check_ocsp(staple, path[0], path[1], now,
                             algorithms=self._sig_algs)
        except OcspError as e:
            raise T.PeerCertificateRejected(e.alert, str(e))
        self.ocsp = res
        if res.status == "revoked":
            raise T.PeerCertificateRejected(
                CERTIFICATE_REVOKED, "OCSP: server certificate revoked at %s"
                % res.revocation_time)
        if res.status != "good" and self._require_ocsp:
            raise T.PeerCertificateRejected(
                BAD_CERTIFICATE_STATUS_RESPONSE,
                "OCSP: server certificate status %s" % res.status)
