"""The MCU's end of the host link as the link runner drives it (issue 12):
the port and its hostlink Link, and the key server that answers the host's
requests for signatures and certificates.

    end = HostEnd(port, keys)     # port: hostlink.port.UartPort; keys: KeyServer or None
    for ev in end.service(now):   # read the port, run the Link's timers, write,
        link.host_event(ev, now)  # answer SIGN/CERT/CONFIG requests here, PNC_VERIFY
                                  # answers to end.pnc; the rest
                                  # (TLS records, plaintext, TLS events, up/lost) for the V2G link
    end.flush()                   # write what the Link queued since

The host terminates TLS 1.3 (host/tls) but never holds a private key: its
one handshake signature comes back here as SIGN_REQUEST and is made by the
secure element (drivers/se050.py), by object ID; its certificate chain comes
from here too (CERT_REQUEST, chain CHAIN_OWN).

Plug-and-Charge on a charger board: the MCU has neither SHA-512 nor P-521
nor the MO roots and revocation lists, so the Charger's pnc seam is
HostVerifier, which asks the host (PNC_VERIFY_REQUEST with the evidence;
host.pnc.verify.Verifier answers PNC_VERIFY_RESPONSE with the -20 code):

    charger = Charger(power, pnc=HostVerifier(end))     # sets end.pnc
    charger.pnc_authorize(evidence, now)     # None until the host answered
"""
from .hostlink import msg

# What a PnC verification that did not come back is (host/pnc/verify.py's
# policy for evidence it could not judge): refused, the EV may use EIM.
PNC_NO_VERDICT = "WARNING_GeneralPnCAuthorizationError"
PNC_TIMEOUT_MS = 10000          # the host's verification may fetch OCSP; the SECC waits 55 s

# SIGN_REQUEST algorithm -> (SE050 ECDSA algorithm, digest length)
_ECDSA = {msg.ALG_ECDSA_P256_SHA256: (0x21, 32), msg.ALG_ECDSA_P384_SHA384: (0x22, 48),
          msg.ALG_ECDSA_P521_SHA512: (0x26, 64)}


class KeyServer:
    """Signatures by the secure element `se` (drivers.se050.Se050: sign(obj,
    algo, digest) -> DER) with the keys named in key_ids only (any other
    object: DENIED), and the chain this board presents in TLS (`chain`:
    concatenated DER certificates, leaf first; None: UNKNOWN)."""

    def __init__(self, se, key_ids, chain=None):
        self.se = se
        self.key_ids = tuple(key_ids)
        self.chain = chain
        self.signatures = 0
        self.refused = 0
        self.failed = 0
        self.last_error = None

    def sign(self, key_id, alg, fmt, digest):
        """(status, fmt, signature)"""
        if key_id not in self.key_ids:
            self.refused += 1
            return msg.DENIED, fmt, b""
        spec = _ECDSA.get(alg)
        if spec is None or fmt != msg.SIG_DER:
            self.refused += 1
            return msg.UNSUPPORTED, fmt, b""
        if len(digest) != spec[1]:
            self.refused += 1
            return msg.BAD_REQUEST, fmt, b""
        try:
            sig = self.se.sign(key_id, spec[0], digest)
        except Exception as e:  # noqa: BLE001 - Se050Error, T1Error, a bus error: the handshake fails
            self.failed += 1
            self.last_error = e
            return msg.FAILED, fmt, b""
        self.signatures += 1
        return msg.OK, msg.SIG_DER, sig

    def chain_bytes(self, which):
        return self.chain if which == msg.CHAIN_OWN else None


