"""AES-256-GCM for the contract key of CertificateInstallationRes (sans-I/O,
pure Python, no allocation of secret-bearing objects).

ISO 15118-20 wraps the contract private key with AES-GCM-256 (NIST SP
800-38D), a 96-bit IV and a 128-bit tag (evcc/contract_key.py says where
that comes from).  MicroPython's `cryptolib` has AES-ECB but keeps its key
schedule in memory we cannot wipe, and CPython's firmware path has no AES
at all, so the block cipher is here: encryption only (GCM needs no inverse
cipher), on bytearrays the caller can zero.  Every secret-derived value
lives in a bytearray of this module (round keys, state, GHASH key,
keystream) or in a local int; nothing secret is put in a tuple, bytes or
slice, and `decrypt()` zeroes its buffers before it returns.  The tag is
checked before a byte of plaintext is produced (no plaintext at all from a
forged or damaged ciphertext), in constant time over the 16 bytes.

    ok = decrypt(key32, iv12, ciphertext, aad, tag16, out)   # out: bytearray >= len(ct)
    tag = encrypt(key32, iv12, plaintext, aad, out)           # for tests and the host

GHASH multiplies bit by bit (SP 800-38D Algorithm 1) on 16-byte
bytearrays: about 4000 loop steps per block, a few ms per block on an
MCU; an installation decrypts 66 bytes with ~60 bytes of AAD (10 blocks).
"""

_SBOX = (
    b"\x63\x7c\x77\x7b\xf2\x6b\x6f\xc5\x30\x01\x67\x2b\xfe\xd7\xab\x76"
    b"\xca\x82\xc9\x7d\xfa\x59\x47\xf0\xad\xd4\xa2\xaf\x9c\xa4\x72\xc0"
    b"\xb7\xfd\x93\x26\x36\x3f\xf7\xcc\x34\xa5\xe5\xf1\x71\xd8\x31\x15"
    b"\x04\xc7\x23\xc3\x18\x96\x05\x9a\x07\x12\x80\xe2\xeb\x27\xb2\x75"
    b"\x09\x83\x2c\x1a\x1b\x6e\x5a\xa0\x52\x3b\xd6\xb3\x29\xe3\x2f\x84"
    b"\x53\xd1\x00\xed\x20\xfc\xb1\x5b\x6a\xcb\xbe\x39\x4a\x4c\x58\xcf"
    b"\xd0\xef\xaa\xfb\x43\x4d\x33\x85\x45\xf9\x02\x7f\x50\x3c\x9f\xa8"
    b"\x51\xa3\x40\x8f\x92\x9d\x38\xf5\xbc\xb6\xda\x21\x10\xff\xf3\xd2"
    b"\xcd\x0c\x13\xec\x5f\x97\x44\x17\xc4\xa7\x7e\x3d\x64\x5d\x19\x73"
    b"\x60\x81\x4f\xdc\x22\x2a\x90\x88\x46\xee\xb8\x14\xde\x5e\x0b\xdb"
    b"\xe0\x32\x3a\x0a\x49\x06\x24\x5c\xc2\xd3\xac\x62\x91\x95\xe4\x79"
    b"\xe7\xc8\x37\x6d\x8d\xd5\x4e\xa9\x6c\x56\xf4\xea\x65\x7a\xae\x08"
    b"\xba\x78\x25\x2e\x1c\xa6\xb4\xc6\xe8\xdd\x74\x1f\x4b\xbd\x8b\x8a"
    b"\x70\x3e\xb5\x66\x48\x03\xf6\x0e\x61\x35\x57\xb9\x86\xc1\x1d\x9e"
    b"\xe1\xf8\x98\x11\x69\xd9\x8e\x94\x9b\x1e\x87\xe9\xce\x55\x28\xdf"
    b"\x8c\xa1\x89\x0d\xbf\xe6\x42\x68\x41\x99\x2d\x0f\xb0\x54\xbb\x16"
)
_XTIME = (
    b"\x00\x02\x04\x06\x08\x0a\x0c\x0e\x10\x12\x14\x16\x18\x1a\x1c\x1e"
    b"\x20\x22\x24\x26\x28\x2a\x2c\x2e\x30\x32\x34\x36\x38\x3a\x3c\x3e"
    b"\x40\x42\x44\x46\x48\x4a\x4c\x4e\x50\x52\x54\x56\x58\x5a\x5c\x5e"
    b"\x60\x62\x64\x66\x68\x6a\x6c\x6e\x70\x72\x74\x76\x78\x7a\x7c\x7e"
    b"\x80\x82\x84\x86\x88\x8a\x8c\x8e\x90\x92\x94\x96\x98\x9a\x9c\x9e"
    b"\xa0\xa2\xa4\xa6\xa8\xaa\xac\xae\xb0\xb2\xb4\xb6\xb8\xba\xbc\xbe"
    b"\xc0\xc2\xc4\xc6\xc8\xca\xcc\xce\xd0\xd2\xd4\xd6\xd8\xda\xdc\xde"
    b"\xe0\xe2\xe4\xe6\xe8\xea\xec\xee\xf0\xf2\xf4\xf6\xf8\xfa\xfc\xfe"
    b"\x1b\x19\x1f\x1d\x13\x11\x17\x15\x0b\x09\x0f\x0d\x03\x01\x07\x05"
    b"\x3b\x39\x3f\x3d\x33\x31\x37\x35\x2b\x29\x2f\x2d\x23\x21\x27\x25"
    b"\x5b\x59\x5f\x5d\x53\x51\x57\x55\x4b\x49\x4f\x4d\x43\x41\x47\x45"
    b"\x7b\x79\x7f\x7d\x73\x71\x77\x75\x6b\x69\x6f\x6d\x63\x61\x67\x65"
    b"\x9b\x99\x9f\x9d\x93\x91\x97\x95\x8b\x89\x8f\x8d\x83\x81\x87\x85"
    b"\xbb\xb9\xbf\xbd\xb3\xb1\xb7\xb5\xab\xa9\xaf\xad\xa3\xa1\xa7\xa5"
    b"\xdb\xd9\xdf\xdd\xd3\xd1\xd7\xd5\xcb\xc9\xcf\xcd\xc3\xc1\xc7\xc5"
    b"\xfb\xf9\xff\xfd\xf3\xf1\xf7\xf5\xeb\xe9\xef\xed\xe3\xe1\xe7\xe5"
)

