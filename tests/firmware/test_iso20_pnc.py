# Plug-and-Charge in the firmware (also under MicroPython): iso20/xmldsig.py (DER <-> raw r||s,
# SignedInfo, fragments, the verify side's structural checks) with a fake crypto seam whose
# "digests" are deterministic, and the SECC's PnC paths (iso20/secc/authorization*.py) driven by
# the scripted EV with a scripted charger seam.  The real SHA-512/ECDSA/PKI checks are
# tests/test_pnc.py (CPython).
from micro15118 import exi
from micro15118.iso20 import msg, xmldsig
from micro15118.iso20.charger import Charger

from host.harness.scripted_ev import ScriptedEv, sap_and_setup

CM = "-20:CommonMessages"
PNC = "PnC_AReqAuthorizationMode"

# A P-521 ECDSA signature (DER, 0x81 length form) and its r, s.
DER_521 = bytes.fromhex(
    "30818802420164e82f0b6f8bdb867115d714b8df809ae0d00e74c552f9a15ee0372acad5a865804f5e642fa9f40ec5"
    "f87af8946214ec7bb4e1dc580a69d81b81941c2dbc6ac3ae0242016c9d6ff08594385dc935810d2796199d645e41ea"
    "7e9a604ab9752ba213768917691d01bea9321ad9ea8d46f0733557a7246dfe8ee39f593bbbee61e3fff20ac4b4")
R_521 = bytes.fromhex("0164e82f0b6f8bdb867115d714b8df809ae0d00e74c552f9a15ee0372acad5a865804f5e642fa9f4"
                      "0ec5f87af8946214ec7bb4e1dc580a69d81b81941c2dbc6ac3ae")
S_521 = bytes.fromhex("016c9d6ff08594385dc935810d2796199d645e41ea7e9a604ab9752ba213768917691d01bea9321a"
                      "d9ea8d46f0733557a7246dfe8ee39f593bbbee61e3fff20ac4b4")
# A P-256 one whose r needs the 0x00 sign octet.
DER_256 = bytes.fromhex(
    "3045022100f497b5b523e605153a483c15d333f3055570796fbc5d9fd13833f891fb4d0f1e022028b2a1ecc8116ba1"
    "1ad6697af2a1052f97df3f9943b9f00e444ace14fda88c2f")


def raises(fn, *args):
    try:
        fn(*args)
    except ValueError:
        return True
    return False


class FakeCrypto:
    """Deterministic stand-ins: sha512 mixes every byte into 64; the
    "signature" is a DER with r = 0x01 || digest || 0x01, s = 0x2a."""

    def __init__(self):
        self.hashed = []
        self.signed = []

    def sha512(self, data):
        h = bytearray(64)
        for i in range(len(data)):
            j = i % 64
            h[j] = (h[j] * 31 + data[i] + i) & 0xFF
        self.hashed.append(bytes(data))
        return bytes(h)

    def sign_sha512(self, key, digest):
        self.signed.append((key, digest))
        r = b"\x01" + digest + b"\x01"
        return b"\x30\x47\x02\x42" + r + b"\x02\x01\x2a"

    def read_certificate(self, ref):
        return b"\x30\x82" + bytes([ref & 0xFF]) * 10


def element(challenge=b"\x07" * 16):
    return {"@Id": "id1", "GenChallenge": challenge,
            "ContractCertificateChain": {"Certificate": b"LEAF" * 100,
                                         "SubCertificates": {"Certificate": [b"SUB2" * 90, b"SUB1" * 80]}}}


# --- DER <-> raw ---------------------------------------------------------------------------------

def test_der_to_raw_p521():
    raw = xmldsig.der_to_raw(DER_521)
    assert len(raw) == 132 and raw == R_521 + S_521
    assert xmldsig.raw_to_der(raw) == DER_521


def test_der_to_raw_pads_short_and_strips_the_sign_octet():
    # r = 0x7f, s = 0x80 (DER needs 00 80)
    der = bytes.fromhex("300702017f02020080")
    raw = xmldsig.der_to_raw(der)
    assert raw == bytes(65) + b"\x7f" + bytes(65) + b"\x80"
    assert xmldsig.raw_to_der(raw) == der
    raw = xmldsig.der_to_raw(DER_256, 32)
    assert raw[:32] == DER_256[5:37] and len(raw) == 64
    assert xmldsig.raw_to_der(raw) == DER_256
    # a P-256 signature in the -20 field: 66 + 66
    assert xmldsig.raw_to_der(xmldsig.der_to_raw(DER_256)) == DER_256


