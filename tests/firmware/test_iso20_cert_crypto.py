# CertificateInstallation's crypto in the firmware (also under MicroPython): the AES-256-GCM and
# DER helpers of iso20/evcc (vectors computed with `cryptography` and pinned here) and the key
# unwrap of evcc/contract_key.py with a fake crypto seam (InstallCrypto, also used by
# test_iso20_cert_secc.py and test_iso20_cert_install.py).  The real P-521, the SE050 model and the
# CPS are tests/test_cert_install.py (CPython).
from micro15118.iso20.evcc import aesgcm, contract_key, der

from test_iso20_pnc import FakeCrypto

PCID = "M15PCID0000000001"


# --- a synthetic certificate (the fields der.py reads) ----------------------------------------------

def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + ln + body


ECDSA_SHA512 = tlv(0x30, tlv(0x06, b"\x2a\x86\x48\xce\x3d\x04\x03\x04"))


def certificate(cn, point, ski, cn_tag=0x0C):
    name = tlv(0x30, tlv(0x31, tlv(0x30, tlv(0x06, b"\x55\x04\x0a") + tlv(0x0C, b"micro15118")))
               + tlv(0x31, tlv(0x30, tlv(0x06, der.OID_CN) + tlv(cn_tag, cn))))
    spki = tlv(0x30, tlv(0x30, tlv(0x06, der.OID_EC_PUBLIC_KEY) + tlv(0x06, der.OID_P521))
               + tlv(0x03, b"\x00" + point))
    bc = tlv(0x30, tlv(0x06, b"\x55\x1d\x13") + tlv(0x01, b"\xff") + tlv(0x04, tlv(0x30, b"")))
    ext = tlv(0xA3, tlv(0x30, bc + tlv(0x30, tlv(0x06, der.OID_SKI) + tlv(0x04, tlv(0x04, ski)))))
    tbs = tlv(0x30, tlv(0xA0, tlv(0x02, b"\x02")) + tlv(0x02, b"\x15\x11\x80") + ECDSA_SHA512 + name
              + tlv(0x30, b"") + name + spki + ext)
    return tlv(0x30, tbs + ECDSA_SHA512 + tlv(0x03, b"\x00\x30\x00"))


POINT = b"\x04" + bytes((i * 5 + 1) & 0xFF for i in range(132))
SKI = bytes(range(0xA0, 0xB4))
CONTRACT = certificate(b"DEM15C12345678J", POINT, SKI)
OEM_LEAF = certificate(PCID.encode(), b"\x04" + bytes(132), b"\x01" * 20)
SCALAR = b"\x01" + bytes((i * 7 + 3) & 0xFF for i in range(65))


def test_der_fields():
    f = der.fields(CONTRACT)
    assert f == {"cn": "DEM15C12345678J", "ski": SKI, "point": POINT, "curve": der.OID_P521}, f
    assert der.fields(OEM_LEAF)["cn"] == PCID
    bmp = certificate(b"".join(b"\x00" + bytes([c]) for c in b"PCID1"), POINT, SKI, cn_tag=0x1E)
    assert der.fields(bmp)["cn"] == "PCID1"
    for bad in (b"", CONTRACT[:-1], CONTRACT[:100], b"\x31" + CONTRACT[1:], b"\x30\x84\x00\x00\x00\x01\x00"):
        try:
            der.fields(bad)
        except ValueError:
            continue
        raise AssertionError(bad[:8])


# --- AES-256-GCM ----------------------------------------------------------------------------------

KEY = bytes(range(0x20, 0x40))
IV = bytes(range(0xA0, 0xAC))
PT = b"\x01" + bytes((i * 7 + 3) & 0xFF for i in range(65))
AAD = b"M15PCID0000000001" + b"0123456789ABCDEF0123456789ABCDEF01234567"
# AESGCM(KEY).encrypt(IV, PT, AAD) and .encrypt(IV, b"", b"x" * 20) with `cryptography`
CT_TAG = bytes.fromhex(
    "7f3fae25dcc8a6879513eff3760a28c3fd0cbb86b43bb0bfab39794013a1612dc3b6d745fe56c577def9f1c47e41a3bb"
    "3a00214d9feac612f5e50af52f615377e4a41bc02a16f280df3eebc1b75afe3d47a2")
EMPTY_TAG = bytes.fromhex("e040e2fec9ce08c534b3d485b45f5f45")


def test_aes_gcm_matches_cryptography():
    out = bytearray(66)
    tag = aesgcm.encrypt(KEY, IV, PT, AAD, out)
    assert bytes(out) + tag == CT_TAG
    assert aesgcm.encrypt(KEY, IV, b"", b"x" * 20, bytearray(0)) == EMPTY_TAG
    back = bytearray(66)
    assert aesgcm.decrypt(KEY, IV, CT_TAG[:66], AAD, CT_TAG[66:], back) and bytes(back) == PT


def test_aes_gcm_refuses_every_change_and_gives_no_plaintext():
    for i in range(0, 82, 9):
        bad = bytearray(CT_TAG)
        bad[i] ^= 0x40
        out = bytearray(66)
        assert not aesgcm.decrypt(KEY, IV, bytes(bad[:66]), AAD, bytes(bad[66:]), out)
        assert out == bytearray(66)
    out = bytearray(66)
    assert not aesgcm.decrypt(KEY, IV, CT_TAG[:66], AAD[:-1], CT_TAG[66:], out)
    assert not aesgcm.decrypt(KEY, b"\x00" * 12, CT_TAG[:66], AAD, CT_TAG[66:], out)
    assert not aesgcm.decrypt(bytes(32), IV, CT_TAG[:66], AAD, CT_TAG[66:], out)
    assert out == bytearray(66)
    for args in ((KEY[:16], IV), (KEY, IV[:8])):
        try:
            aesgcm.decrypt(args[0], args[1], CT_TAG[:66], AAD, CT_TAG[66:], out)
        except ValueError:
            continue
        raise AssertionError(args)


# --- the key unwrap with a fake seam ----------------------------------------------------------------

class InstallCrypto(FakeCrypto):
    """FakeCrypto with the installation primitives: ECDH "agrees" z from the
    peer's point alone (so a scripted CPS can make the same z), SHA-512 is
    FakeCrypto's mix, the chip is a dict."""

    def __init__(self, probe_ok=True):
        FakeCrypto.__init__(self)
        self.objects = {}           # ref -> ("key", scalar, point) | ("cert", der)
        self.wipes = 0
        self.probe_ok = probe_ok
        self.fail_write = None

    def ecdh_into(self, key_ref, peer_point, out):
        z = fake_z(peer_point)
        for i in range(66):
            out[i] = z[i]
        return 66

    def sha512_into(self, data, out):
        h = self.sha512(bytes(data))
        for i in range(64):
            out[i] = h[i]

    def import_private_key(self, key_ref, scalar, point):
        self.objects[key_ref] = ("key", bytes(scalar), bytes(point))

    def write_certificate(self, ref, der_):
        if self.fail_write == ref:
            raise OSError("SE050 full")
        self.objects[ref] = ("cert", bytes(der_))

    def verify_sha512(self, key_ref, digest, der_):
        return self.probe_ok

    def delete(self, ref):
        self.objects.pop(ref, None)

    def wipe(self):
        self.wipes += 1

    def read_certificate(self, ref):
        if ref in self.objects:
            return self.objects[ref][1]
        return FakeCrypto.read_certificate(self, ref)


def fake_z(point):
    h = FakeCrypto().sha512(bytes(point))
    return h + h[:2]


def wrap(scalar=SCALAR, dh=POINT, pcid=PCID, ski=SKI, iv=IV):
    """What a CPS would send for the fake seam: (DHPublicKey, wrapped key)."""
    k = bytearray(32)
    contract_key.session_key(InstallCrypto(), fake_z(dh), 66, k)
    out = bytearray(66)
    tag = aesgcm.encrypt(k, iv, scalar, contract_key.aad(pcid, ski), out)
    return dh, iv + bytes(out) + tag


def unwrap(c, dh, wrapped, aad=None, key_ref=0x15118400):
    contract_key.install(c, 0x15118300, dh, wrapped, aad or contract_key.aad(PCID, SKI), key_ref, POINT)


def refused(fn, *args):
    try:
        fn(*args)
    except ValueError:
        return True
    return False


def test_aad_and_session_key():
    assert contract_key.aad("m15-pcid*0000000001", b"\x0a\xbc") == b"M15PCID00000000010ABC"
    c = InstallCrypto()
    k = bytearray(32)
    contract_key.session_key(c, bytearray(b"\x07" * 66), 66, k)
    assert c.hashed[-1] == b"\x00\x00\x00\x01" + b"\x07" * 66 + b"\x01\x55\x56"
    assert bytes(k) == c.sha512(c.hashed[-1])[:32]


def test_install_imports_the_unwrapped_key_and_wipes():
    c = InstallCrypto()
    dh, w = wrap()
    unwrap(c, dh, w)
    assert c.objects[0x15118400] == ("key", SCALAR, POINT)
    assert c.signed and c.signed[0][0] == 0x15118400 and c.wipes >= 1


def test_install_refuses_and_imports_nothing():
    dh, w = wrap()
    cases = [
        (dh, w[:-1], None),                                         # not 94 bytes
        (b"\x02" + dh[1:], w, None),                                # no uncompressed point
        (dh, w[:20] + bytes([w[20] ^ 1]) + w[21:], None),            # ciphertext changed
        (dh, w[:-1] + bytes([w[-1] ^ 1]), None),                     # tag changed
        (dh, w, contract_key.aad("M15PCID0000000002", SKI)),         # another PCID
        (dh, w, contract_key.aad(PCID, SKI[:-1])),                   # another SKI
        (b"\x04" + bytes(132), w, None),                             # another DH key: another z
        wrap(scalar=b"\x02" + SCALAR[1:])[:2] + (None,),             # 7 leading bits not zero
        wrap(scalar=bytes(66))[:2] + (None,),                        # zero
        wrap(scalar=contract_key.P521_ORDER)[:2] + (None,),          # = n
    ]
    for i, (dh_, w_, aad) in enumerate(cases):
        c = InstallCrypto()
        assert refused(unwrap, c, dh_, w_, aad), (dh_[:2], len(w_))
        # wiped once a secret was made (the first two fail before ECDH)
        assert c.objects == {} and (c.wipes >= 1) == (i >= 2), (i, c.wipes)
    # the probe fails: the imported key is deleted again
    c = InstallCrypto(probe_ok=False)
    assert refused(unwrap, c, dh, w)
    assert c.objects == {}
    # n - 1 is fine
    n1 = bytearray(contract_key.P521_ORDER)
    n1[-1] -= 1
    c = InstallCrypto()
    unwrap(c, *wrap(scalar=bytes(n1)))
    assert c.objects[0x15118400][1] == bytes(n1)
