"""Software model of the NXP SE050 secure element (IoT applet 3.x) on I2C.

    chip = Se050Model(variant="C", clock=time.monotonic)
    chip.writeto(0x48, block)            # machine.I2C API: the host writes a block
    chip.readfrom_into(0x48, buf)        # and reads the answer (OSError = NACK)
    chip.load_bundle("keys.json")        # provisioned keys (format below)
    chip.stats["commands"]["ECDSASign"]  # per-command counts, bytes, busy time

It is an I2C target with the same bus API the firmware driver uses
(micro15118.drivers.se050t1 / se050), so the driver runs against it
unchanged.  Facts: NXP UM11225 (T=1 over I2C) and the IoT applet codes of
NXP's plug-and-trust middleware, as the project's research notes give them.

T=1 over I2C (NXP UM11225, 1-byte LEN):
* blocks NAD PCB LEN INF CRC; NAD 0x5A from the host, 0xA5 to it; CRC-16/X.25
  (own bitwise implementation, not the driver's) sent LSB first; IFSC 254;
* I-blocks with N(S)/M, chaining both ways (the host acknowledges each of
  our chained blocks with R(N(R)) and we acknowledge each of its);
* a block with a bad CRC, NAD or LEN, or an I-block with the wrong N(S),
  is answered R(N(R), 1 = CRC / 2 = other); an R-block from the host that
  acknowledges our chained block gets the next one, one whose N(R) is the
  N(S) of our last I-block gets that block again, any other gets
  R(N(R) = the N(S) we expect), which tells the host to send its block;
* S-blocks: RESYNCH (sequence numbers to 0), IFS (sets IFSD), ABORT, end
  of APDU session, chip reset, GET ATR, interface soft reset (answer:
  the ATR), deep power-down; WTX: when a command takes longer than
  `wtx_ms` we send S(WTX request, multiplier 1) every `wtx_ms` and wait for
  the host's S(WTX response) before going on;
* the address is NACKed (OSError ENODEV, as machine.I2C) while busy: for
  the command's duration (timing model below) and after a reset, and
  when there is nothing to read.  A block is read in as many reads as the
  host likes (header first, as drivers do); reading past its end clocks
  out 0xFF.  A new write discards what was not read (modelling choice).

Applet (AN12413 codes as NXP's plug-and-trust headers):
* SELECT by AID -> version (3 bytes), applet config (2), secure box (2);
  a soft or chip reset deselects it (conservative: drivers select again);
* objects: EC key pair / private / public keys, binary files, the
  read-only unique ID 0x7FFF0206; policies (TLV 0x11) are stored and
  applied for the one session the model has (authentication object 0):
  the entry for auth ID 0 decides (FORBID_ALL, ALLOW_SIGN, _VERIFY, _KA,
  _READ, _WRITE, _GEN, _DELETE); an object with policies but no entry for
  auth ID 0 is denied (6986);
* ReadObject gives the public key of a key pair; a private key never:
  6985.  Public keys are uncompressed points; Ed25519 and X25519 keys go
  byte-reversed both ways, EdDSA signatures as reversed R || reversed S;
* applet 3.x: a Weierstrass curve must be created and its five parameters
  (A, B, G, N, prime) set before a key can use it (else 6985); the model
  checks them against the real domain parameters (6A80 if wrong) for the
  curves it computes with;
* curve IDs outside the SE050's list are refused (6A80): there is no Ed448
  ID on any SE05x, and X448 (0x43) is applet 7.2 only.  Variant "A" has
  neither Ed25519 nor X25519; "C" and "E" have both (6A80 otherwise);
* computing (`cryptography`): ECDSA over a given digest
  (ECDSA(Prehashed(SHA-x)), digest length must match the algorithm, DER
  out), verify (result 01/02), ECDH (x coordinate), DigestOneShot and
  Init/Update/Final crypto objects, GetRandom, CheckObjectExists,
  DeleteSecureObject, DeleteAll, GetVersion, ReadECCurveList, ReadIDList,
  ReadType, ReadSize, WriteBinary.  Curves computed: P-192, P-224, P-256,
  P-384, P-521, brainpoolP256r1/P384r1/P512r1, secp256k1, Ed25519,
  X25519; other SE050 curve IDs can be created but not used (6A80,
  counted in stats["unsupported"]).

Status words the notes name: 9000, 6985, 6982, 6A80, 6984, 6986.  Where the
notes say nothing the model picks (modelling choices): unknown object 6A80,
command before SELECT 6D00, unknown instruction 6D00, CLA other than 80
6E00, wrong AID 6A82, bad APDU length 6700, creating an existing curve or
crypto object 6985, changing a key's curve or kind 6A80 / 6985.  Le is not
enforced (NXP's nano middleware sends case-3 APDUs and reads data back).

Timing model: `timing=None` (default) makes every command instant;
`timing="assumed"` uses ASSUMED_TIMING, or pass a dict {command or
"command:curve": ms}.  THE FIGURES ARE ASSUMPTIONS: the research notes
carry no SE050 per-command durations (only BWT 1000 ms, MPOT 1 ms, SEGT
100 us from the ATR); replace them with measured ones.  The driver sees the
duration as NACKs and, past `wtx_ms`, as WTX requests.

Fault injection (counted in stats): inject_crc_to_host(n) corrupts our next
n blocks on the wire (a retransmission is clean); inject_crc_from_host(n)
takes the host's next n blocks as corrupted; inject_lost_block(n) ACKs and
drops the host's next n blocks; inject_link_reset() restarts our T=1 state
(sequence numbers 0, nothing to resend) without telling the host, as an
interface-layer restart would, so that only a RESYNCH brings the two back
together; force_wtx(n) makes the next command send n
WTX requests first; `block_hook(block) -> bytes` rewrites each block we
offer (a whole block: the fuzzer forges blocks with good CRCs there),
`read_hook(data) -> bytes` every read (it may raise OSError: a NACK),
`write_hook(data) -> bytes` every write.

Provisioning bundle (JSON, `load_bundle(path | text | list | dict)`): a
list of objects, or {"objects": [...]}; each object
    {"object_id": "0x7FFF0001" or 2147418113,
     "curve": "secp521r1" | "P-521" | "NIST_P521" | 5 | "ed25519" | ...,
     one of
       "private_key_pem": PKCS#8 or SEC1 PEM (unencrypted)  -> key pair
       "private_key_hex": big-endian scalar (raw 32 bytes for Ed/X25519)
                          (aliases "private_scalar", "private_scalar_hex")
       "public_key_pem" / "public_key_hex" (uncompressed point)  -> public key
       "certificate_pem" / "data_hex"                            -> binary file
     "key_part": "pair" (default) | "private" (a private key alone: no
                 public part to read) (optional),
     "policy": ["sign", "verify", "ka", "read", "write", "gen", "delete",
                "enc", "dec", "forbid_all"] | rule mask int | "0x..."
               | [{"auth_id": 0, "rules": [...] or int}, ...]   (optional),
     "transient": false (optional)}
The curve is created with its parameters if needed (a factory step).  A
private key's curve must match "curve" when both are given.
"""
import errno
import hashlib
import json
import os
import random
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils, x25519
from cryptography import x509

