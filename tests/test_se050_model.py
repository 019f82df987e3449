"""The SE050 driver (micro15118.drivers.se050) against the software model
(host.bench.se050_model): applet semantics, the -20 operations checked with
`cryptography` outside the model, and T=1 recovery on a faulty bus."""
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, ed448, utils
from cryptography import x509
from cryptography.x509.oid import NameOID
import datetime

from micro15118.drivers import se050, se050curves
from micro15118.drivers.se050 import Se050, Se050Error, T1Error

from host.bench import se050_model as model
from host.bench.se050_model import Se050Model
from host.harness.echo_modem import Clock

KEY = 0x10000001
PREHASHED_512 = ec.ECDSA(utils.Prehashed(hashes.SHA512()))


class Rig:
    def __init__(self, **kw):
        self.clock = Clock()
        self.chip = Se050Model(clock=self.clock, **kw)
        self.bus = self.chip
        self.se = Se050(self, self.sleep)

    def sleep(self, ms):
        self.clock.ms += ms

    # the bus: the model, optionally behind a faulty wire
    def writeto(self, addr, buf, stop=True):
        return self.bus.writeto(addr, buf, stop)

    def readfrom_into(self, addr, buf, stop=True):
        return self.bus.readfrom_into(addr, buf, stop)


class FlakyWire:
    """Flips one bit in the chosen reads (chip -> host) and writes (host -> chip)."""

    def __init__(self, chip, reads=(), writes=()):
        self.chip = chip
        self.reads = set(reads)
        self.writes = set(writes)
        self.nread = self.nwrite = 0

    def writeto(self, addr, buf, stop=True):
        self.nwrite += 1
        data = bytearray(buf)
        if self.nwrite in self.writes:
            data[len(data) // 2] ^= 0x10
        return self.chip.writeto(addr, data, stop)

    def readfrom_into(self, addr, buf, stop=True):
        self.chip.readfrom_into(addr, buf, stop)
        self.nread += 1
        if self.nread in self.reads:
            buf[len(buf) - 1] ^= 0x01


@pytest.fixture
def rig():
    r = Rig()
    r.se.open()
    r.se.ensure_curve(se050.NIST_P521)
    return r


def point(pub):
    return pub.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def se_pub(r, obj=KEY):
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(),
                                                        r.se.read_public_key(obj))


# -- parameters ----------------------------------------------------------------

@pytest.mark.parametrize("cid, curve", [(3, ec.SECP256R1()), (4, ec.SECP384R1()),
                                        (5, ec.SECP521R1())])
def test_model_curve_parameters_are_the_real_ones(cid, curve):
    a, b, n, p = model.NIST_PARAMS[cid]
    g = ec.derive_private_key(1, curve).public_key().public_numbers()
    assert a == p - 3
    assert (g.y ** 2 - (g.x ** 3 + a * g.x + b)) % p == 0       # G is on y² = x³ + ax + b
    minus_g = ec.derive_private_key(n - 1, curve).public_key().public_numbers()
    assert (minus_g.x, minus_g.y) == (g.x, p - g.y)              # (n-1)G = -G: n is the order
    with pytest.raises(ValueError):
        ec.derive_private_key(n, curve)                          # and cryptography agrees


def test_firmware_p521_parameters_are_the_models():
    params = model.curve_params(5)
    fw = se050curves.PARAMS[se050.NIST_P521]
    assert [params[pid] for pid in (1, 2, 4, 8, 16)] == list(fw)


def test_crc_example():
    assert model.block(0x5A, 0xCF) == bytes.fromhex("5acf00377f")


# -- session, curves -----------------------------------------------------------------

def test_open_reads_atr_and_selects():
    r = Rig()
    assert r.se.open() == (3, 1, 0)
    assert r.se.t1.atr == model.DEFAULT_ATR
    assert (r.se.t1.bwt_ms, r.se.t1.ifsc, r.se.t1.poll_ms) == (1000, 254, 1)
    assert r.se.applet_config == model.VARIANTS["C"]
    assert r.se.get_version()[:3] == b"\x03\x01\x00"


def test_applet3_needs_the_curve_before_a_key():
    r = Rig()
    r.se.open()
    with pytest.raises(Se050Error) as e:
        r.se.generate_key(KEY, se050.NIST_P521)
    assert e.value.sw == 0x6985
    assert r.se.ensure_curve(se050.NIST_P521) is True
    assert r.se.ensure_curve(se050.NIST_P521) is False        # created once
    assert r.chip.stats["commands"]["SetECCurveParam"] == 5
    r.se.generate_key(KEY, se050.NIST_P521)
    assert len(r.se.read_public_key(KEY)) == 133