class HostVerifier:
    """The Charger's pnc seam on a board: pnc_authorize(evidence, now) sends
    the evidence to the host once (PNC_VERIFY_REQUEST) and returns None
    while it is pending (the SECC answers Ongoing and asks again with the
    same evidence object), then the host's -20 ResponseCode.  Whatever is
    not a verdict of the host (link down or lost, a timeout, an error
    status, evidence that cannot be encoded) is PNC_NO_VERDICT, never OK.
    on_verdict(code, detail, ms, now): told each outcome (for the log)."""

    def __init__(self, end, timeout_ms=PNC_TIMEOUT_MS, on_verdict=None):
        self.end = end
        self.timeout_ms = timeout_ms
        self.on_verdict = on_verdict
        self.evidence = None        # the evidence being judged
        self.rid = None             # its request, while pending
        self.sent_at = 0
        self.code = None            # the verdict, until pnc_authorize returns it
        self.detail = ""            # the host's reasons for the last verdict (text)
        self.requests = 0
        self.verdicts = 0
        self.failed = 0             # ended without the host's verdict
        end.pnc = self

    def available(self):
        """PnC may be offered: the host that verifies is there."""
        return self.end.link.up

    def pnc_authorize(self, evidence, now):
        if evidence is not self.evidence:
            self.evidence = evidence
            self.rid = None
            self.code = None
            link = self.end.link
            if not link.up:
                return self._take(self._fail("host link down", now))
            try:
                blob = msg.encode_pnc_evidence(evidence)
            except (ValueError, KeyError, TypeError, AttributeError):
                return self._take(self._fail("evidence cannot be sent", now))
            rid = link.request_pnc_verify(blob, now, self.timeout_ms)
            if rid is None:             # every request slot taken: try at the EV's next request
                self.evidence = None
                return None
            self.rid = rid
            self.sent_at = now
            self.requests += 1
            self.end.flush()
            return None
        return self._take(self.code)

    def _take(self, code):
        if code is not None:
            self.evidence = None
            self.code = None
        return code

    def _fail(self, why, now, ms=0):
        self.failed += 1
        self.detail = why
        if self.on_verdict is not None:
            self.on_verdict(PNC_NO_VERDICT, why, ms, now)
        return PNC_NO_VERDICT

    def response(self, ev, now):
        """A pnc_verify_response event of the Link."""
        _, rid, status, code, detail = ev
        if rid != self.rid or self.evidence is None:
            return                      # a request given up (a new evidence came)
        self.rid = None
        if status == msg.OK and code:
            try:
                self.code = bytes(code).decode()
            except Exception:           # noqa: BLE001 - MicroPython raises UnicodeError
                self.code = None
        if status != msg.OK or not self.code:
            self.code = self._fail("no verdict from the host: status 0x%02x" % status, now, now - self.sent_at)
            return
        self.verdicts += 1
        self.detail = _text(detail)
        if self.on_verdict is not None:
            self.on_verdict(self.code, self.detail, now - self.sent_at, now)


def _text(b):
    try:
        return bytes(b).decode()
    except Exception:           # noqa: BLE001 - MicroPython raises UnicodeError
        return repr(bytes(b))


class HostEnd:
    def __init__(self, port, keys=None):
        self.port = port
        self.link = port.link
        self.keys = keys
        self.pnc = None             # a HostVerifier (charger with PnC), or None

    def service(self, now):
        """Services the port; answers the host's requests; returns the
        other events of the Link (for the V2G link's host_event)."""
        self.port.service(now)
        link = self.link
        hangup = getattr(self.port.uart, "hangup", None)
        if hangup is not None and link.up:
            link.drop("hangup", now)    # the OS says the host is gone: no need to wait lost_ms
        if not link.events:
            return ()
        evs = link.events
        link.events = []
        out = []
        keys = self.keys
        for ev in evs:
            name = ev[0]
            if name == "sign_request":
                _, rid, key_id, alg, fmt, digest = ev
                if keys is None:
                    link.respond_sign(rid, msg.UNKNOWN, fmt)
                else:
                    status, fmt, sig = keys.sign(key_id, alg, fmt, digest)
                    link.respond_sign(rid, status, fmt, sig)
            elif name == "cert_request":
                _, rid, chain, offset, max_len = ev
                link.serve_cert(rid, keys.chain_bytes(chain) if keys is not None else None,
                                offset, max_len)
            elif name == "pnc_verify_response":
                if self.pnc is not None:
                    self.pnc.response(ev, now)
            elif name == "pnc_verify_request":
                link.send_error(msg.ERR_UNKNOWN_TYPE, msg.PNC_VERIFY_REQUEST)   # the host's job
            elif name == "config_set" or name == "config_get":
                link.respond_config(ev[1], msg.UNSUPPORTED)
            else:
                out.append(ev)
        self.flush()
        return out

    def flush(self):
        """Hands what the Link queued to the port and writes it."""
        self.port.send_queued()

    def next_deadline(self):
        return self.link.next_deadline()

    def busy(self):
        """True while frames wait to be written."""
        return bool(self.link.tx) or self.port.waiting() > 0