_ROUNDS = 14            # AES-256
_RK = 240               # 15 round keys


def _expand(key, w):
    """The AES-256 key schedule of key (32 bytes) into w (bytearray 240)."""
    s = _SBOX
    for i in range(32):
        w[i] = key[i]
    rcon = 1
    i = 32
    while i < _RK:
        t0 = w[i - 4]
        t1 = w[i - 3]
        t2 = w[i - 2]
        t3 = w[i - 1]
        if i % 32 == 0:
            a = t0
            t0 = s[t1] ^ rcon
            t1 = s[t2]
            t2 = s[t3]
            t3 = s[a]
            rcon = _XTIME[rcon]
        elif i % 32 == 16:
            t0 = s[t0]
            t1 = s[t1]
            t2 = s[t2]
            t3 = s[t3]
        w[i] = w[i - 32] ^ t0
        w[i + 1] = w[i - 31] ^ t1
        w[i + 2] = w[i - 30] ^ t2
        w[i + 3] = w[i - 29] ^ t3
        i += 4
    t0 = t1 = t2 = t3 = a = 0


def _sub_shift(st):
    """SubBytes and ShiftRows in place (column-major state)."""
    s = _SBOX
    st[0] = s[st[0]]
    st[4] = s[st[4]]
    st[8] = s[st[8]]
    st[12] = s[st[12]]
    a = st[1]
    st[1] = s[st[5]]
    st[5] = s[st[9]]
    st[9] = s[st[13]]
    st[13] = s[a]
    a = st[2]
    b = st[6]
    st[2] = s[st[10]]
    st[6] = s[st[14]]
    st[10] = s[a]
    st[14] = s[b]
    a = st[15]
    st[15] = s[st[11]]
    st[11] = s[st[7]]
    st[7] = s[st[3]]
    st[3] = s[a]
    a = b = 0


def _mix(st):
    x = _XTIME
    for c in (0, 4, 8, 12):
        a0 = st[c]
        a1 = st[c + 1]
        a2 = st[c + 2]
        a3 = st[c + 3]
        t = a0 ^ a1 ^ a2 ^ a3
        st[c] = a0 ^ t ^ x[a0 ^ a1]
        st[c + 1] = a1 ^ t ^ x[a1 ^ a2]
        st[c + 2] = a2 ^ t ^ x[a2 ^ a3]
        st[c + 3] = a3 ^ t ^ x[a3 ^ a0]
    a0 = a1 = a2 = a3 = t = 0


def _encrypt_block(w, st):
    """One block in place: st (bytearray 16) := AES-256(w, st)."""
    for i in range(16):
        st[i] ^= w[i]
    for r in range(1, _ROUNDS):
        _sub_shift(st)
        _mix(st)
        k = 16 * r
        for i in range(16):
            st[i] ^= w[k + i]
    _sub_shift(st)
    for i in range(16):
        st[i] ^= w[224 + i]


