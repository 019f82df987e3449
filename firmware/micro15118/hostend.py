"""The MCU's end of the host link as the link runner drives it (issue 12):
the port and its hostlink Link, and the key server that answers the host's
requests for signatures and certificates.

    end = HostEnd(port, keys)     # port: hostlink.port.UartPort; keys: KeyServer or None
    for ev in end.service(now):   # read the port, run the Link's timers, write,
        link.host_event(ev, now)  # answer SIGN/CERT/CONFIG requests here; the rest
                                  # (TLS records, plaintext, TLS events, up/lost) for the V2G link
    end.flush()                   # write what the Link queued since

The host terminates TLS 1.3 (host/tls) but never holds a private key: its
one handshake signature comes back here as SIGN_REQUEST and is made by the
secure element (drivers/se050.py), by object ID; its certificate chain comes
from here too (CERT_REQUEST, chain CHAIN_OWN).
"""
from .hostlink import msg

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


class HostEnd:
    def __init__(self, port, keys=None):
        self.port = port
        self.link = port.link
        self.keys = keys

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