ADDR = 0x48
NAD_HOST = 0x5A
NAD_SE = 0xA5
IFS_MAX = 254
MAX_PAYLOAD = 892
RX_APDU_MAX = 7 + MAX_PAYLOAD + 2

# example ATR: pver 0, VID A000000396, BWT 1000 ms, IFSC 254, PLID 2,
# MCF 1000 kHz, config 08, MPOT 1 ms, SEGT 100 us, WUT 0, "JCOP4 ATPO"
DEFAULT_ATR = bytes.fromhex("00a0000003960403e800fe020b03e80801000000006400000a") + b"JCOP4 ATPO"
AID = bytes.fromhex("a0000003965453000000010300000000")
UNIQUE_ID = 0x7FFF0206
RESERVED_LO = 0x7FFF0000

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY = 0x6982
SW_DATA_INVALID = 0x6984
SW_CONDITIONS = 0x6985
SW_DENIED = 0x6986
SW_WRONG_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_INS = 0x6D00
SW_CLA = 0x6E00

FORBID_ALL = 0x20000000
RULES = {"sign": 0x10000000, "verify": 0x08000000, "ka": 0x04000000, "enc": 0x02000000,
         "dec": 0x01000000, "kdf": 0x00800000, "wrap": 0x00400000, "read": 0x00200000,
         "write": 0x00100000, "gen": 0x00080000, "delete": 0x00040000,
         "import_export": 0x00001000, "forbid_all": FORBID_ALL}

# applet config bits (se05x_enums.h SE05x_AppletConfig_t)
CFG_ECDAA, CFG_ECDSA_ECDH, CFG_EDDSA, CFG_DH_MONT = 0x0001, 0x0002, 0x0004, 0x0008
CFG_HMAC, CFG_RSA_PLAIN, CFG_RSA_CRT, CFG_AES = 0x0010, 0x0020, 0x0040, 0x0080
CFG_DES, CFG_PBKDF, CFG_TLS, CFG_MIFARE, CFG_I2CM = 0x0100, 0x0200, 0x0400, 0x0800, 0x2000
_BASE = CFG_ECDAA | CFG_ECDSA_ECDH | CFG_HMAC | CFG_AES | CFG_DES | CFG_PBKDF | CFG_TLS \
    | CFG_MIFARE | CFG_I2CM
VARIANTS = {"A": _BASE,                                                       # ECC, no Ed/Mont
            "C": _BASE | CFG_EDDSA | CFG_DH_MONT | CFG_RSA_PLAIN | CFG_RSA_CRT,
            "E": _BASE | CFG_EDDSA | CFG_DH_MONT}                              # ECC, no RSA

ED25519, X25519, X448 = 0x40, 0x41, 0x43
WEIERSTRASS_IDS = range(0x01, 0x12)      # P-192 .. BN-P256
CURVE_NAMES = {0x01: "P-192", 0x02: "P-224", 0x03: "P-256", 0x04: "P-384", 0x05: "P-521",
               0x06: "brainpoolP160r1", 0x07: "brainpoolP192r1", 0x08: "brainpoolP224r1",
               0x09: "brainpoolP256r1", 0x0A: "brainpoolP320r1", 0x0B: "brainpoolP384r1",
               0x0C: "brainpoolP512r1", 0x0D: "secp160k1", 0x0E: "secp192k1",
               0x0F: "secp224k1", 0x10: "secp256k1", 0x11: "BN-P256",
               ED25519: "Ed25519", X25519: "X25519", X448: "X448"}
_EC = {0x01: ec.SECP192R1, 0x02: ec.SECP224R1, 0x03: ec.SECP256R1, 0x04: ec.SECP384R1,
       0x05: ec.SECP521R1, 0x09: ec.BrainpoolP256R1, 0x0B: ec.BrainpoolP384R1,
       0x0C: ec.BrainpoolP512R1, 0x10: ec.SECP256K1}
CURVE_ALIASES = {"secp192r1": 0x01, "p-192": 0x01, "nist_p192": 0x01, "prime192v1": 0x01,
                 "secp224r1": 0x02, "p-224": 0x02, "nist_p224": 0x02,
                 "secp256r1": 0x03, "p-256": 0x03, "nist_p256": 0x03, "prime256v1": 0x03,
                 "secp384r1": 0x04, "p-384": 0x04, "nist_p384": 0x04,
                 "secp521r1": 0x05, "p-521": 0x05, "nist_p521": 0x05,
                 "brainpoolp256r1": 0x09, "brainpoolp384r1": 0x0B, "brainpoolp512r1": 0x0C,
                 "secp256k1": 0x10, "ed25519": ED25519, "x25519": X25519}


def _hexint(h):
    return int(h, 16)