def test_der_refused_when_malformed():
    for bad in (b"", DER_521[:-1], DER_521 + b"\x00", b"\x31" + DER_521[1:],
                bytes.fromhex("3008020200010202007f"),      # r not minimal (00 01)
                bytes.fromhex("300602018102017f"),          # r negative
                bytes.fromhex("300702017f0202008000"),      # length mismatch
                bytes.fromhex("30070201ff02020080")):       # negative r
        assert raises(xmldsig.der_to_raw, bad), bad
    assert raises(xmldsig.der_to_raw, DER_256[:2] + b"\x02\x21" + DER_256[4:], 1)
    assert raises(xmldsig.raw_to_der, b"\x01\x02\x03")


# --- signing -----------------------------------------------------------------------------------------

def test_sign_builds_signed_info_and_signs_its_fragment():
    c = FakeCrypto()
    el = element()
    sig = xmldsig.sign(c, 0x15118400, CM, [(PNC, el)])
    si = sig["SignedInfo"]
    assert si == {"CanonicalizationMethod": {"@Algorithm": "http://www.w3.org/TR/canonical-exi/"},
                  "SignatureMethod": {"@Algorithm": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"},
                  "Reference": [{"@URI": "#id1",
                                 "Transforms": {"Transform": [{"@Algorithm": "http://www.w3.org/TR/canonical-exi/"}]},
                                 "DigestMethod": {"@Algorithm": "http://www.w3.org/2001/04/xmlenc#sha512"},
                                 "DigestValue": c.sha512(exi.encode(CM, {PNC: el}, fragment=True))}]}
    # hashed: the element's fragment, then SignedInfo's fragment, both in the CommonMessages grammar
    assert c.hashed[0] == exi.encode(CM, {PNC: el}, fragment=True)
    assert c.hashed[1] == exi.encode(CM, {"SignedInfo": si}, fragment=True)
    assert exi.decode(CM, c.hashed[1], fragment=True) == {"SignedInfo": si}
    assert c.signed == [(0x15118400, c.sha512(c.hashed[1]))]
    raw = sig["SignatureValue"]["#text"]
    assert len(raw) == 132 and raw[:66] == b"\x01" + c.signed[0][1] + b"\x01" and raw[66:] == bytes(65) + b"\x2a"
    # the message with it encodes
    body = {"Header": {"SessionID": b"\x01" * 8, "TimeStamp": 1, "Signature": sig},
            "SelectedAuthorizationService": "PnC", PNC: el}
    assert msg.decode(*msg.encode("AuthorizationReq", body)) == ("AuthorizationReq", body)


def test_signed_info_fragment_bytes():
    # the CommonMessages-grammar fragment (9-bit SE(SignedInfo)): pinned, so
    # MicroPython and CPython give the same octets; tests/test_pnc.py
    # compares the content with python-iso15118's encoder
    si = xmldsig.signed_info([xmldsig.reference("id1", bytes(range(64)))])
    frag = exi.encode(CM, {"SignedInfo": si}, fragment=True)
    assert frag[:4] == bytes.fromhex("80732256") and len(frag) == 242, (frag[:8], len(frag))
    # the xmldsig-only grammar (what python-iso15118 signs) starts differently
    assert exi.encode("xmldsig", {"SignedInfo": si}, fragment=True)[:4] != frag[:4]


# --- the verify side's structure checks -------------------------------------------------------------

def signed(el=None, c=None):
    el = el or element()
    return el, xmldsig.sign(c or FakeCrypto(), 1, CM, [(PNC, el)])


def test_evidence_carries_the_fragments():
    c = FakeCrypto()
    el, sig = signed(c=c)
    ev = xmldsig.evidence(CM, PNC, el, sig)
    assert ev["element"] == c.hashed[0] and ev["signed_info"] == c.hashed[1]
    assert ev["digest"] == c.sha512(c.hashed[0])
    assert ev["signature"] == sig["SignatureValue"]["#text"] and ev["id"] == "id1"
    assert ev["method"] == xmldsig.ECDSA_SHA512


def test_evidence_refuses_a_signature_not_over_the_element():
    def broken(change):
        el, sig = signed()
        change(el, sig["SignedInfo"], sig)
        return raises(xmldsig.evidence, CM, PNC, el, sig)

    ref = lambda si: si["Reference"][0]  # noqa: E731
    assert broken(lambda el, si, sig: ref(si).__setitem__("@URI", "#id2"))
    assert broken(lambda el, si, sig: el.__setitem__("@Id", "other"))
    assert broken(lambda el, si, sig: si["Reference"].append(dict(ref(si))))
    assert broken(lambda el, si, sig: ref(si)["DigestMethod"].__setitem__(
        "@Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256"))
    assert broken(lambda el, si, sig: si["SignatureMethod"].__setitem__(
        "@Algorithm", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"))
    assert broken(lambda el, si, sig: si["SignatureMethod"].__setitem__("HMACOutputLength", 5))
    assert broken(lambda el, si, sig: si["CanonicalizationMethod"].__setitem__("@Algorithm", "c14n"))
    assert broken(lambda el, si, sig: ref(si)["Transforms"]["Transform"].append({"@Algorithm": "x"}))
    assert broken(lambda el, si, sig: ref(si)["Transforms"]["Transform"][0].__setitem__("XPath", ["a"]))
    assert broken(lambda el, si, sig: ref(si).__setitem__("DigestValue", b"\x00" * 32))
    assert broken(lambda el, si, sig: sig["SignatureValue"].__setitem__("#text", b"\x00" * 64))
    assert broken(lambda el, si, sig: sig.__delitem__("SignedInfo"))
    assert raises(xmldsig.evidence, CM, PNC, element(), None)
    # Transforms is schema-optional: accepted without
    el, sig = signed()
    del sig["SignedInfo"]["Reference"][0]["Transforms"]
    assert xmldsig.evidence(CM, PNC, el, sig)["id"] == "id1"


def test_se050_crypto_adapter():
    class Chip:
        def sha512(self, d):
            return b"h" * 64

        def sign_sha512(self, k, d):
            return ("sig", k, d)

        def read_binary(self, oid):
            return ("cert", oid)

    c = xmldsig.Se050Crypto(Chip())
    assert c.sha512(b"x") == b"h" * 64
    assert c.sign_sha512(0x15118400, b"d") == ("sig", 0x15118400, b"d")
    assert c.read_certificate(0x15118480) == ("cert", 0x15118480)


# --- the SECC --------------------------------------------------------------------------------------

class ScriptedPnc:
    """The charger's PnC verifier, scripted: answers in turn (the last repeats)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def pnc_authorize(self, evidence, now):
        self.calls.append((evidence, now))
        if len(self.answers) > 1:
            return self.answers.pop(0)
        return self.answers[0]


def pnc_ev(*answers, tls=True, auth=("PnC", "EIM"), authorized=True, verifier=True, **cfg):
    v = ScriptedPnc(*answers) if verifier else None
    config = {"tls": tls, "auth": auth}
    config.update(cfg)
    ev = ScriptedEv(config, authorized=authorized, pnc=v)
    sap_and_setup(ev)
    return ev, v


def setup_res(ev):
    return ev.ok("AuthorizationSetupReq")


def pnc_req(ev, el=None, sig=None, signature=True):
    """A signed PnC AuthorizationReq; returns the response body."""
    el = el or element(ev.challenge)
    if signature and sig is None:
        sig = xmldsig.sign(FakeCrypto(), 1, CM, [(PNC, el)])
    ev.ts += 1
    h = msg.header(ev.sid, 1700000000 + ev.ts)
    if signature:
        h["Signature"] = sig
    res = ev.raw(*msg.encode("AuthorizationReq", {"Header": h, "SelectedAuthorizationService": "PnC", PNC: el}))
    assert len(res) == 1 and res[0][0] == "AuthorizationRes", res
    return res[0][1]


def eim_req(ev):
    return ev.req("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})[1]


def start(*answers, **kw):
    ev, v = pnc_ev(*answers, **kw)
    b = setup_res(ev)
    ev.challenge = b.get("PnC_ASResAuthorizationMode", {}).get("GenChallenge")
    return ev, v, b


def power_off(ev):
    p = ev.power
    return not p.closed and not p.current and not p.ac_w


def test_pnc_offered_over_tls_with_a_fresh_challenge():
    ev, v, b = start("OK")
    assert b["AuthorizationServices"] == ["PnC", "EIM"]
    mode = b["PnC_ASResAuthorizationMode"]
    assert len(mode["GenChallenge"]) == 16 and "EIM_ASResAuthorizationMode" not in b
    assert mode["GenChallenge"] == ev.secc.ctx.challenge
    assert "SupportedProviders" not in mode and b["CertificateInstallationService"] is False
    ev2, v2, b2 = start("OK", supported_providers=["DEM15", "NLTNM"], certificate_installation=True)
    assert b2["PnC_ASResAuthorizationMode"]["SupportedProviders"] == {"ProviderID": ["DEM15", "NLTNM"]}
    assert b2["CertificateInstallationService"] is True


def test_pnc_not_offered_without_tls_or_verifier():
    for kw in ({"tls": False}, {"verifier": False}):
        ev, v, b = start("OK", **kw)
        assert b["AuthorizationServices"] == ["EIM"] and b["EIM_ASResAuthorizationMode"] == {}
        assert b["CertificateInstallationService"] is False
        assert ev.secc.ctx.challenge is None
        # selecting it anyway: not offered
        ev.challenge = b"\x00" * 16
        r = pnc_req(ev)
        assert r["ResponseCode"] == msg.WARNING_AUTHORIZATION_SELECTION_INVALID
        assert eim_req(ev)["ResponseCode"] == msg.OK
    # TLS per connection overrides the config
    ev, v = pnc_ev("OK", tls=False)
    ev.secc.connection_made(ev.t, tls=True)
    ev.sid = msg.NEW_SESSION_ID
    sap_and_setup(ev)
    assert "PnC" in setup_res(ev)["AuthorizationServices"]
    # a PnC-only charger on a plain connection offers EIM (the charger decides)
    ev, v, b = start("OK", tls=False, auth=("PnC",))
    assert b["AuthorizationServices"] == ["EIM"]


def test_pnc_authorized_with_the_evidence():
    ev, v, b = start("OK")
    el = element(ev.challenge)
    c = FakeCrypto()
    sig = xmldsig.sign(c, 1, CM, [(PNC, el)])
    r = pnc_req(ev, el, sig)
    assert r["ResponseCode"] == msg.OK and r["EVSEProcessing"] == msg.FINISHED
    (evidence, now), = v.calls
    assert evidence["element"] == c.hashed[0] and evidence["signed_info"] == c.hashed[1]
    assert evidence["digest"] == sig["SignedInfo"]["Reference"][0]["DigestValue"]
    assert evidence["signature"] == sig["SignatureValue"]["#text"]
    assert evidence["leaf"] == b"LEAF" * 100 and evidence["sub_cas"] == [b"SUB2" * 90, b"SUB1" * 80]
    assert evidence["challenge"] == ev.challenge and evidence["evccid"] == ev.secc.ctx.evccid
    assert evidence["method"] == xmldsig.ECDSA_SHA512 and evidence["id"] == "id1"
    assert ("pnc", "OK") in ev.secc.events and ("authorized", True) in ev.secc.events
    assert ev.secc.ctx.auth_service == "PnC"
    ev.ok("ServiceDiscoveryReq")


def test_pnc_ongoing_then_ok_asks_with_the_same_evidence():
    ev, v, b = start(None, None, "OK_CertificateExpiresSoon")
    el = element(ev.challenge)
    sig = xmldsig.sign(FakeCrypto(), 1, CM, [(PNC, el)])
    for _ in range(2):
        r = pnc_req(ev, el, sig)
        assert r["ResponseCode"] == msg.OK and r["EVSEProcessing"] == msg.ONGOING
        ev.wait(1000)
    r = pnc_req(ev, el, sig)
    assert r["ResponseCode"] == msg.OK_CERTIFICATE_EXPIRES_SOON and r["EVSEProcessing"] == msg.FINISHED
    assert len(v.calls) == 3 and v.calls[0][0] is v.calls[1][0] is v.calls[2][0]
    ev.ok("ServiceDiscoveryReq")


def test_pnc_ongoing_past_the_limit_is_a_warning_and_eim_may_follow():
    ev, v, b = start(None)
    for _ in range(14):
        r = pnc_req(ev)
        if r["EVSEProcessing"] == msg.FINISHED:
            break
        ev.wait(5000)
    assert r["ResponseCode"] == msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR, r
    assert 55000 < ev.t <= 60000
    assert eim_req(ev)["ResponseCode"] == msg.OK


def test_wrong_challenge_is_a_warning_and_spends_the_challenge():
    ev, v, b = start("OK")
    r = pnc_req(ev, element(b"\x00" * 16))
    assert r["ResponseCode"] == msg.WARNING_CHALLENGE_INVALID and r["EVSEProcessing"] == msg.FINISHED
    assert v.calls == []
    # one PnC attempt per AuthorizationSetup: the right challenge now is too late
    assert pnc_req(ev)["ResponseCode"] == msg.WARNING_CHALLENGE_INVALID
    assert v.calls == [] and ev.secc.state == "Authorization"
    # fallback to EIM
    assert eim_req(ev)["ResponseCode"] == msg.OK
    assert ev.secc.ctx.auth_service == "EIM"


def test_refusals_keep_the_session_in_authorization_without_power():
    for code in (msg.WARNING_CERTIFICATE_REVOKED, msg.WARNING_CERTIFICATE_EXPIRED,
                 msg.WARNING_CERTIFICATE_NOT_YET_VALID, msg.WARNING_CERTIFICATE_VALIDATION_ERROR,
                 msg.WARNING_EMSP_UNKNOWN, msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR,
                 "BOGUS", True, 0):
        ev, v, b = start(code)
        r = pnc_req(ev)
        want = code if isinstance(code, str) and code.startswith("WARNING") else \
            msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR
        assert r["ResponseCode"] == want, (code, r)
        assert ("authorized", False) in ev.secc.events
        n, b2 = ev.req("ServiceDiscoveryReq")
        assert b2["ResponseCode"] == msg.FAILED_SEQUENCE_ERROR
        assert power_off(ev) and ev.secc.ctx.auth_service is None


def test_refused_pnc_then_eim():
    ev, v, b = start(msg.WARNING_EMSP_UNKNOWN)
    assert pnc_req(ev)["ResponseCode"] == msg.WARNING_EMSP_UNKNOWN
    assert eim_req(ev)["ResponseCode"] == msg.OK
    ev.ok("ServiceDiscoveryReq")
    # PnC-only: no EIM to fall back to
    ev, v, b = start(msg.WARNING_EMSP_UNKNOWN, auth=("PnC",))
    assert b["AuthorizationServices"] == ["PnC"]
    assert pnc_req(ev)["ResponseCode"] == msg.WARNING_EMSP_UNKNOWN
    assert eim_req(ev)["ResponseCode"] == msg.WARNING_AUTHORIZATION_SELECTION_INVALID


def test_signature_errors_end_the_session():
    def check(ev, r):
        assert r["ResponseCode"] == msg.FAILED_SIGNATURE_ERROR, r
        assert power_off(ev) and ev.closed_after(5000)

    ev, v, b = start("OK")
    check(ev, pnc_req(ev, signature=False))
    assert v.calls == []
    ev, v, b = start("OK")
    el = element(ev.challenge)
    sig = xmldsig.sign(FakeCrypto(), 1, CM, [(PNC, el)])
    sig["SignedInfo"]["Reference"][0]["@URI"] = "#other"
    check(ev, pnc_req(ev, el, sig))
    # the verifier's verdict
    ev, v, b = start(msg.FAILED_SIGNATURE_ERROR)
    check(ev, pnc_req(ev))
    assert len(v.calls) == 1


def test_pnc_request_with_the_eim_element_is_a_selection_error():
    ev, v, b = start("OK")
    n, r = ev.req("AuthorizationReq", {"SelectedAuthorizationService": "PnC", "EIM_AReqAuthorizationMode": {}})
    assert r["ResponseCode"] == msg.WARNING_AUTHORIZATION_SELECTION_INVALID
    assert v.calls == []


def test_charger_without_verifier_refuses():
    c = Charger(None)
    assert not c.pnc_enabled()
    assert c.pnc_authorize({}, 0) == msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR
