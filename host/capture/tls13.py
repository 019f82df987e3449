"""Decrypt the TLS 1.3 of a captured TCP connection with an NSS key log
(SSLKEYLOGFILE: what host.tls writes with keylog=...), as Wireshark does.

    keys = read_keylog("tls-keys.log")
    plain = decrypt_pair(client_bytes, client_stamps, server_bytes, server_stamps, keys)
    plain["client"] -> (application data bytes, [(offset, ts)]) ; same for "server"

Each direction is the TCP payload in order, with the (offset, ts) stamps of
where each segment began.  The ClientHello gives the client random (the key
log's index), the ServerHello the suite (a HelloRetryRequest is skipped);
records of type application_data are opened with the handshake traffic
key until one does not authenticate, then with the application traffic key
(RFC 8446 7.1-7.3: HKDF-Expand-Label "key"/"iv", nonce = iv XOR sequence
number, the record header as AAD).  The plaintext's inner content type
sorts it: application data (23) is kept with the timestamp of the record's
last byte; handshake messages and alerts are not.  Raises TlsDecryptError
when the stream is not TLS 1.3 or no keys match.
"""
import hashlib
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

# suite -> (hash, key length, AEAD)
SUITES = {0x1301: (hashes.SHA256, 16, AESGCM), 0x1302: (hashes.SHA384, 32, AESGCM),
          0x1303: (hashes.SHA256, 32, ChaCha20Poly1305)}
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
HANDSHAKE, APPLICATION_DATA, CHANGE_CIPHER_SPEC = 22, 23, 20


class TlsDecryptError(ValueError):
    pass


def read_keylog(path):
    """{client_random bytes: {label: secret bytes}}"""
    keys = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or line.startswith("#"):
                continue
            label, cr, secret = parts
            keys.setdefault(bytes.fromhex(cr), {})[label] = bytes.fromhex(secret)
    return keys


def is_tls(data):
    """A TCP stream that starts with a TLS handshake record."""
    return len(data) >= 6 and data[0] == HANDSHAKE and data[1] == 3 and data[5] == 1


def records(data):
    """(offset, type, header, fragment) of each whole record."""
    i = 0
    while i + 5 <= len(data):
        ctype, n = data[i], struct.unpack(">H", data[i + 3:i + 5])[0]
        if i + 5 + n > len(data):
            break
        yield i, ctype, data[i:i + 5], data[i + 5:i + 5 + n]
        i += 5 + n


def _expand_label(hash_cls, secret, label, length):
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes((len(full),)) + full + b"\x00"
    return HKDFExpand(hash_cls(), length, info).derive(secret)


class _Keys:
    """One direction's traffic keys, handshake then application."""

    def __init__(self, suite, secrets):
        hash_cls, klen, aead = SUITES[suite]
        self.stages = []
        for secret in secrets:
            if secret is None:
                continue
            key = _expand_label(hash_cls, secret, b"key", klen)
            iv = _expand_label(hash_cls, secret, b"iv", 12)
            self.stages.append((aead(key), iv))
        self.stage = 0
        self.seq = 0

    def open(self, header, fragment):
        """(inner type, content) or None when no key authenticates it."""
        while self.stage < len(self.stages):
            aead, iv = self.stages[self.stage]
            nonce = bytes(a ^ b for a, b in zip(iv, self.seq.to_bytes(12, "big")))
            try:
                plain = aead.decrypt(nonce, bytes(fragment), bytes(header))
            except Exception:  # noqa: BLE001 - InvalidTag: the next key stage
                self.stage += 1
                self.seq = 0
                continue
            self.seq += 1
            plain = plain.rstrip(b"\x00")
            if not plain:
                return None
            return plain[-1], plain[:-1]
        return None


def _client_random(data):
    for _, ctype, _, frag in records(data):
        if ctype == HANDSHAKE and len(frag) >= 38 and frag[0] == 1:
            return bytes(frag[6:38])
    raise TlsDecryptError("no ClientHello")


def _suite(data):
    for _, ctype, _, frag in records(data):
        if ctype != HANDSHAKE or len(frag) < 39 or frag[0] != 2:
            continue
        random = bytes(frag[6:38])
        if random == HRR_RANDOM:
            continue
        sid = frag[38]
        return struct.unpack(">H", frag[39 + sid:41 + sid])[0]
    raise TlsDecryptError("no ServerHello")


def _stamp_at(stamps, offset):
    t = stamps[0][1] if stamps else 0.0
    for off, ts in stamps:
        if off > offset:
            break
        t = ts
    return t


def _direction(data, stamps, keys):
    out = bytearray()
    out_stamps = []
    undecrypted = 0
    for off, ctype, header, frag in records(data):
        if ctype != APPLICATION_DATA:
            continue            # ClientHello/ServerHello in the clear, a CCS, a clear alert
        opened = keys.open(header, frag)
        if opened is None:
            undecrypted += 1
            continue
        inner, content = opened
        if inner == APPLICATION_DATA and content:
            out_stamps.append((len(out), _stamp_at(stamps, off + 5 + len(frag) - 1)))
            out += content
    return bytes(out), out_stamps, undecrypted


def decrypt_pair(client, client_stamps, server, server_stamps, keylog):
    """{'client': (plaintext, stamps), 'server': (...), 'suite', 'client_random',
    'undecrypted': records that no key opened}"""
    cr = _client_random(client)
    suite = _suite(server)
    if suite not in SUITES:
        raise TlsDecryptError("suite 0x%04x is not TLS 1.3's" % suite)
    secrets = keylog.get(cr)
    if not secrets:
        raise TlsDecryptError("no keys for client random %s in the key log" % cr.hex()[:16])
    ck = _Keys(suite, (secrets.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET"), secrets.get("CLIENT_TRAFFIC_SECRET_0")))
    sk = _Keys(suite, (secrets.get("SERVER_HANDSHAKE_TRAFFIC_SECRET"), secrets.get("SERVER_TRAFFIC_SECRET_0")))
    c_plain, c_stamps, c_bad = _direction(client, client_stamps, ck)
    s_plain, s_stamps, s_bad = _direction(server, server_stamps, sk)
    return {"client": (c_plain, c_stamps), "server": (s_plain, s_stamps), "suite": suite,
            "client_random": cr, "undecrypted": c_bad + s_bad}