def test_wrong_curve_parameter_is_refused():
    r = Rig()
    r.se.open()
    r.se._begin()
    r.se._tlv_int(se050.TAG_1, 5, 1)
    r.se._send("CreateECCurve", 1, 0x0B, 0x04, le=False)
    r.se._begin()
    r.se._tlv_int(se050.TAG_1, 5, 1)
    r.se._tlv_int(se050.TAG_2, se050.PARAM_B, 1)
    r.se._tlv(se050.TAG_3, bytes(66))
    with pytest.raises(Se050Error) as e:
        r.se._send("SetECCurveParam", 1, 0x0B, 0x40, le=False)
    assert e.value.sw == 0x6A80


# -- the -20 operations -------------------------------------------------------------

def test_sign_sha512_verifies_outside_the_model(rig):
    rig.se.generate_key(KEY, se050.NIST_P521)
    digest = hashlib.sha512(b"SignedInfo EXI fragment").digest()
    der = rig.se.sign_sha512(KEY, digest)
    r, s = utils.decode_dss_signature(der)                       # DER, as the chip returns
    assert 0 < r and 0 < s and der[0] == 0x30
    se_pub(rig).verify(der, digest, PREHASHED_512)
    assert rig.se.verify_sha512(KEY, digest, der) is True
    bad = bytearray(digest)
    bad[0] ^= 1
    assert rig.se.verify_sha512(KEY, bytes(bad), der) is False
    assert rig.se.verify_sha512(KEY, digest, b"\x30\x00") is False


