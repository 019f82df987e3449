"""NXP SE050 secure element: ISO 7816-4 APDUs to the IoT applet, over T=1/I2C.

    se = Se050(i2c, sleep_ms)                   # machine.I2C at 0x48, time.sleep_ms
    se.open()                                   # soft reset (ATR) + SELECT -> (3, 1, 0)
    se.ensure_curve(NIST_P521)                  # applet 3.x: create + load P-521 once
    se.generate_key(KEY_ID, NIST_P521, policy(ALLOW_SIGN | ALLOW_READ | ALLOW_KA))
    pub = se.read_public_key(KEY_ID)            # 04 || X || Y (133 bytes for P-521)
    der = se.sign_sha512(KEY_ID, digest64)      # ECDSA-SHA512: DER signature
    ok = se.verify_sha512(KEY_ID, digest64, der)
    z = se.ecdh(KEY_ID, peer_point)             # shared secret (x coordinate)
    h = se.sha512(data)                         # one shot, or in chunks when long
    r = se.random(32)

After select(), a soft reset of the T=1 interface (a failed resync falls
back to one; it may deselect the applet) makes the driver SELECT again
before the next command, or after a command that got 6D00 from it.

Every method returns bytes (or bool) and raises Se050Error on a refusal
(e.sw is the status word: 6985 conditions not satisfied, e.g. reading a
private key; 6986 not allowed by the object's policy; 6A80 wrong data) or
T1Error (a Se050Error with sw None) when the chip cannot be talked to.  A
wrong argument (digest length, payload too big) is a ValueError.

The private keys stay in the chip: the firmware only names them by object
ID.  write_private_key() exists for provisioning (a factory step, not the
charging firmware); it wipes its buffers after the command.

APDU form: short (Lc 1 byte, Le 00) when the data fits 255 bytes, else
extended (00 Lc Lc data 00 00); ReadObject always asks with an extended Le
(as NXP's middleware).  The largest command payload is 892 bytes.  TLVs:
1-byte tag, length in 1 byte (< 0x80), 81 xx or 82 xx xx; object IDs are
4 bytes big-endian.  Codes as NXP's plug-and-trust se05x_enums.h.

One command buffer of 7 + 892 + 2 bytes is allocated up front, next to
the T=1 layer's frames and response buffer.
"""
from ..compat import const

from .se050t1 import ADDR, T1, T1Error, Se050Error  # noqa: F401 (re-exported)

CLA = const(0x80)
INS_WRITE = const(0x01)
INS_READ = const(0x02)
INS_CRYPTO = const(0x03)
INS_MGMT = const(0x04)
INS_TRANSIENT = const(0x80)

P1_DEFAULT = const(0x00)
P1_EC = const(0x01)
P1_BINARY = const(0x06)
P1_CURVE = const(0x0B)
P1_SIGNATURE = const(0x0C)
P1_CRYPTO_OBJ = const(0x10)
P1_KEY_PAIR = const(0x60)
P1_PRIVATE = const(0x40)
P1_PUBLIC = const(0x20)

P2_DEFAULT = const(0x00)
P2_CREATE = const(0x04)
P2_SIZE = const(0x07)
P2_SIGN = const(0x09)
P2_VERIFY = const(0x0A)
P2_INIT = const(0x0B)
P2_UPDATE = const(0x0C)
P2_FINAL = const(0x0D)
P2_ONESHOT = const(0x0E)
P2_DH = const(0x0F)
P2_VERSION = const(0x20)
P2_LIST = const(0x25)
P2_EXIST = const(0x27)
P2_DELETE_OBJECT = const(0x28)
P2_PARAM = const(0x40)
P2_RANDOM = const(0x49)

TAG_POLICY = const(0x11)
TAG_1 = const(0x41)
TAG_2 = const(0x42)
TAG_3 = const(0x43)
TAG_4 = const(0x44)
TAG_5 = const(0x45)

# curve IDs (there is none for Ed448: no SE05x has it)
NIST_P256 = const(0x03)
NIST_P384 = const(0x04)
NIST_P521 = const(0x05)
ED25519 = const(0x40)
X25519 = const(0x41)