# Domain parameters (A, B, N, prime) of the NIST curves, SEC 2 / FIPS 186-4;
# G comes from `cryptography` (the generator is the public key of scalar 1).
# tests/test_se050_model.py checks each against `cryptography`.
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P384_P = 2**384 - 2**128 - 2**96 + 2**32 - 1
_P521_P = 2**521 - 1
NIST_PARAMS = {
    0x03: (_P256_P - 3,
           _hexint("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
           _hexint("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
           _P256_P),
    0x04: (_P384_P - 3,
           _hexint("B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
                   "C656398D8A2ED19D2A85C8EDD3EC2AEF"),
           _hexint("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                   "581A0DB248B0A77AECEC196ACCC52973"),
           _P384_P),
    0x05: (_P521_P - 3,
           _hexint("0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF1"
                   "09E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00"),
           _hexint("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                   "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409"),
           _P521_P),
}
PARAM_A, PARAM_B, PARAM_G, PARAM_N, PARAM_PRIME = 0x01, 0x02, 0x04, 0x08, 0x10
ALL_PARAMS = 0x1F

ECDSA_ALGOS = {0x11: hashes.SHA1, 0x25: hashes.SHA224, 0x21: hashes.SHA256,
               0x22: hashes.SHA384, 0x26: hashes.SHA512}
EDDSA_ED25519 = 0xA3
DIGEST_MODES = {0x01: "sha1", 0x04: "sha256", 0x05: "sha384", 0x06: "sha512"}  # 0x07: not supported

# ASSUMED figures (ms), not from a datasheet: see the module docstring.
ASSUMED_TIMING = {
    "SoftReset": 5, "ChipReset": 20, "SELECT": 5, "GetVersion": 2, "CheckObjectExists": 3,
    "ReadObject": 5, "ReadECCurveList": 3, "ReadIDList": 5, "ReadType": 3, "ReadSize": 3,
    "CreateECCurve": 15, "SetECCurveParam": 15, "WriteBinary": 20, "WriteECKey": 25,
    "DeleteSecureObject": 15, "DeleteAll": 200, "GetRandom": 3,
    "GenerateKey": 100, "GenerateKey:P-384": 200, "GenerateKey:P-521": 400,
    "ECDSASign": 50, "ECDSASign:P-384": 100, "ECDSASign:P-521": 200,
    "ECDSAVerify": 60, "ECDSAVerify:P-384": 120, "ECDSAVerify:P-521": 250,
    "ECDH": 50, "ECDH:P-384": 100, "ECDH:P-521": 200,
    "EdDSASign": 60, "EdDSAVerify": 70,
    "DigestOneShot": 2, "DigestUpdate": 2, "DigestFinal": 2, "digest_per_kib": 4,
}

STAT_KEYS = ("writes", "reads", "bytes_in", "bytes_out", "frames_in", "frames_out", "nacks",
             "crc_errors", "bad_blocks", "seq_errors", "retransmits", "wtx", "resyncs",
             "soft_resets", "chip_resets", "aborts", "apdus", "busy_ms", "lost_blocks", "link_resets",
             "injected_to_host", "injected_from_host", "unsupported")


def crc_x25(data):
    """CRC-16/X.25, bit by bit (reflected 0x8408, init and xorout 0xFFFF)."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def block(nad, pcb, inf=b""):
    head = bytes((nad, pcb, len(inf))) + bytes(inf)
    c = crc_x25(head)
    return head + bytes((c & 0xFF, c >> 8))


class ApduError(Exception):
    def __init__(self, sw, why=""):
        Exception.__init__(self, "%04X %s" % (sw, why))
        self.sw = sw


def parse_tlvs(data):
    """{tag: value} of the first occurrence of each tag; ApduError(6A80) if malformed."""
    out = {}
    i, n = 0, len(data)
    while i < n:
        if i + 2 > n:
            raise ApduError(SW_WRONG_DATA, "TLV header")
        tag, ln = data[i], data[i + 1]
        i += 2
        if ln == 0x81:
            if i + 1 > n:
                raise ApduError(SW_WRONG_DATA, "TLV length")
            ln = data[i]
            i += 1
        elif ln == 0x82:
            if i + 2 > n:
                raise ApduError(SW_WRONG_DATA, "TLV length")
            ln = (data[i] << 8) | data[i + 1]
            i += 2
        elif ln >= 0x80:
            raise ApduError(SW_WRONG_DATA, "TLV length form")
        if i + ln > n:
            raise ApduError(SW_WRONG_DATA, "TLV overruns")
        out.setdefault(tag, bytes(data[i:i + ln]))
        i += ln
    return out


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        head = bytes((tag, n))
    elif n < 0x100:
        head = bytes((tag, 0x81, n))
    else:
        head = bytes((tag, 0x82, n >> 8, n & 0xFF))
    return head + bytes(value)


def parse_policy(data):
    """[(auth_id, rules)] from a TLV 0x11 value: entries len(1) auth(4) rules(4) [...]."""
    out = []
    i = 0
    while i < len(data):
        ln = data[i]
        if ln < 8 or i + 1 + ln > len(data):
            raise ApduError(SW_WRONG_DATA, "policy entry")
        e = data[i + 1:i + 1 + ln]
        out.append((int.from_bytes(e[0:4], "big"), int.from_bytes(e[4:8], "big")))
        i += 1 + ln
    return out


def encode_policy(entries):
    return b"".join(bytes((8,)) + a.to_bytes(4, "big") + r.to_bytes(4, "big") for a, r in entries)


def field_len(curve_id):
    return (_EC[curve_id]().key_size + 7) // 8


def curve_params(curve_id):
    """{param id: bytes} of a curve the model can check fully, else None."""
    p = NIST_PARAMS.get(curve_id)
    if p is None:
        return None
    a, b, n, prime = p
    size = field_len(curve_id)
    g = ec.derive_private_key(1, _EC[curve_id]()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {PARAM_A: a.to_bytes(size, "big"), PARAM_B: b.to_bytes(size, "big"), PARAM_G: g,
            PARAM_N: n.to_bytes(size, "big"), PARAM_PRIME: prime.to_bytes(size, "big")}


class SecureObject:
    """One object in the store.  kind: 'pair', 'priv', 'pub' (keys; `key`
    is a cryptography private or public key) or 'bin' (`data`)."""

    def __init__(self, kind, curve=None, key=None, data=None, policy=None, transient=False,
                 readonly=False):
        self.kind = kind
        self.curve = curve
        self.key = key
        self.data = data
        self.policy = policy or []
        self.transient = transient
        self.readonly = readonly

    def public_key(self):
        if self.kind in ("pair", "priv"):
            return self.key.public_key()
        return self.key


def _pub_bytes(curve, pub):
    if curve in (ED25519, X25519):
        return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)[::-1]
    return pub.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def _load_pub(curve, data):
    try:
        if curve == ED25519:
            return ed25519.Ed25519PublicKey.from_public_bytes(bytes(data)[::-1])
        if curve == X25519:
            return x25519.X25519PublicKey.from_public_bytes(bytes(data)[::-1])
        if len(data) != 1 + 2 * field_len(curve) or data[0] != 4:
            raise ValueError("not an uncompressed point")
        return ec.EllipticCurvePublicKey.from_encoded_point(_EC[curve](), bytes(data))
    except ValueError as e:
        raise ApduError(SW_WRONG_DATA, "public key: %s" % e)


def _load_priv(curve, data):
    try:
        if curve == ED25519:
            return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(data)[::-1])
        if curve == X25519:
            return x25519.X25519PrivateKey.from_private_bytes(bytes(data)[::-1])
        if len(data) > field_len(curve):
            raise ValueError("scalar too long")
        return ec.derive_private_key(int.from_bytes(data, "big"), _EC[curve]())
    except ValueError as e:
        raise ApduError(SW_WRONG_DATA, "private key: %s" % e)


class Se050Model:
    def __init__(self, variant="C", applet=(3, 1, 0), clock=time.monotonic, addr=ADDR,
                 timing=None, wtx_ms=500, atr=DEFAULT_ATR, seed=None, secure_box=0x0000):
        if variant not in VARIANTS:
            raise ValueError("variant A, C or E (SE050B has no ECC)")
        self.variant = variant
        self.applet = tuple(applet)
        self.clock = clock
        self.addr = addr
        if timing == "assumed":
            timing = ASSUMED_TIMING
        self.timing = dict(timing or {})
        self.wtx_ms = wtx_ms
        self.atr = bytes(atr)
        self.secure_box = secure_box
        self._rng = random.Random(seed) if seed is not None else None
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self.stats["commands"] = {}
        self.read_hook = None
        self.write_hook = None
        self.block_hook = None
        self._crc_to_host = 0
        self._crc_from_host = 0
        self._lost = 0
        self._force_wtx = 0
        self.objects = {}
        self.curves = {}            # curve id -> {param id: bytes}
        self.crypto_objects = {}    # 2-byte id -> [mode, hashlib object or None]
        uid = bytes(self._random(18))
        self.objects[UNIQUE_ID] = SecureObject("bin", data=uid, readonly=True)
        self._reset_link()
        self.selected = False
        self._busy_until = 0.0

    # -- helpers ------------------------------------------------------------------

    @property
    def config(self):
        return VARIANTS[self.variant]

    def _now(self):
        return self.clock() * 1000.0

    def _random(self, n):
        if self._rng is not None:
            return bytes(self._rng.getrandbits(8) for _ in range(n))
        return os.urandom(n)

    def _count(self, name):
        c = self.stats["commands"]
        c[name] = c.get(name, 0) + 1

    def _duration(self, name, curve=None, nbytes=0):
        t = self.timing
        if not t:
            return 0
        ms = t.get("%s:%s" % (name, CURVE_NAMES.get(curve)), t.get(name, 0))
        if nbytes and "digest_per_kib" in t and name.startswith("Digest"):
            ms += t["digest_per_kib"] * nbytes / 1024.0
        return ms

    def _reset_link(self):
        self._seq_recv = 0          # N(S) expected in the host's next I-block
        self._seq_send = 0          # N(S) of our next I-block
        self._rx_apdu = bytearray()
        self._chunks = []           # response blocks still to send
        self._job = None            # a command still running: {"remaining": ms, "forced": n}
        self._await_wtx = False
        self._out = None            # the block the host is reading
        self._pos = 0
        self._last = None           # our last block (resent while a WTX request waits)
        self._last_i = None         # our last I-block and its N(S)
        self._last_ns = 0
        self.ifsd = IFS_MAX

    # -- fault injection ------------------------------------------------------

    def inject_crc_to_host(self, n=1):
        self._crc_to_host += n

    def inject_crc_from_host(self, n=1):
        self._crc_from_host += n

    def inject_lost_block(self, n=1):
        self._lost += n

    def inject_link_reset(self):
        self.stats["link_resets"] += 1
        self._reset_link()

    def force_wtx(self, n=1):
        self._force_wtx += n

    @property
    def busy(self):
        return self._now() < self._busy_until

    # -- I2C target -----------------------------------------------------------------

    def _nack(self):
        self.stats["nacks"] += 1
        raise OSError(errno.ENODEV, "SE050 NACK")

    def writeto(self, addr, buf, stop=True):
        if addr != self.addr:
            raise OSError(errno.ENODEV, "no device at 0x%02x" % addr)
        if self.busy:
            self._nack()
        data = bytes(buf)
        if self.write_hook is not None:
            data = bytes(self.write_hook(data))
        self.stats["writes"] += 1
        self.stats["bytes_in"] += len(data)
        self._out = None
        if self._lost:
            self._lost -= 1
            self.stats["lost_blocks"] += 1
            return len(buf)
        self._on_block(data)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        if addr != self.addr:
            raise OSError(errno.ENODEV, "no device at 0x%02x" % addr)
        if self.busy or self._out is None or self._pos >= len(self._out):
            self._nack()
        n = len(buf)
        k = min(n, len(self._out) - self._pos)
        data = bytes(self._out[self._pos:self._pos + k]) + b"\xff" * (n - k)
        self._pos += k
        self.stats["reads"] += 1
        self.stats["bytes_out"] += n
        if self.read_hook is not None:
            data = bytes(self.read_hook(data))[:n]
            data += b"\xff" * (n - len(data))
        buf[0:n] = data

    def readfrom(self, addr, n, stop=True):
        buf = bytearray(n)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    # -- T=1, chip side ---------------------------------------------------------

    def _present(self, blk, delay_ms=0, remember=True):
        """Offers a block to the host after delay_ms of busy time."""
        if remember:
            self._last = blk
        out = blk
        if self.block_hook is not None:
            out = bytes(self.block_hook(blk))
        if self._crc_to_host:
            self._crc_to_host -= 1
            self.stats["injected_to_host"] += 1
            out = bytearray(blk)
            out[-1] ^= 0x5A         # a broken CRC
            out = bytes(out)
        self._out = out
        self._pos = 0
        self.stats["frames_out"] += 1
        if delay_ms:
            self.stats["busy_ms"] += delay_ms
            self._busy_until = self._now() + delay_ms

    def _r(self, err):
        self._present(block(NAD_SE, 0x80 | (0x10 if self._seq_recv else 0) | err), remember=False)

    def _s(self, t, inf=b"", delay_ms=0):
        self._present(block(NAD_SE, 0xE0 | t, inf), delay_ms)

    def _repeat(self):
        if self._last is None:
            self._r(2)
        else:
            self.stats["retransmits"] += 1
            self._present(self._last)

    def _on_block(self, data):
        self.stats["frames_in"] += 1
        corrupt = False
        if self._crc_from_host:
            self._crc_from_host -= 1
            self.stats["injected_from_host"] += 1
            corrupt = True
        n = len(data)
        if n < 5 or data[0] != NAD_HOST or data[2] != n - 5 or data[2] > IFS_MAX:
            self.stats["bad_blocks"] += 1
            self._r(2)
            return
        c = crc_x25(data[:-2])
        if corrupt or data[-2] != c & 0xFF or data[-1] != c >> 8:
            self.stats["crc_errors"] += 1
            self._r(1)
            return
        pcb = data[1]
        inf = data[3:-2]
        if pcb & 0x80 == 0:
            self._i_block(pcb, inf)
        elif pcb & 0xC0 == 0x80:
            self._r_block(pcb)
        else:
            self._s_block(pcb, inf)

    def _i_block(self, pcb, inf):
        if pcb & 0x1F or self._await_wtx:
            self.stats["bad_blocks"] += 1
            self._r(2)
            return
        ns = 1 if pcb & 0x40 else 0
        if ns != self._seq_recv:
            self.stats["seq_errors"] += 1
            self._r(2)
            return
        self._seq_recv ^= 1
        self._chunks = []
        self._job = None
        if len(self._rx_apdu) + len(inf) <= 4 * RX_APDU_MAX:
            self._rx_apdu += inf
        if pcb & 0x20:
            self._present(block(NAD_SE, 0x80 | (0x10 if self._seq_recv else 0)))
            return
        apdu = bytes(self._rx_apdu)
        self._rx_apdu = bytearray()
        rsp, ms = self._process(apdu)
        self._chunks = [rsp[i:i + self.ifsd] for i in range(0, len(rsp), self.ifsd)]
        self._job = {"remaining": ms, "forced": self._force_wtx}
        self._force_wtx = 0
        self._advance()

    def _advance(self):
        j = self._job
        if j is not None:
            if j["forced"]:
                j["forced"] -= 1
                self._wtx(0)
                return
            if j["remaining"] > self.wtx_ms:
                j["remaining"] -= self.wtx_ms
                self._wtx(self.wtx_ms)
                return
            delay = j["remaining"]
            self._job = None
        else:
            delay = 0
        self._next_chunk(delay)

    def _wtx(self, delay):
        self.stats["wtx"] += 1
        self._await_wtx = True
        self._present(block(NAD_SE, 0xC3, b"\x01"), delay)

    def _next_chunk(self, delay=0):
        chunk = self._chunks.pop(0)
        pcb = (0x40 if self._seq_send else 0) | (0x20 if self._chunks else 0)
        self._last_ns = self._seq_send
        self._seq_send ^= 1
        self._last_i = block(NAD_SE, pcb, chunk)
        self._present(self._last_i, delay)

    def _r_block(self, pcb):
        if pcb & 0x2C:
            self.stats["bad_blocks"] += 1
            self._r(2)
            return
        nr = 1 if pcb & 0x10 else 0
        if self._await_wtx:
            self._repeat()                  # the WTX request again
        elif self._job is None and self._chunks and pcb & 3 == 0 and nr == self._seq_send:
            self._next_chunk()              # the acknowledgement of our chained block
        elif self._last_i is not None and nr == self._last_ns:
            self.stats["retransmits"] += 1
            self._present(self._last_i)     # our last I-block again
        else:
            self._r(0)                      # we expect the host's block N(S) = N(R)

    def _s_block(self, pcb, inf):
        t = pcb & 0x1F
        if pcb & 0x20:                      # a response from the host: only WTX
            if t == 0x03 and self._await_wtx and len(inf) == 1:
                self._await_wtx = False
                self._advance()
            else:
                self.stats["bad_blocks"] += 1
                self._r(2)
            return
        if t == 0x00:                       # RESYNCH
            self.stats["resyncs"] += 1
            self._reset_link()
            self._s(0x00)
        elif t == 0x01:                     # IFS
            if len(inf) != 1 or not 0 < inf[0] <= IFS_MAX:
                self.stats["bad_blocks"] += 1
                self._r(2)
                return
            self.ifsd = inf[0]
            self._s(0x01, inf)
        elif t == 0x02:                     # ABORT
            self.stats["aborts"] += 1
            self._rx_apdu = bytearray()
            self._chunks = []
            self._job = None
            self._await_wtx = False
            self._s(0x02)
        elif t == 0x05:                     # end of APDU session
            self._s(0x05)
        elif t == 0x06:                     # chip reset
            self.stats["chip_resets"] += 1
            self._reset_link()
            self.selected = False
            self.crypto_objects = {}
            for k in [k for k, o in self.objects.items() if o.transient]:
                del self.objects[k]
            self._s(0x06, b"", self._duration("ChipReset"))
        elif t == 0x07:                     # GET ATR
            self._s(0x07, self.atr)
        elif t == 0x0F:                     # interface soft reset
            self.stats["soft_resets"] += 1
            self._reset_link()
            self.selected = False
            self._s(0x0F, self.atr, self._duration("SoftReset"))
        elif t == 0x1F:                     # deep power-down
            self._s(0x1F)
        else:
            self.stats["bad_blocks"] += 1
            self._r(2)

    # -- APDUs ----------------------------------------------------------------------

    def apdu(self, apdu):
        """One APDU without the T=1 layer: the response (data + SW)."""
        return self._process(bytes(apdu))[0]

    def _process(self, apdu):
        """(response, duration ms) of one command APDU."""
        self.stats["apdus"] += 1
        self._name = "unknown"
        self._ms = 0
        try:
            data = self._split(apdu)
            out = self._dispatch(apdu[0], apdu[1], apdu[2], apdu[3], data)
            sw = SW_OK
        except ApduError as e:
            out, sw = b"", e.sw
        self._count(self._name)
        return bytes(out) + bytes((sw >> 8, sw & 0xFF)), self._ms

    def _split(self, apdu):
        """The command data of a short or extended APDU (cases 1-4)."""
        if len(apdu) < 4:
            raise ApduError(SW_WRONG_LENGTH, "no header")
        body = apdu[4:]
        n = len(body)
        if n <= 1:
            return b""
        if body[0]:
            lc = body[0]
            if n in (1 + lc, 2 + lc):
                return body[1:1 + lc]
            raise ApduError(SW_WRONG_LENGTH, "short Lc")
        if n == 3:
            return b""                              # case 2E
        lc = (body[1] << 8) | body[2]
        if lc == 0 or n not in (3 + lc, 5 + lc):
            raise ApduError(SW_WRONG_LENGTH, "extended Lc")
        if lc > MAX_PAYLOAD:
            raise ApduError(SW_WRONG_LENGTH, "payload over 892")
        return body[3:3 + lc]

    def _dispatch(self, cla, ins, p1, p2, data):
        if cla == 0x00 and ins == 0xA4:
            self._name = "SELECT"
            self._ms = self._duration("SELECT")
            if p1 != 0x04 or bytes(data) != AID:
                self.selected = False
                raise ApduError(SW_NOT_FOUND, "AID")
            self.selected = True
            return bytes(self.applet) + self.config.to_bytes(2, "big") \
                + self.secure_box.to_bytes(2, "big")
        if cla != 0x80:
            raise ApduError(SW_CLA)
        if not self.selected:
            raise ApduError(SW_INS, "applet not selected")
        t = parse_tlvs(data)
        op = ins & 0x1F
        if op == 0x01:
            return self._write(ins, p1, p2, t)
        if op == 0x02:
            return self._read(p1, p2, t)
        if op == 0x03:
            return self._crypto(p1, p2, t)
        if op == 0x04:
            return self._mgmt(p1, p2, t)
        raise ApduError(SW_INS)

    # -- argument helpers --

    def _op(self, name, curve=None, nbytes=0):
        self._name = name
        self._ms = self._duration(name, curve, nbytes)

    @staticmethod
    def _need(t, tag, size=None):
        v = t.get(tag)
        if v is None or (size is not None and len(v) != size):
            raise ApduError(SW_WRONG_DATA, "TLV 0x%02x" % tag)
        return v

    def _int(self, t, tag, size, default=None):
        if tag not in t and default is not None:
            return default
        return int.from_bytes(self._need(t, tag, size), "big")

    def _object(self, t):
        oid = self._int(t, 0x41, 4)
        obj = self.objects.get(oid)
        if obj is None:
            raise ApduError(SW_WRONG_DATA, "no object 0x%08X" % oid)
        return oid, obj

    @staticmethod
    def _allowed(obj, rule):
        if not obj.policy:
            return True
        for auth, rules in obj.policy:
            if auth == 0:
                return not rules & FORBID_ALL and bool(rules & rule)
        return False

    def _check(self, obj, rule):
        if not self._allowed(obj, rule):
            raise ApduError(SW_DENIED, "policy")

    def _curve_usable(self, curve):
        """Raises unless keys can use this curve on this chip now."""
        if curve in (ED25519, X25519):
            need = CFG_EDDSA if curve == ED25519 else CFG_DH_MONT
            if not self.config & need:
                raise ApduError(SW_WRONG_DATA, "SE050%s has no %s" % (self.variant,
                                                                     CURVE_NAMES[curve]))
            return
        if curve not in WEIERSTRASS_IDS:
            raise ApduError(SW_WRONG_DATA, "curve 0x%02x" % curve)
        if self.applet[0] == 3:
            params = self.curves.get(curve)
            if params is None or sum(params) != ALL_PARAMS:
                raise ApduError(SW_CONDITIONS, "curve 0x%02x not created" % curve)
        if curve not in _EC:
            self.stats["unsupported"] += 1
            raise ApduError(SW_WRONG_DATA, "model does not compute on %s" % CURVE_NAMES[curve])

    # -- WRITE --

    def _write(self, ins, p1, p2, t):
        kind = p1 & 0x1F
        if kind == 0x0B:
            return self._write_curve(p2, t)
        if kind == 0x10:
            return self._create_crypto_object(t)
        if kind == 0x06:
            return self._write_binary(t)
        if kind != 0x01:
            self._op("WriteKey")
            self.stats["unsupported"] += 1
            raise ApduError(SW_WRONG_DATA, "key type 0x%02x" % kind)
        part = p1 & 0x60
        priv, pub = t.get(0x43), t.get(0x44)
        gen = part == 0x60 and priv is None and pub is None
        oid = self._int(t, 0x41, 4)
        old = self.objects.get(oid)
        curve = t.get(0x42)
        curve = curve[0] if curve is not None and len(curve) == 1 else None
        if 0x42 in t and curve is None:
            raise ApduError(SW_WRONG_DATA, "curve TLV")
        self._op("GenerateKey" if gen else "WriteECKey", curve if curve is not None else
                 (old.curve if old else None))
        if oid >= RESERVED_LO:
            raise ApduError(SW_CONDITIONS, "reserved object ID")
        if old is not None:
            if old.kind == "bin":
                raise ApduError(SW_CONDITIONS, "object is a file")
            if curve is not None and curve != old.curve:
                raise ApduError(SW_WRONG_DATA, "curve of an existing key")
            curve = old.curve
            self._check(old, RULES["gen"] if gen else RULES["write"])
        elif curve is None:
            raise ApduError(SW_WRONG_DATA, "curve needed for a new key")
        self._curve_usable(curve)
        if part == 0x60:
            newkind = "pair"
            if gen:
                key = self._generate(curve)
            elif priv is not None:
                key = _load_priv(curve, priv)
                if pub is not None and _pub_bytes(curve, key.public_key()) != pub:
                    raise ApduError(SW_WRONG_DATA, "public key does not match")
            else:
                raise ApduError(SW_WRONG_DATA, "key pair without private key")
        elif part == 0x40:
            newkind = "priv"
            key = _load_priv(curve, self._need(t, 0x43))
        elif part == 0x20:
            newkind = "pub"
            key = _load_pub(curve, self._need(t, 0x44))
        else:
            raise ApduError(SW_WRONG_DATA, "key part")
        if old is not None and old.kind != newkind:
            raise ApduError(SW_CONDITIONS, "kind of an existing key")
        policy = parse_policy(t[0x11]) if 0x11 in t else None
        if old is not None:
            old.key = key
        else:
            self.objects[oid] = SecureObject(newkind, curve, key, policy=policy,
                                             transient=bool(ins & 0x80))
        return b""

    def _generate(self, curve):
        if curve == ED25519:
            return ed25519.Ed25519PrivateKey.generate()
        if curve == X25519:
            return x25519.X25519PrivateKey.generate()
        return ec.generate_private_key(_EC[curve]())

    def _write_curve(self, p2, t):
        curve = self._int(t, 0x41, 1)
        if p2 == 0x04:
            self._op("CreateECCurve")
            if curve not in WEIERSTRASS_IDS:
                raise ApduError(SW_WRONG_DATA, "curve 0x%02x" % curve)
            if curve in self.curves:
                raise ApduError(SW_CONDITIONS, "curve exists")
            self.curves[curve] = {}
            return b""
        if p2 == 0x40:
            self._op("SetECCurveParam")
            params = self.curves.get(curve)
            if params is None:
                raise ApduError(SW_CONDITIONS, "curve not created")
            pid = self._int(t, 0x42, 1)
            value = self._need(t, 0x43)
            if pid not in (PARAM_A, PARAM_B, PARAM_G, PARAM_N, PARAM_PRIME):
                raise ApduError(SW_WRONG_DATA, "parameter 0x%02x" % pid)
            want = curve_params(curve)
            if want is not None and want[pid] != value:
                raise ApduError(SW_WRONG_DATA, "parameter 0x%02x of %s" % (pid, CURVE_NAMES[curve]))
            if want is None and curve in _EC and pid == PARAM_G:
                g = ec.derive_private_key(1, _EC[curve]()).public_key().public_bytes(
                    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
                if g != value:
                    raise ApduError(SW_WRONG_DATA, "generator of %s" % CURVE_NAMES[curve])
            params[pid] = value
            return b""
        self._op("WriteCurve")
        raise ApduError(SW_WRONG_DATA, "P2")

    def _create_crypto_object(self, t):
        self._op("CreateCryptoObject")
        cid = self._int(t, 0x41, 2)
        if self._int(t, 0x42, 1) != 0x01:
            self.stats["unsupported"] += 1
            raise ApduError(SW_WRONG_DATA, "only digest crypto objects are modelled")
        mode = self._int(t, 0x43, 1)
        if mode not in DIGEST_MODES:
            raise ApduError(SW_WRONG_DATA, "digest mode")
        if cid in self.crypto_objects:
            raise ApduError(SW_CONDITIONS, "crypto object exists")
        self.crypto_objects[cid] = [mode, None]
        return b""

    def _write_binary(self, t):
        self._op("WriteBinary")
        oid = self._int(t, 0x41, 4)
        off = self._int(t, 0x42, 2, 0)
        data = t.get(0x44, b"")
        old = self.objects.get(oid)
        if oid >= RESERVED_LO:
            raise ApduError(SW_CONDITIONS, "reserved object ID")
        if old is None:
            total = self._int(t, 0x43, 2)
            if total == 0:
                raise ApduError(SW_WRONG_DATA, "file length")
            policy = parse_policy(t[0x11]) if 0x11 in t else None
            old = SecureObject("bin", data=bytearray(total), policy=policy)
            self.objects[oid] = old
        elif old.kind != "bin":
            raise ApduError(SW_CONDITIONS, "object is a key")
        else:
            self._check(old, RULES["write"])
        if off + len(data) > len(old.data):
            raise ApduError(SW_WRONG_DATA, "past the end of the file")
        old.data[off:off + len(data)] = data
        return b""

    # -- READ --

    def _read(self, p1, p2, t):
        if p1 == 0x0B and p2 == 0x25:
            self._op("ReadECCurveList")
            return tlv(0x41, bytes(0x02 if c in self.curves else 0x01 for c in WEIERSTRASS_IDS))
        if p2 == 0x25:
            self._op("ReadIDList")
            off = self._int(t, 0x41, 2, 0)
            filt = self._int(t, 0x42, 1, 0xFF)
            ids = sorted(k for k, o in self.objects.items()
                         if filt == 0xFF or self._type(o) == filt)
            page = ids[off:off + 50]
            more = 0x02 if off + 50 < len(ids) else 0x01
            return tlv(0x41, bytes((more,))) + tlv(0x42, b"".join(i.to_bytes(4, "big")
                                                                  for i in page))
        if p2 == 0x26:
            self._op("ReadType")
            _, obj = self._object(t)
            return tlv(0x41, bytes((self._type(obj),))) + tlv(0x42, b"\x02" if obj.transient
                                                              else b"\x01")
        if p2 == 0x07:
            self._op("ReadSize")
            _, obj = self._object(t)
            size = len(obj.data) if obj.kind == "bin" else (
                32 if obj.curve in (ED25519, X25519) else field_len(obj.curve))
            return tlv(0x41, size.to_bytes(2, "big"))
        if p2 != 0x00:
            self._op("Read")
            raise ApduError(SW_WRONG_DATA, "P2")
        _, obj = self._object(t)
        self._op("ReadObject", obj.curve)
        if obj.kind == "priv":
            raise ApduError(SW_CONDITIONS, "a private key is not readable")
        self._check(obj, RULES["read"])
        if obj.kind == "bin":
            data = bytes(obj.data)
            off = self._int(t, 0x42, 2, 0)
            ln = self._int(t, 0x43, 2, len(data) - off if off <= len(data) else 0)
            if off + ln > len(data):
                raise ApduError(SW_WRONG_DATA, "past the end of the file")
            return tlv(0x41, data[off:off + ln])
        return tlv(0x41, _pub_bytes(obj.curve, obj.public_key()))

    @staticmethod
    def _type(obj):
        return {"pair": 0x01, "priv": 0x02, "pub": 0x03, "bin": 0x0B}[obj.kind]

    # -- CRYPTO --

    def _crypto(self, p1, p2, t):
        if p1 == 0x0C and p2 in (0x09, 0x0A):
            return self._sign_verify(p2 == 0x09, t)
        if p1 == 0x01 and p2 == 0x0F:
            return self._ecdh(t)
        if p1 == 0x00 and p2 == 0x0E:
            mode = self._int(t, 0x41, 1)
            data = t.get(0x42, b"")
            self._op("DigestOneShot", nbytes=len(data))
            if mode not in DIGEST_MODES:
                raise ApduError(SW_WRONG_DATA, "digest mode")
            return tlv(0x41, hashlib.new(DIGEST_MODES[mode], data).digest())
        if p1 == 0x00 and p2 in (0x0B, 0x0C, 0x0D):
            return self._digest_step(p2, t)
        self._op("Crypto")
        self.stats["unsupported"] += 1
        raise ApduError(SW_WRONG_DATA, "P1/P2")

    def _sign_verify(self, sign, t):
        _, obj = self._object(t)
        algo = self._int(t, 0x42, 1)
        data = self._need(t, 0x43)
        ed = algo == EDDSA_ED25519
        self._op(("EdDSA" if ed else "ECDSA") + ("Sign" if sign else "Verify"), obj.curve)
        if obj.kind == "bin":
            raise ApduError(SW_CONDITIONS, "not a key")
        if ed != (obj.curve == ED25519) or obj.curve == X25519:
            raise ApduError(SW_WRONG_DATA, "algorithm 0x%02x on %s" % (algo,
                                                                    CURVE_NAMES[obj.curve]))
        if not ed:
            h = ECDSA_ALGOS.get(algo)
            if h is None or len(data) != h.digest_size:
                raise ApduError(SW_WRONG_DATA, "algorithm 0x%02x / digest length" % algo)
            scheme = ec.ECDSA(utils.Prehashed(h()))
        if sign:
            if obj.kind == "pub":
                raise ApduError(SW_CONDITIONS, "no private key")
            self._check(obj, RULES["sign"])
            if ed:
                s = obj.key.sign(bytes(data))
                return tlv(0x41, s[:32][::-1] + s[32:][::-1])
            return tlv(0x41, obj.key.sign(bytes(data), scheme))
        self._check(obj, RULES["verify"])
        sig = self._need(t, 0x45)
        try:
            if ed:
                if len(sig) != 64:
                    raise InvalidSignature()
                obj.public_key().verify(sig[:32][::-1] + sig[32:][::-1], bytes(data))
            else:
                obj.public_key().verify(bytes(sig), bytes(data), scheme)
            ok = True
        except (InvalidSignature, ValueError):
            ok = False
        return tlv(0x41, b"\x01" if ok else b"\x02")

    def _ecdh(self, t):
        _, obj = self._object(t)
        self._op("ECDH", obj.curve)
        if obj.kind not in ("pair", "priv"):
            raise ApduError(SW_CONDITIONS, "no private key")
        if obj.curve == ED25519:
            raise ApduError(SW_WRONG_DATA, "no key agreement on Ed25519")
        self._check(obj, RULES["ka"])
        peer = _load_pub(obj.curve, self._need(t, 0x42))
        if obj.curve == X25519:
            try:
                return tlv(0x41, obj.key.exchange(peer)[::-1])
            except ValueError:
                raise ApduError(SW_WRONG_DATA, "X25519 point")
        return tlv(0x41, obj.key.exchange(ec.ECDH(), peer))

    def _digest_step(self, p2, t):
        name = {0x0B: "DigestInit", 0x0C: "DigestUpdate", 0x0D: "DigestFinal"}[p2]
        data = t.get(0x43, b"")
        self._op(name, nbytes=len(data))
        cid = self._int(t, 0x42, 2)
        co = self.crypto_objects.get(cid)
        if co is None:
            raise ApduError(SW_WRONG_DATA, "no crypto object 0x%04X" % cid)
        if p2 == 0x0B:
            co[1] = hashlib.new(DIGEST_MODES[co[0]])
            return b""
        if co[1] is None:
            raise ApduError(SW_CONDITIONS, "digest not initialised")
        co[1].update(data)
        if p2 == 0x0C:
            return b""
        h = co[1].digest()
        co[1] = None
        return tlv(0x41, h)

    # -- MGMT --

    def _mgmt(self, p1, p2, t):
        if p2 == 0x49:
            self._op("GetRandom")
            n = self._int(t, 0x41, 2)
            if not 0 < n <= MAX_PAYLOAD:
                raise ApduError(SW_WRONG_DATA, "random size")
            return tlv(0x41, self._random(n))
        if p2 == 0x28:
            if p1 == 0x10:
                self._op("DeleteCryptoObject")
                cid = self._int(t, 0x41, 2)
                if self.crypto_objects.pop(cid, None) is None:
                    raise ApduError(SW_WRONG_DATA, "no crypto object")
                return b""
            if p1 == 0x0B:
                self._op("DeleteECCurve")
                curve = self._int(t, 0x41, 1)
                if self.curves.pop(curve, None) is None:
                    raise ApduError(SW_WRONG_DATA, "no such curve")
                return b""
            self._op("DeleteSecureObject")
            oid, obj = self._object(t)
            if obj.readonly:
                raise ApduError(SW_CONDITIONS, "read-only object")
            self._check(obj, RULES["delete"])
            del self.objects[oid]
            return b""
        if p2 == 0x27:
            self._op("CheckObjectExists")
            oid = self._int(t, 0x41, 4)
            return tlv(0x41, b"\x01" if oid in self.objects else b"\x02")
        if p2 == 0x20:
            self._op("GetVersion")
            return tlv(0x41, bytes(self.applet) + self.config.to_bytes(2, "big")
                       + self.secure_box.to_bytes(2, "big"))
        if p2 == 0x2A:
            self._op("DeleteAll")
            self.objects = {k: o for k, o in self.objects.items() if o.readonly}
            self.curves = {}
            self.crypto_objects = {}
            return b""
        self._op("Mgmt")
        raise ApduError(SW_INS, "P2 0x%02x" % p2)

    # -- provisioning -----------------------------------------------------------------

    def public_key(self, obj_id):
        """The cryptography public key of an object (for tests and tools)."""
        return self.objects[obj_id].public_key()

    def create_curve(self, curve):
        """Creates a curve with its parameters (a provisioning shortcut)."""
        params = curve_params(curve)
        if params is None:
            if curve not in _EC:
                raise ValueError("no parameters for curve 0x%02x" % curve)
            params = dict.fromkeys((PARAM_A, PARAM_B, PARAM_G, PARAM_N, PARAM_PRIME), b"")
        self.curves[curve] = params

    def load_bundle(self, source):
        """Provisions the objects of a bundle: a path, JSON text, or the parsed list/dict."""
        if isinstance(source, str) and source.lstrip().startswith(("[", "{")):
            source = json.loads(source)
        elif isinstance(source, (str, os.PathLike)):
            with open(source) as f:
                source = json.load(f)
        entries = source.get("objects") if isinstance(source, dict) else source
        if not isinstance(entries, list):
            raise ValueError("bundle: a list of objects or {'objects': [...]}")
        return [self.provision(e) for e in entries]

    def provision(self, e):
        """One bundle entry (module docstring); returns its object ID."""
        oid = e.get("object_id", e.get("id"))
        if isinstance(oid, str):
            oid = int(oid, 0)
        if not isinstance(oid, int) or not 0 < oid < RESERVED_LO:
            raise ValueError("bundle: bad object_id %r" % (oid,))
        curve = e.get("curve")
        if isinstance(curve, str):
            name = curve.strip().lower()
            curve = CURVE_ALIASES.get(name)
            if curve is None:
                raise ValueError("bundle: unknown curve %r (no SE05x has Ed448)" % e["curve"])
        policy = self._bundle_policy(e.get("policy"))
        transient = bool(e.get("transient", False))
        priv_hex = e.get("private_key_hex", e.get("private_scalar_hex", e.get("private_scalar")))
        if "certificate_pem" in e or "data_hex" in e:
            if "certificate_pem" in e:
                data = x509.load_pem_x509_certificate(e["certificate_pem"].encode()).public_bytes(
                    serialization.Encoding.DER)
            else:
                data = bytes.fromhex(e["data_hex"])
            self.objects[oid] = SecureObject("bin", data=bytearray(data), policy=policy,
                                             transient=transient)
            return oid
        pem = e.get("private_key_pem", e.get("public_key_pem"))
        raw = priv_hex if priv_hex is not None else e.get("public_key_hex")
        kind = "pair" if "private_key_pem" in e or priv_hex is not None else "pub"
        if kind == "pair" and e.get("key_part", "pair") == "private":
            kind = "priv"
        key = None
        if pem is not None:
            key = (serialization.load_pem_public_key(pem.encode()) if kind == "pub"
                   else serialization.load_pem_private_key(pem.encode(), None))
            kc = self._key_curve(key)
            if curve is not None and curve != kc:
                raise ValueError("bundle: object 0x%08X: the key is on %s, the entry says %s"
                                 % (oid, CURVE_NAMES.get(kc), CURVE_NAMES.get(curve)))
            curve = kc
        elif raw is None:
            raise ValueError("bundle: object 0x%08X has no key or data" % oid)
        elif curve is None:
            raise ValueError("bundle: object 0x%08X: a raw key needs its curve" % oid)
        if curve in WEIERSTRASS_IDS and curve not in self.curves and self.applet[0] == 3:
            self.create_curve(curve)    # the factory creates the curve first
        try:
            self._curve_usable(curve)
            if key is None:
                key = (_load_pub if kind == "pub" else _load_priv)(curve, bytes.fromhex(raw))
        except ApduError as err:
            raise ValueError("bundle: object 0x%08X: %s" % (oid, err))
        self.objects[oid] = SecureObject(kind, curve, key, policy=policy, transient=transient)
        return oid

    @staticmethod
    def _key_curve(key):
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
            return ED25519
        if isinstance(key, (x25519.X25519PrivateKey, x25519.X25519PublicKey)):
            return X25519
        if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
            for cid, cls in _EC.items():
                if key.curve.name == cls.name:
                    return cid
        raise ValueError("bundle: the SE050 has no %s keys (Ed448 is on no SE05x)"
                         % type(key).__name__)

    @staticmethod
    def _bundle_policy(p):
        def rules(v):
            if isinstance(v, int):
                return v
            if isinstance(v, str):
                return int(v, 0)
            mask = 0
            for name in v:
                if name.lower() not in RULES:
                    raise ValueError("bundle: unknown policy rule %r" % name)
                mask |= RULES[name.lower()]
            return mask
        if p is None:
            return None
        if isinstance(p, list) and p and isinstance(p[0], dict):
            return [(int(x.get("auth_id", 0)), rules(x["rules"])) for x in p]
        return [(0, rules(p))]