def test_sign_needs_a_matching_digest_length(rig):
    rig.se.generate_key(KEY, se050.NIST_P521)
    with pytest.raises(Se050Error) as e:
        rig.se.sign(KEY, se050.ECDSA_SHA512, bytes(32))
    assert e.value.sw == 0x6A80
    der = rig.se.sign(KEY, se050.ECDSA_SHA256, bytes(32))        # another hash is fine
    se_pub(rig).verify(der, bytes(32), ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_public_key_read_private_key_refused(rig):
    host_key = ec.generate_private_key(ec.SECP521R1())
    scalar = host_key.private_numbers().private_value.to_bytes(66, "big")
    rig.se.write_private_key(KEY, se050.NIST_P521, scalar, point(host_key.public_key()))
    assert rig.se.read_public_key(KEY) == point(host_key.public_key())   # pair: public part
    rig.se.write_private_key(KEY + 1, se050.NIST_P521, scalar)          # private key alone
    with pytest.raises(Se050Error) as e:
        rig.se.read_object(KEY + 1)
    assert e.value.sw == 0x6985
    digest = hashlib.sha512(b"x").digest()
    host_key.public_key().verify(rig.se.sign_sha512(KEY + 1, digest), digest, PREHASHED_512)


def test_public_key_object(rig):
    host_key = ec.generate_private_key(ec.SECP521R1())
    rig.se.write_public_key(KEY, se050.NIST_P521, point(host_key.public_key()))
    digest = hashlib.sha512(b"y").digest()
    der = host_key.sign(digest, PREHASHED_512)
    assert rig.se.verify_sha512(KEY, digest, der)
    with pytest.raises(Se050Error) as e:
        rig.se.sign_sha512(KEY, digest)
    assert e.value.sw == 0x6985


def test_ecdh_agrees_with_cryptography(rig):
    rig.se.generate_key(KEY, se050.NIST_P521)
    host_key = ec.generate_private_key(ec.SECP521R1())
    z = rig.se.ecdh(KEY, point(host_key.public_key()))
    assert len(z) == 66
    assert z == host_key.exchange(ec.ECDH(), se_pub(rig))
    with pytest.raises(Se050Error) as e:
        rig.se.ecdh(KEY, b"\x04" + bytes(132))                   # not on the curve
    assert e.value.sw == 0x6A80


def test_unsupported_curves_are_refused(rig):
    for curve in (0x43, 0x42, 0x7F, 0x00):        # X448 (applet 7.2 only), no Ed448 ID, junk
        with pytest.raises(Se050Error) as e:
            rig.se.generate_key(KEY, curve)
        assert e.value.sw == 0x6A80
    assert not rig.se.exists(KEY)


def test_ed448_is_absent():
    assert "ed448" not in model.CURVE_ALIASES and 0x43 not in model._EC
    pem = ed448.Ed448PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    chip = Se050Model()
    with pytest.raises(ValueError, match="Ed448"):
        chip.load_bundle([{"object_id": 1, "private_key_pem": pem}])
    with pytest.raises(ValueError, match="Ed448"):
        chip.load_bundle([{"object_id": 1, "curve": "ed448", "private_key_hex": "00" * 57}])


def test_variant_switches_eddsa():
    a = Rig(variant="A")
    a.se.open()
    for curve in (se050.ED25519, se050.X25519):
        with pytest.raises(Se050Error) as e:
            a.se.generate_key(KEY, curve)
        assert e.value.sw == 0x6A80
    c = Rig(variant="C")
    c.se.open()
    c.se.generate_key(KEY, se050.ED25519)                          # no curve creation needed
    raw = c.se.read_public_key(KEY)
    pub = ed25519.Ed25519PublicKey.from_public_bytes(raw[::-1])   # byte-reversed on the wire
    sig = c.se.sign(KEY, se050.EDDSA_ED25519, b"message")
    pub.verify(sig[:32][::-1] + sig[32:][::-1], b"message")
    assert c.se.verify(KEY, se050.EDDSA_ED25519, b"message", sig)
    with pytest.raises(ValueError):
        Se050Model(variant="B")


def test_digest_one_shot_and_chunked(rig):
    for n in (0, 1, 200, 884, 885, 3000):
        data = bytes(range(256)) * (n // 256 + 1)
        data = data[:n]
        assert rig.se.sha512(data) == hashlib.sha512(data).digest()
    assert rig.chip.stats["commands"]["DigestUpdate"] == 1 + 3     # 885 and 3000 bytes
    assert not rig.chip.crypto_objects                           # deleted after use
    assert rig.se.digest(se050.DIGEST_SHA256, b"abc") == hashlib.sha256(b"abc").digest()


def test_random(rig):
    a, b = rig.se.random(32), rig.se.random(32)
    assert len(a) == 32 and a != b
    assert len(rig.se.random(600)) == 600


def test_delete_and_exists(rig):
    assert not rig.se.exists(KEY)
    rig.se.generate_key(KEY, se050.NIST_P521)
    assert rig.se.exists(KEY)
    rig.se.delete(KEY)
    assert not rig.se.exists(KEY)
    with pytest.raises(Se050Error):
        rig.se.delete(KEY)


def test_policy_is_applied(rig):
    rig.se.generate_key(KEY, se050.NIST_P521, se050.policy(se050.ALLOW_SIGN))
    digest = hashlib.sha512(b"z").digest()
    rig.se.sign_sha512(KEY, digest)
    for call in (lambda: rig.se.read_public_key(KEY),
                 lambda: rig.se.ecdh(KEY, b"\x04" + bytes(132)),
                 lambda: rig.se.verify_sha512(KEY, digest, b"\x30\x00"),
                 lambda: rig.se.delete(KEY)):
        with pytest.raises(Se050Error) as e:
            call()
        assert e.value.sw == 0x6986
    rig.se.generate_key(KEY + 1, se050.NIST_P521, se050.policy(se050.FORBID_ALL | se050.ALLOW_SIGN))
    with pytest.raises(Se050Error):
        rig.se.sign_sha512(KEY + 1, digest)


def test_regenerate_changes_the_key(rig):
    rig.se.generate_key(KEY, se050.NIST_P521)
    first = rig.se.read_public_key(KEY)
    rig.se.generate_key(KEY, se050.NIST_P521)
    assert rig.se.read_public_key(KEY) != first


def test_binary_file_longer_than_an_apdu(rig):
    data = bytes(range(256)) * 6
    rig.se.write_binary(0x20000001, data)
    assert rig.se.read_object(0x20000001, 0, 800) == data[:800]    # a chained response
    assert rig.se.read_object(0x20000001, 1000, 200) == data[1000:1200]
    assert rig.se.read_binary(0x20000001) == data                   # in parts
    with pytest.raises(Se050Error, match="longer than"):
        rig.se.read_object(0x20000001)                             # 1540 bytes: over the buffer
    assert rig.se.t1.stats["resyncs"] == 0                         # the link stayed in step
    assert len(rig.se.random(4)) == 4


# -- T=1 on the model --------------------------------------------------------------

def test_chained_command_over_ifsc(rig):
    before = rig.chip.stats["frames_in"]
    data = bytes(800)
    assert rig.se.sha512(data) == hashlib.sha512(data).digest()    # one APDU of 800+ bytes
    assert rig.chip.stats["frames_in"] - before == 4                # 3 I-blocks + nothing else
    assert rig.se.t1.stats["retransmits"] == 0


def test_wtx_when_a_command_takes_long():
    r = Rig(timing="assumed", wtx_ms=60)
    r.se.open()
    r.se.ensure_curve(se050.NIST_P521)
    r.se.generate_key(KEY, se050.NIST_P521)
    t0 = r.clock.ms
    digest = hashlib.sha512(b"slow").digest()
    der = r.se.sign_sha512(KEY, digest)
    assert r.clock.ms - t0 >= model.ASSUMED_TIMING["ECDSASign:P-521"]
    assert r.se.t1.stats["wtx"] >= 3 and r.chip.stats["wtx"] == r.se.t1.stats["wtx"]
    assert r.se.t1.stats["nacks"] > 0                            # polled while busy
    se_pub(r).verify(der, digest, PREHASHED_512)


def test_forced_wtx(rig):
    rig.chip.force_wtx(5)
    assert len(rig.se.random(8)) == 8
    assert rig.se.t1.stats["wtx"] == 5


@pytest.mark.parametrize("reads, writes", [((1,), ()), ((2,), ()), ((), (1,)), ((1, 4), (2,))])
def test_recovery_after_a_corrupted_crc_on_the_bus(rig, reads, writes):
    rig.se.generate_key(KEY, se050.NIST_P521)
    rig.bus = FlakyWire(rig.chip, reads, writes)
    digest = hashlib.sha512(b"noisy").digest()
    der = rig.se.sign_sha512(KEY, digest)
    se_pub(rig).verify(der, digest, PREHASHED_512)
    st = rig.se.t1.stats
    assert st["bad_blocks"] + st["retransmits"] >= 1 and st["resyncs"] == 0


def test_recovery_after_injected_crc_errors(rig):
    rig.chip.inject_crc_to_host(2)
    rig.chip.inject_crc_from_host(1)
    assert len(rig.se.random(16)) == 16
    assert rig.chip.stats["crc_errors"] == 1 and rig.se.t1.stats["bad_blocks"] == 2
    assert rig.se.t1.stats["retransmits"] == 1 and rig.se.t1.stats["resyncs"] == 0


def test_lost_block_is_sent_again(rig):
    rig.se.random(4)
    t0 = rig.clock.ms
    rig.chip.inject_lost_block(1)
    assert len(rig.se.random(4)) == 4
    assert rig.chip.stats["lost_blocks"] == 1
    assert rig.se.t1.stats["retransmits"] == 1 and rig.se.t1.stats["resyncs"] == 0
    assert rig.clock.ms - t0 >= rig.se.t1.bwt_ms                  # waited for the answer


@pytest.mark.parametrize("lost", [0, 1, 2])
def test_resync_after_lost_blocks_and_link_state(rig, lost):
    rig.se.generate_key(KEY, se050.NIST_P521)
    if rig.se.t1._ns == 0:
        rig.se.random(1)
    rig.chip.inject_link_reset()           # its sequence numbers are back at 0, ours at 1
    rig.chip.inject_lost_block(lost)
    digest = hashlib.sha512(b"after").digest()
    se_pub(rig).verify(rig.se.sign_sha512(KEY, digest), digest, PREHASHED_512)
    assert rig.se.t1.stats["resyncs"] == 1 and rig.chip.stats["resyncs"] == 1
    assert rig.se.t1.stats["redos"] == 1


def test_soft_reset_returns_atr_and_the_driver_selects_again(rig):
    selects = rig.chip.stats["commands"]["SELECT"]
    assert rig.se.t1.soft_reset() == model.DEFAULT_ATR
    assert not rig.chip.selected                                 # the model deselects
    assert rig.chip.apdu(b"\x80\x04\x00\x20\x00")[-2:] == b"\x6d\x00"
    assert len(rig.se.random(4)) == 4                            # SELECT first, then the command
    assert rig.chip.stats["commands"]["SELECT"] == selects + 1
    assert len(rig.se.random(4)) == 4
    assert rig.chip.stats["commands"]["SELECT"] == selects + 1
    rig.se.open()
    assert rig.chip.stats["soft_resets"] == 3


def test_resync_falling_back_to_soft_reset_reselects(rig):
    rig.se.generate_key(KEY, se050.NIST_P521)
    if rig.se.t1._ns == 0:
        rig.se.random(1)
    rig.chip.inject_link_reset()
    real = rig.chip._s_block

    def no_resynch(pcb, inf):               # a chip that ignores S(RESYNCH)
        if pcb == 0xC0:
            return rig.chip._r(2)
        return real(pcb, inf)
    rig.chip._s_block = no_resynch
    digest = hashlib.sha512(b"fallback").digest()
    se_pub(rig).verify(rig.se.sign_sha512(KEY, digest), digest, PREHASHED_512)
    assert rig.se.t1.stats["soft_resets"] == 2 and rig.chip.stats["soft_resets"] == 2


def test_chip_gone_is_a_t1_error(rig):
    class Dead:
        def writeto(self, addr, buf, stop=True):
            raise OSError(19)

        def readfrom_into(self, addr, buf, stop=True):
            raise OSError(19)
    rig.bus = Dead()
    t0 = rig.clock.ms
    with pytest.raises(T1Error):
        rig.se.random(4)
    assert rig.clock.ms - t0 <= 2000
    rig.bus = rig.chip
    assert len(rig.se.random(4)) == 4                            # back after a resync


def test_stats_count_commands_and_bytes(rig):
    n = rig.chip.stats["commands"].get("GetRandom", 0)
    rig.se.random(8)
    assert rig.chip.stats["commands"]["GetRandom"] == n + 1
    assert rig.chip.stats["bytes_in"] > 0 and rig.chip.stats["bytes_out"] > 0


# -- provisioning bundle -------------------------------------------------------------

def cert_pem(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SECC")])
    now = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=60)).sign(key, hashes.SHA512()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert


def test_bundle_provisioning(tmp_path):
    k1 = ec.generate_private_key(ec.SECP521R1())
    k2 = ec.generate_private_key(ec.SECP521R1())
    pem, cert = cert_pem(k1)
    bundle = {"objects": [
        {"object_id": "0x10000001", "curve": "secp521r1",
         "private_key_pem": k1.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
         "policy": ["sign", "read", "ka"]},
        {"object_id": 0x10000002, "curve": "P-521",
         "private_key_hex": "%0132x" % k2.private_numbers().private_value,
         "key_part": "private", "policy": [{"auth_id": 0, "rules": ["sign"]}]},
        {"object_id": "0x10000003", "curve": 5,
         "public_key_hex": point(k2.public_key()).hex()},
        {"object_id": "0x10000004", "certificate_pem": pem},
    ]}
    path = tmp_path / "se050.json"
    path.write_text(json.dumps(bundle))
    r = Rig()
    assert r.chip.load_bundle(str(path)) == [0x10000001, 0x10000002, 0x10000003, 0x10000004]
    r.se.open()
    assert r.se.ensure_curve(se050.NIST_P521) is False             # the bundle created it
    digest = hashlib.sha512(b"bundle").digest()
    k1.public_key().verify(r.se.sign_sha512(0x10000001, digest), digest, PREHASHED_512)
    k2.public_key().verify(r.se.sign_sha512(0x10000002, digest), digest, PREHASHED_512)
    assert r.se.read_public_key(0x10000001) == point(k1.public_key())
    with pytest.raises(Se050Error) as e:
        r.se.read_object(0x10000002)
    assert e.value.sw == 0x6985
    with pytest.raises(Se050Error) as e:
        r.se.delete(0x10000001)                                     # policy without delete
    assert e.value.sw == 0x6986
    assert r.se.verify_sha512(0x10000003, digest, r.se.sign_sha512(0x10000002, digest))
    assert r.se.read_object(0x10000004) == cert.public_bytes(serialization.Encoding.DER)


def test_bundle_errors():
    chip = Se050Model()
    k = ec.generate_private_key(ec.SECP384R1())
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()
    with pytest.raises(ValueError, match="P-384"):
        chip.load_bundle([{"object_id": 1, "curve": "secp521r1", "private_key_pem": pem}])
    with pytest.raises(ValueError, match="object_id"):
        chip.load_bundle([{"object_id": "0x7FFF0206", "curve": 5, "private_key_hex": "01"}])
    with pytest.raises(ValueError, match="policy rule"):
        chip.load_bundle([{"object_id": 2, "curve": 5, "private_key_hex": "01",
                           "policy": ["sign", "fly"]}])
    with pytest.raises(ValueError, match="no key or data"):
        chip.load_bundle('[{"object_id": 3}]')
    with pytest.raises(ValueError):
        Se050Model(variant="A").load_bundle([{"object_id": 4, "curve": "ed25519",
                                              "private_key_hex": "00" * 32}])