# ECDSA on a digest computed by the host; EdDSA (Ed25519 only) on the message
ECDSA_SHA256 = const(0x21)
ECDSA_SHA384 = const(0x22)
ECDSA_SHA512 = const(0x26)
EDDSA_ED25519 = const(0xA3)

DIGEST_SHA256 = const(0x04)
DIGEST_SHA384 = const(0x05)
DIGEST_SHA512 = const(0x06)
_DIGEST_LEN = {DIGEST_SHA256: 32, DIGEST_SHA384: 48, DIGEST_SHA512: 64}

# SetECCurveParam parameter IDs, in the order se050curves.PARAMS holds them
PARAM_A = const(0x01)
PARAM_B = const(0x02)
PARAM_G = const(0x04)
PARAM_N = const(0x08)
PARAM_PRIME = const(0x10)
_PARAM_IDS = (PARAM_A, PARAM_B, PARAM_G, PARAM_N, PARAM_PRIME)

# policy access rules (the 4-byte header of a policy entry)
FORBID_ALL = const(0x20000000)
ALLOW_SIGN = const(0x10000000)
ALLOW_VERIFY = const(0x08000000)
ALLOW_KA = const(0x04000000)
ALLOW_ENC = const(0x02000000)
ALLOW_DEC = const(0x01000000)
ALLOW_READ = const(0x00200000)
ALLOW_WRITE = const(0x00100000)
ALLOW_GEN = const(0x00080000)
ALLOW_DELETE = const(0x00040000)

CURVE_NOT_SET = const(0x01)
CURVE_SET = const(0x02)
RESULT_SUCCESS = const(0x01)
RESULT_FAILURE = const(0x02)

SW_OK = const(0x9000)
SW_CONDITIONS = const(0x6985)
SW_SECURITY = const(0x6982)
SW_WRONG_DATA = const(0x6A80)
SW_DENIED_POLICY = const(0x6986)
SW_INS = const(0x6D00)

AID = b"\xa0\x00\x00\x03\x96\x54\x53\x00\x00\x00\x01\x03\x00\x00\x00\x00"
SELECT_APDU = b"\x00\xa4\x04\x00\x10" + AID + b"\x00"
MAX_PAYLOAD = const(892)
_DATA = const(7)                 # payload offset in the command buffer
DIGEST_CRYPTO_ID = const(0x5A06)  # the crypto object a chunked digest uses
_CHUNK = const(800)


def policy(rules, auth_id=0):
    """One policy entry: length 8, authentication object ID, access rules.
    Concatenate entries for several authentication objects."""
    return bytes((8, (auth_id >> 24) & 0xFF, (auth_id >> 16) & 0xFF, (auth_id >> 8) & 0xFF,
                  auth_id & 0xFF, (rules >> 24) & 0xFF, (rules >> 16) & 0xFF,
                  (rules >> 8) & 0xFF, rules & 0xFF))


def tlv_find(buf, n, tag):
    """(offset, length) of the value of the first TLV `tag` in buf[0:n];
    raises Se050Error if absent or malformed."""
    i = 0
    while i + 2 <= n:
        t = buf[i]
        ln = buf[i + 1]
        i += 2
        if ln == 0x81:
            if i + 1 > n:
                break
            ln = buf[i]
            i += 1
        elif ln == 0x82:
            if i + 2 > n:
                break
            ln = (buf[i] << 8) | buf[i + 1]
            i += 2
        elif ln > 0x7F:
            break
        if i + ln > n:
            break
        if t == tag:
            return i, ln
        i += ln
    raise Se050Error("SE050 response lacks TLV 0x%02x" % tag)