def _gmul(x, h, z, v):
    """x := x * h in GF(2^128) (SP 800-38D 6.3); z, v: 16-byte scratch."""
    for i in range(16):
        z[i] = 0
        v[i] = h[i]
    for i in range(16):
        b = x[i]
        m = 0x80
        while m:
            if b & m:
                for k in range(16):
                    z[k] ^= v[k]
            lsb = v[15] & 1
            k = 15
            while k:
                v[k] = (v[k] >> 1) | ((v[k - 1] & 1) << 7)
                k -= 1
            v[0] >>= 1
            if lsb:
                v[0] ^= 0xE1
            m >>= 1
    for i in range(16):
        x[i] = z[i]
    b = lsb = 0


def _ghash_data(y, h, data, z, v):
    """Absorb data (zero-padded to 16-byte blocks) into the GHASH state y."""
    n = len(data)
    off = 0
    while off < n:
        k = n - off
        if k > 16:
            k = 16
        for i in range(k):
            y[i] ^= data[off + i]
        _gmul(y, h, z, v)
        off += k


def _lengths(y, h, na, nc, z, v):
    """Absorb [len(A)]64 || [len(C)]64 (bits, big-endian)."""
    na *= 8
    nc *= 8
    for i in range(8):
        y[7 - i] ^= (na >> (8 * i)) & 0xFF
        y[15 - i] ^= (nc >> (8 * i)) & 0xFF
    _gmul(y, h, z, v)


def _inc32(cb):
    i = 15
    while i >= 12:
        cb[i] = (cb[i] + 1) & 0xFF
        if cb[i]:
            return
        i -= 1


class _Gcm:
    """Buffers of one GCM operation (all bytearrays: wipe() zeroes them)."""

    def __init__(self, key, iv):
        if len(key) != 32 or len(iv) != 12:
            raise ValueError("AES-256-GCM: 32-byte key and 96-bit IV")
        self.w = bytearray(_RK)
        self.h = bytearray(16)
        self.y = bytearray(16)
        self.cb = bytearray(16)
        self.ks = bytearray(16)
        self.z = bytearray(16)
        self.v = bytearray(16)
        _expand(key, self.w)
        _encrypt_block(self.w, self.h)          # H = E(K, 0^128)
        for i in range(12):
            self.cb[i] = iv[i]
        self.cb[15] = 1                         # J0 = IV || 0^31 || 1

    def tag(self, aad, ct, out):
        """T = E(K, J0) xor GHASH(A, C) into out (16)."""
        y = self.y
        _ghash_data(y, self.h, aad, self.z, self.v)
        _ghash_data(y, self.h, ct, self.z, self.v)
        _lengths(y, self.h, len(aad), len(ct), self.z, self.v)
        ks = self.ks
        for i in range(16):
            ks[i] = self.cb[i]
        _encrypt_block(self.w, ks)
        for i in range(16):
            out[i] = ks[i] ^ y[i]

    def ctr(self, src, dst):
        """dst := GCTR(inc32(J0), src)."""
        cb = self.cb
        ks = self.ks
        n = len(src)
        off = 0
        while off < n:
            _inc32(cb)
            for i in range(16):
                ks[i] = cb[i]
            _encrypt_block(self.w, ks)
            k = n - off
            if k > 16:
                k = 16
            for i in range(k):
                dst[off + i] = src[off + i] ^ ks[i]
            off += k

    def wipe(self):
        for b in (self.w, self.h, self.y, self.cb, self.ks, self.z, self.v):
            for i in range(len(b)):
                b[i] = 0


def decrypt(key, iv, ct, aad, tag, out):
    """AES-256-GCM decryption: True, and out[0:len(ct)] the plaintext, when
    the 16-byte tag verifies; False (out untouched) otherwise."""
    if len(tag) != 16 or len(out) < len(ct):
        raise ValueError("AES-256-GCM: 16-byte tag, output as long as the ciphertext")
    g = _Gcm(key, iv)
    t = bytearray(16)
    try:
        g.tag(aad, ct, t)
        diff = 0
        for i in range(16):
            diff |= t[i] ^ tag[i]
        if diff:
            return False
        g.ctr(ct, out)
        return True
    finally:
        g.wipe()
        for i in range(16):
            t[i] = 0


def encrypt(key, iv, pt, aad, out):
    """AES-256-GCM encryption: out[0:len(pt)] the ciphertext; returns the tag."""
    if len(out) < len(pt):
        raise ValueError("AES-256-GCM: output shorter than the plaintext")
    g = _Gcm(key, iv)
    try:
        # the counter runs from inc32(J0); the tag needs E(K, J0): keep J0
        j0 = bytearray(g.cb)
        g.ctr(pt, out)
        for i in range(16):
            g.cb[i] = j0[i]
        t = bytearray(16)
        g.tag(aad, memoryview(out)[0:len(pt)], t)
        return bytes(t)
    finally:
        g.wipe()