class Se050:
    def __init__(self, bus, sleep_ms, addr=ADDR, t1=None):
        self.t1 = t1 if t1 is not None else T1(bus, sleep_ms, addr)
        self._cmd = bytearray(_DATA + MAX_PAYLOAD + 2)
        self._mv = memoryview(self._cmd)
        self._n = _DATA
        self.version = None            # (major, minor, patch) after select()
        self.applet_config = 0
        self._resets = 0               # the T=1 soft resets seen at the last SELECT

    # -- APDU building ----------------------------------------------------------

    def _begin(self):
        self._n = _DATA

    def _put(self, b):
        if self._n >= _DATA + MAX_PAYLOAD:
            raise ValueError("SE050 APDU payload over 892 bytes")
        self._cmd[self._n] = b
        self._n += 1

    def _tlv(self, tag, value, n=None):
        if n is None:
            n = len(value)
        if self._n + n + 4 > _DATA + MAX_PAYLOAD:
            raise ValueError("SE050 APDU payload over 892 bytes")
        self._put(tag)
        if n >= 0x100:
            self._put(0x82)
            self._put(n >> 8)
        elif n >= 0x80:
            self._put(0x81)
        self._put(n & 0xFF)
        self._cmd[self._n:self._n + n] = value[0:n]
        self._n += n

    def _tlv_int(self, tag, v, size):
        self._put(tag)
        self._put(size)
        for shift in range(8 * (size - 1), -8, -8):
            self._put((v >> shift) & 0xFF)

    def _send(self, what, ins, p1, p2, le=True, ext=False, cla=CLA, redo=True):
        """Sends the APDU built since _begin(); returns the response data
        (memoryview, without SW) or raises Se050Error with the SW."""
        c = self._cmd
        ln = self._n - _DATA
        if ln == 0 or (ln <= 0xFF and not ext):
            s = 2
            c[6] = ln
            end = _DATA + ln
            if ln == 0:
                end = 6             # case 1 / 2: no Lc
        else:
            s = 0
            c[4] = 0
            c[5] = ln >> 8
            c[6] = ln & 0xFF
            end = _DATA + ln
            if le:
                c[end] = 0
                end += 1
        if le:
            c[end] = 0
            end += 1
        c[s] = cla
        c[s + 1] = ins
        c[s + 2] = p1
        c[s + 3] = p2
        t1 = self.t1
        if self.version is not None and t1.stats["soft_resets"] != self._resets:
            self._reselect()
        rsp = t1.transceive(self._mv[s:end], end - s, redo)
        n = len(rsp)
        sw = (rsp[n - 2] << 8) | rsp[n - 1]
        if sw == SW_INS and self.version is not None and t1.stats["soft_resets"] != self._resets:
            # the link fell back to a soft reset inside this exchange: select, once more
            self._reselect()
            rsp = t1.transceive(self._mv[s:end], end - s, redo)
            n = len(rsp)
            sw = (rsp[n - 2] << 8) | rsp[n - 1]
        if sw != SW_OK:
            raise Se050Error("SE050 %s: SW %04X" % (what, sw), sw)
        return rsp[0:n - 2]

    def _reselect(self):
        # The interface was soft-reset under us (a failed resync falls back to
        # it); the applet may be deselected: SELECT again (own buffer: the
        # command buffer holds the APDU being sent).
        self._resets = self.t1.stats["soft_resets"]
        rsp = self.t1.transceive(SELECT_APDU)
        n = len(rsp)
        if (rsp[n - 2] << 8) | rsp[n - 1] != SW_OK:
            raise Se050Error("SE050 SELECT after a reset: SW %02X%02X" % (rsp[n - 2], rsp[n - 1]),
                             (rsp[n - 2] << 8) | rsp[n - 1])

    def _get(self, rsp, tag=TAG_1):
        i, ln = tlv_find(rsp, len(rsp), tag)
        return rsp[i:i + ln]

    def _obj(self, obj_id):
        self._tlv_int(TAG_1, obj_id, 4)

    # -- session ------------------------------------------------------------------

    def open(self):
        """Interface soft reset (the ATR is in self.t1.atr), then SELECT."""
        self.t1.soft_reset()
        return self.select()

    def select(self):
        """Selects the IoT applet; returns its version (major, minor, patch)."""
        self._begin()
        self._cmd[self._n:self._n + len(AID)] = AID
        self._n += len(AID)
        self.version = None
        self._resets = self.t1.stats["soft_resets"]
        rsp = self._send("SELECT", 0xA4, 0x04, 0x00, cla=0x00)
        if len(rsp) < 3:
            raise Se050Error("SE050 SELECT: short version")
        self.version = (rsp[0], rsp[1], rsp[2])
        self.applet_config = (rsp[3] << 8) | rsp[4] if len(rsp) >= 5 else 0
        return self.version

    def get_version(self):
        """GetVersion: 7 bytes (major, minor, patch, applet config, secure box)."""
        self._begin()
        return bytes(self._get(self._send("GetVersion", INS_MGMT, P1_DEFAULT, P2_VERSION)))

    # -- curves ---------------------------------------------------------------------

    def curve_list(self):
        """ReadECCurveList: one byte per curve ID from 1 (CURVE_SET or CURVE_NOT_SET)."""
        self._begin()
        return bytes(self._get(self._send("ReadECCurveList", INS_READ, P1_CURVE, P2_LIST)))

    def create_curve(self, curve):
        """CreateECCurve and SetECCurveParam A, B, G, N, prime (se050curves)."""
        from .se050curves import PARAMS
        params = PARAMS.get(curve)
        if params is None:
            raise ValueError("no parameters for curve 0x%02x" % curve)
        self._begin()
        self._tlv_int(TAG_1, curve, 1)
        self._send("CreateECCurve", INS_WRITE, P1_CURVE, P2_CREATE, le=False, redo=False)
        for pid, value in zip(_PARAM_IDS, params):
            self._begin()
            self._tlv_int(TAG_1, curve, 1)
            self._tlv_int(TAG_2, pid, 1)
            self._tlv(TAG_3, value)
            self._send("SetECCurveParam", INS_WRITE, P1_CURVE, P2_PARAM, le=False)

    def ensure_curve(self, curve):
        """Creates a Weierstrass curve unless the chip has it (applet 3.x
        needs this once before keys on the curve can exist).  True if it
        was created now."""
        if curve >= 0x40:
            return False                # Edwards/Montgomery curves are built in
        states = self.curve_list()
        if curve <= len(states) and states[curve - 1] == CURVE_SET:
            return False
        self.create_curve(curve)
        return True

    # -- keys and objects -----------------------------------------------------------

    def exists(self, obj_id):
        self._begin()
        self._obj(obj_id)
        r = self._get(self._send("CheckObjectExists", INS_MGMT, P1_DEFAULT, P2_EXIST))
        return len(r) == 1 and r[0] == RESULT_SUCCESS

    def generate_key(self, obj_id, curve=NIST_P521, policy=None, transient=False):
        """A key pair generated inside the chip (WriteECKey without key
        values).  An existing object is regenerated (its curve tag left out,
        as NXP's middleware does)."""
        fresh = not self.exists(obj_id)
        self._begin()
        if policy is not None:
            self._tlv(TAG_POLICY, policy)
        self._obj(obj_id)
        if fresh:
            self._tlv_int(TAG_2, curve, 1)
        self._send("GenerateKey", INS_WRITE | (INS_TRANSIENT if transient else 0),
                   P1_EC | P1_KEY_PAIR, P2_DEFAULT, le=False)

    def write_public_key(self, obj_id, curve, point, policy=None, transient=False):
        """A public key object (uncompressed point; Ed25519/X25519 byte-reversed)."""
        self._begin()
        if policy is not None:
            self._tlv(TAG_POLICY, policy)
        self._obj(obj_id)
        self._tlv_int(TAG_2, curve, 1)
        self._tlv(TAG_4, point)
        self._send("WriteECKey", INS_WRITE | (INS_TRANSIENT if transient else 0),
                   P1_EC | P1_PUBLIC, P2_DEFAULT, le=False)

    def write_private_key(self, obj_id, curve, scalar, point=None, policy=None):
        """Provisioning only: a key from outside (private scalar, big-endian,
        field size), stored as a key pair with its public point, or as a
        private key alone without it.  The charging firmware never calls
        this; the buffers that held the scalar are zeroed after."""
        try:
            self._begin()
            if policy is not None:
                self._tlv(TAG_POLICY, policy)
            self._obj(obj_id)
            self._tlv_int(TAG_2, curve, 1)
            self._tlv(TAG_3, scalar)
            if point is not None:
                self._tlv(TAG_4, point)
            self._send("WriteECKey", INS_WRITE,
                       P1_EC | (P1_KEY_PAIR if point is not None else P1_PRIVATE), P2_DEFAULT,
                       le=False)
        finally:
            self.wipe()

    def wipe(self):
        """Zeroes the command buffer and the T=1 frame buffers."""
        c = self._cmd
        for i in range(len(c)):
            c[i] = 0
        self.t1.wipe()

    def write_binary(self, obj_id, data, policy=None):
        """A binary file (a certificate, say), written in chunks that fit an APDU."""
        total = len(data)
        mv = memoryview(data)
        off = 0
        while True:
            k = total - off
            if k > _CHUNK:
                k = _CHUNK
            self._begin()
            if off == 0 and policy is not None:
                self._tlv(TAG_POLICY, policy)
            self._obj(obj_id)
            self._tlv_int(TAG_2, off, 2)
            if off == 0:
                self._tlv_int(TAG_3, total, 2)
            self._tlv(TAG_4, mv[off:off + k])
            self._send("WriteBinary", INS_WRITE, P1_BINARY, P2_DEFAULT, le=False)
            off += k
            if off >= total:
                return

    def read_object(self, obj_id, offset=None, length=None):
        """ReadObject: a public key (of a key pair too) or binary data.  A
        private key cannot be read: Se050Error with sw 0x6985."""
        self._begin()
        self._obj(obj_id)
        if offset is not None:
            self._tlv_int(TAG_2, offset, 2)
        if length is not None:
            self._tlv_int(TAG_3, length, 2)
        return bytes(self._get(self._send("ReadObject", INS_READ, P1_DEFAULT, P2_DEFAULT,
                                          ext=True)))

    def read_size(self, obj_id):
        """ReadSize: a file's length, a key's size in bytes."""
        self._begin()
        self._obj(obj_id)
        r = self._get(self._send("ReadSize", INS_READ, P1_DEFAULT, P2_SIZE))
        if len(r) != 2:
            raise Se050Error("SE050 ReadSize: bad size")
        return (r[0] << 8) | r[1]

    def read_binary(self, obj_id):
        """A whole binary file (a certificate, say), read in parts that fit
        the response buffer."""
        size = self.read_size(obj_id)
        out = bytearray(size)
        off = 0
        while off < size:
            k = size - off
            if k > _CHUNK:
                k = _CHUNK
            part = self.read_object(obj_id, off, k)
            if len(part) != k:
                raise Se050Error("SE050 ReadObject: %d bytes for %d" % (len(part), k))
            out[off:off + k] = part
            off += k
        return bytes(out)

    def read_public_key(self, obj_id):
        return self.read_object(obj_id)

    def delete(self, obj_id):
        self._begin()
        self._obj(obj_id)
        self._send("DeleteSecureObject", INS_MGMT, P1_DEFAULT, P2_DELETE_OBJECT, le=False,
                   redo=False)

    # -- crypto --------------------------------------------------------------------

    def sign(self, obj_id, algo, data):
        """ECDSASign (algo ECDSA_*: data is the digest, its length must fit
        the algorithm) or EdDSASign (EDDSA_ED25519: the message).  ECDSA
        returns a DER signature."""
        self._begin()
        self._obj(obj_id)
        self._tlv_int(TAG_2, algo, 1)
        self._tlv(TAG_3, data)
        return bytes(self._get(self._send("Sign", INS_CRYPTO, P1_SIGNATURE, P2_SIGN)))

    def sign_sha512(self, obj_id, digest):
        """ECDSA over a SHA-512 digest (64 bytes): the -20 signature on
        secp521r1 (XML signatures, TLS 1.3 ecdsa_secp521r1_sha512).  DER."""
        if len(digest) != 64:
            raise ValueError("SHA-512 digest must be 64 bytes")
        return self.sign(obj_id, ECDSA_SHA512, digest)

    def verify(self, obj_id, algo, data, signature):
        """ECDSAVerify / EdDSAVerify with the object's public key: True or False."""
        self._begin()
        self._obj(obj_id)
        self._tlv_int(TAG_2, algo, 1)
        self._tlv(TAG_3, data)
        self._tlv(TAG_5, signature)
        r = self._get(self._send("Verify", INS_CRYPTO, P1_SIGNATURE, P2_VERIFY))
        if len(r) != 1 or r[0] not in (RESULT_SUCCESS, RESULT_FAILURE):
            raise Se050Error("SE050 Verify: bad result")
        return r[0] == RESULT_SUCCESS

    def verify_sha512(self, obj_id, digest, signature):
        if len(digest) != 64:
            raise ValueError("SHA-512 digest must be 64 bytes")
        return self.verify(obj_id, ECDSA_SHA512, digest, signature)

    def ecdh(self, obj_id, peer_point):
        """ECDHGenerateSharedSecret with the object's private key and the
        peer's public point (uncompressed): the shared x coordinate."""
        self._begin()
        self._obj(obj_id)
        self._tlv(TAG_2, peer_point)
        return bytes(self._get(self._send("ECDH", INS_CRYPTO, P1_EC, P2_DH)))

    def digest(self, mode, data):
        """Hash of data in the chip: one DigestOneShot when it fits an APDU,
        else a digest crypto object fed in chunks (Init/Update/Final)."""
        size = _DIGEST_LEN.get(mode)
        if size is None:
            raise ValueError("digest mode 0x%02x" % mode)
        n = len(data)
        mv = memoryview(data)
        if n <= MAX_PAYLOAD - 8:
            self._begin()
            self._tlv_int(TAG_1, mode, 1)
            self._tlv(TAG_2, mv, n)
            return bytes(self._get(self._send("DigestOneShot", INS_CRYPTO, P1_DEFAULT,
                                              P2_ONESHOT)))
        self._crypto_object(mode)
        try:
            self._begin()
            self._tlv_int(TAG_2, DIGEST_CRYPTO_ID, 2)
            self._send("DigestInit", INS_CRYPTO, P1_DEFAULT, P2_INIT, le=False, redo=False)
            off = 0
            while n - off > _CHUNK:
                self._begin()
                self._tlv_int(TAG_2, DIGEST_CRYPTO_ID, 2)
                self._tlv(TAG_3, mv[off:off + _CHUNK])
                self._send("DigestUpdate", INS_CRYPTO, P1_DEFAULT, P2_UPDATE, le=False,
                           redo=False)
                off += _CHUNK
            self._begin()
            self._tlv_int(TAG_2, DIGEST_CRYPTO_ID, 2)
            self._tlv(TAG_3, mv[off:n])
            h = bytes(self._get(self._send("DigestFinal", INS_CRYPTO, P1_DEFAULT, P2_FINAL,
                                           redo=False)))
        finally:
            self._delete_crypto_object()
        if len(h) != size:
            raise Se050Error("SE050 digest: %d bytes" % len(h))
        return h

    def sha512(self, data):
        return self.digest(DIGEST_SHA512, data)

    def _crypto_object(self, mode):
        for attempt in range(2):
            self._begin()
            self._tlv_int(TAG_1, DIGEST_CRYPTO_ID, 2)
            self._tlv_int(TAG_2, 0x01, 1)          # crypto context: digest
            self._tlv_int(TAG_3, mode, 1)
            try:
                self._send("CreateCryptoObject", INS_WRITE, P1_CRYPTO_OBJ, P2_DEFAULT, le=False,
                           redo=False)
                return
            except Se050Error as e:
                if attempt or e.sw is None:
                    raise
            self._delete_crypto_object()           # left over from an aborted digest

    def _delete_crypto_object(self):
        self._begin()
        self._tlv_int(TAG_1, DIGEST_CRYPTO_ID, 2)
        try:
            self._send("DeleteCryptoObject", INS_MGMT, P1_CRYPTO_OBJ, P2_DELETE_OBJECT,
                       le=False, redo=False)
        except Se050Error:
            pass

    def random(self, n):
        """n random bytes from the chip's generator (GetRandom in requests
        of up to 253 bytes: the answer, TLV included, fits a short Le)."""
        out = bytearray(n)
        off = 0
        while off < n:
            k = n - off
            if k > 253:
                k = 253
            self._begin()
            self._tlv_int(TAG_1, k, 2)
            r = self._get(self._send("GetRandom", INS_MGMT, P1_DEFAULT, P2_RANDOM))
            if len(r) != k:
                raise Se050Error("SE050 GetRandom: %d bytes for %d" % (len(r), k))
            out[off:off + k] = r
            off += k
        return bytes(out)
