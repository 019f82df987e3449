"""Plug-and-Charge end to end on CPython (issue 12 item 6).

A -20 PKI made with host/pki (P-521, session-scoped, with its bad-chain
variants); the EV signs with the firmware's SE050 driver against the SE050
model loaded with the PKI's vehicle bundle (the contract key stays in the
model); the charger's PnC seam is host/pnc/verify.py with the PKI's roots,
CRLs and OCSP responses.  Our SECC and EVCC talk in process over "TLS" (the
flag) on a virtual clock:

* PnC reaches SessionStop for AC, DC and DC_BPT;
* every contract_* variant of the PKI gets its case.json ResponseCode and no
  power (the charger's power stage is never enabled);
* a tampered signature, element or key gives FAILED_SignatureError, a wrong
  challenge WARNING_ChallengeInvalid, no TLS no PnC, a refusal EIM;
* python-iso15118 (its pydantic models and EXI class over the EXIficient jar)
  decodes our AuthorizationReq and digests the signed element to our
  DigestValue; it has no -20 SignedInfo encoding (see
  test_python_iso15118_cross_check), so the SignedInfo content is checked
  against the jar's encoding in the CommonMessages namespace and our
  signature verified with ``cryptography`` over it;
* malformed PnC requests never break the SECC.
"""
import copy
import datetime as dt
import hashlib
import json
import os
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from host.bench.se050_model import Se050Model
from host.harness.echo_modem import Clock
from host.harness.session_pair import exchange, flip as _flip
from host.harness.fuzz import secc as fuzz_secc
from host.harness.fuzz.mutate import BASIC, mutate
from host.pki import ca, variants
from host.pnc import vehicle as hv
from host.pnc.verify import Verifier
from micro15118 import exi
from micro15118.drivers.se050 import Se050
from micro15118.iso20 import msg, xmldsig
from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.iso20.vehicle import Vehicle
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel

CM = "-20:CommonMessages"
PNC = "PnC_AReqAuthorizationMode"
CLOCK = lambda: 1735732800  # noqa: E731
CONTRACT_CASES = ["contract_" + c for c in variants.CASES]


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pnc_pki")
    variants.make_variants(ca.Pki.create(str(d)))      # iso20: secp521r1, ECDSA-SHA512
    return str(d)


class Se050Rig:
    """The EV's secure element: the model provisioned with a pki bundle, and
    the firmware driver talking to it over the model's I2C API."""

    def __init__(self, bundle):
        self.clock = Clock()
        self.chip = Se050Model(clock=self.clock)
        self.chip.load_bundle(hv.model_objects(bundle))
        self.se = Se050(self.chip, self.sleep)
        self.se.open()
        self.crypto = xmldsig.Se050Crypto(self.se)

    def sleep(self, ms):
        self.clock.ms += ms


class WatchedPower(PowerModel):
    """The charger's power stage, remembering whether it was ever enabled."""

    def __init__(self, now=0):
        PowerModel.__init__(self, now)
        self.enabled = False

    def contactor(self, closed, now):
        self.enabled |= bool(closed)
        return PowerModel.contactor(self, closed, now)

    def dc_target(self, voltage, current, now):
        self.enabled |= current > 0
        return PowerModel.dc_target(self, voltage, current, now)

    def ac_power(self, power_w, now):
        self.enabled |= power_w > 0
        return PowerModel.ac_power(self, power_w, now)


class Run:
    pass


def pnc_session(directory, verifier, service="dc", ev_cfg=None, secc_cfg=None, tamper=None, loops=5,
                authorized=True, bundle=None):
    """Our EVCC (PnC with `directory`'s contract: a pki dir or a variant case)
    against our SECC with `verifier` behind the Charger's PnC seam.
    tamper(to, name, body) -> body changes a message in flight."""
    r = Run()
    r.rig = Se050Rig(bundle or os.path.join(directory, "se050", "vehicle.json"))
    r.power = WatchedPower(0)
    r.verifier = verifier
    r.charger = Charger(r.power, authorized=authorized, pnc=verifier)
    cfg = {"tls": True, "auth": ("PnC", "EIM")}
    cfg.update(secc_cfg or {})
    r.secc = Secc(cfg, r.charger, 0, rng=os.urandom, clock_s=CLOCK)
    evcfg = {"service": service, "control": "scheduled", "loops": loops, "tls": True}
    evcfg.update(hv.contract_config(directory))
    evcfg.update(ev_cfg or {})
    ac = service.startswith("ac")
    r.vehicle = Vehicle(Battery(capacity_wh=60000, soc=50.0, max_charge_power=11000 if ac else 150000),
                        crypto=r.rig.crypto)
    r.ev = Evcc(evcfg, r.vehicle, 0, clock_s=CLOCK)
    r.ev.start(0)
    r.trace, r.now = exchange(r.ev, r.secc, r.charger, tamper)
    return r


def sent(r, name, to=None):
    return [b for t, n, b, d in r.trace if n == name and (to is None or t == to)]


def states(r):
    return [e[1] for e in r.secc.events if e[0] == "state"]


def no_power(r):
    assert not r.power.enabled and not r.power.closed
    assert r.power.meter(r.now) == (0, 0)
    assert "ServiceDiscovery" not in states(r) and r.secc.ctx.service is None


# --- sessions -------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["ac", "dc", "dc_bpt"])
def test_pnc_session_reaches_session_stop(pki, service):
    r = pnc_session(pki, Verifier.from_pki(pki), service)
    assert r.ev.result == ("done", "Terminate: 5 loops done"), (r.ev.result, r.verifier.log)
    assert r.secc.state == "SessionStop" and r.secc.errors == 0
    assert r.verifier.log == [("OK", [])]
    assert ("pnc", "OK") in r.secc.events and r.secc.ctx.auth_service == "PnC"
    (req,) = sent(r, "AuthorizationReq")
    assert req["SelectedAuthorizationService"] == "PnC"
    # the chain: leaf from the SE050's binary object, the sub-CAs from the PKI
    chain = req[PNC]["ContractCertificateChain"]
    leaf = x509.load_der_x509_certificate(chain["Certificate"])
    assert leaf == ca.Pki.open(pki).cert("contract_leaf")
    assert len(chain["SubCertificates"]["Certificate"]) == 2
    # signed inside the SE050 model: one ECDSA, SHA-512 of the element and SignedInfo there too
    cmds = r.rig.chip.stats["commands"]
    assert cmds.get("ECDSASign") == 1, cmds
    assert len(req["Header"]["Signature"]["SignatureValue"]["#text"]) == 132
    charged, discharged = r.power.meter(r.now)
    assert r.power.enabled and charged > 0 and discharged == 0


# --- the contract variants -------------------------------------------------------------------------

@pytest.mark.parametrize("case", CONTRACT_CASES)
def test_contract_variant_gets_its_response_code_and_no_power(pki, case):
    d = os.path.join(pki, "variants", case)
    with open(os.path.join(d, "case.json")) as f:
        want = json.load(f)["response_code"]
    r = pnc_session(d, Verifier.from_case(d), secc_cfg={"auth": ("PnC",)})
    (res,) = sent(r, "AuthorizationRes")
    assert res["ResponseCode"] == want, (case, r.verifier.log)
    assert r.verifier.log[-1][0] == want and r.verifier.log[-1][1], r.verifier.log
    assert r.ev.result == ("failed", want)
    assert [n for t, n, b, d_ in r.trace if t == "secc"][-1] == "SessionStopReq"
    no_power(r)


def test_a_refused_contract_falls_back_to_eim(pki):
    d = os.path.join(pki, "variants", "contract_revoked")
    r = pnc_session(d, Verifier.from_case(d))
    assert r.ev.result[0] == "done", r.ev.result
    assert [b["SelectedAuthorizationService"] for b in sent(r, "AuthorizationReq")] == ["PnC", "EIM"]
    assert [b["ResponseCode"] for b in sent(r, "AuthorizationRes")] == ["WARNING_CertificateRevoked", "OK"]
    assert ("pnc_refused", "WARNING_CertificateRevoked") in r.ev.events
    assert r.secc.ctx.auth_service == "EIM" and r.power.enabled
    # ... unless the charger refuses EIM too: then nothing flows
    r = pnc_session(d, Verifier.from_case(d), authorized=False)
    assert r.ev.result == ("failed", "WARNING_EIMAuthorizationFailure"), r.ev.result
    no_power(r)


# --- signature, challenge, TLS ------------------------------------------------------------------------

def _in_auth_req(change):
    def tamper(to, name, body):
        if name == "AuthorizationReq" and body["SelectedAuthorizationService"] == "PnC":
            change(body)
        return body
    return tamper


def _sig_value(body):
    sv = body["Header"]["Signature"]["SignatureValue"]
    sv["#text"] = _flip(sv["#text"], 40)


def _sub_ca(body):
    subs = body[PNC]["ContractCertificateChain"]["SubCertificates"]["Certificate"]
    subs[0] = _flip(subs[0], 200)


def _digest(body):
    ref = body["Header"]["Signature"]["SignedInfo"]["Reference"][0]
    ref["DigestValue"] = _flip(ref["DigestValue"])


@pytest.mark.parametrize("change", [_sig_value, _sub_ca, _digest], ids=["signature_value", "element", "digest"])
def test_tampered_signature_is_failed_signature_error(pki, change):
    r = pnc_session(pki, Verifier.from_pki(pki), tamper=_in_auth_req(change))
    assert [b["ResponseCode"] for b in sent(r, "AuthorizationRes")] == ["FAILED_SignatureError"]
    assert r.ev.result == ("failed", "FAILED_SignatureError")
    no_power(r)


def test_signature_by_another_key_is_failed_signature_error(pki):
    # the vehicle's TLS key signs: a valid ECDSA signature, not the contract's
    key = int(hv._entry(os.path.join(pki, "se050", "vehicle.json"), "vehicle_leaf")["key"]["object_id"], 16)
    r = pnc_session(pki, Verifier.from_pki(pki), ev_cfg={"contract_key": key})
    assert [b["ResponseCode"] for b in sent(r, "AuthorizationRes")] == ["FAILED_SignatureError"]
    assert "does not verify" in r.verifier.log[-1][1][0]
    no_power(r)


def test_wrong_challenge_is_a_warning(pki):
    def tamper(to, name, body):
        if name == "AuthorizationSetupRes":
            body["PnC_ASResAuthorizationMode"]["GenChallenge"] = b"\x00" * 16
        return body
    r = pnc_session(pki, Verifier.from_pki(pki), tamper=tamper, ev_cfg={"eim_fallback": False})
    assert [b["ResponseCode"] for b in sent(r, "AuthorizationRes")] == ["WARNING_ChallengeInvalid"]
    assert r.verifier.log == []         # refused before the verifier
    assert r.ev.result == ("failed", "WARNING_ChallengeInvalid")
    no_power(r)


def test_no_pnc_without_tls(pki):
    for secc_tls, ev_tls in ((False, True), (True, False)):
        r = pnc_session(pki, Verifier.from_pki(pki), secc_cfg={"tls": secc_tls}, ev_cfg={"tls": ev_tls})
        (setup,) = sent(r, "AuthorizationSetupRes")
        assert ("PnC" in setup["AuthorizationServices"]) == secc_tls
        assert [b["SelectedAuthorizationService"] for b in sent(r, "AuthorizationReq")] == ["EIM"]
        assert all("Signature" not in b["Header"] for b in sent(r, "AuthorizationReq"))
        assert r.verifier.log == [] and r.ev.result[0] == "done"
        assert "ECDSASign" not in r.rig.chip.stats["commands"]


# --- the verifier on its own ----------------------------------------------------------------------------

def good_evidence(pki):
    r = pnc_session(pki, Verifier.from_pki(pki), loops=1)
    (req,) = sent(r, "AuthorizationReq")
    mode = req[PNC]
    ev = xmldsig.evidence(CM, PNC, mode, req["Header"]["Signature"])
    ev.update(leaf=mode["ContractCertificateChain"]["Certificate"],
              sub_cas=mode["ContractCertificateChain"]["SubCertificates"]["Certificate"],
              challenge=mode["GenChallenge"])
    return ev


def test_verifier_trusts_only_the_signed_octets(pki):
    v = Verifier.from_pki(pki)
    good = good_evidence(pki)
    assert v.verify(good) == "OK"
    other = ca.Pki.open(pki).cert("oem_prov_leaf").public_bytes(serialization.Encoding.DER)
    cases = {
        "challenge": ("WARNING_ChallengeInvalid", dict(good, challenge=b"\x01" * 16)),
        "leaf": ("FAILED_SignatureError", dict(good, leaf=other)),
        "sub_cas": ("FAILED_SignatureError", dict(good, sub_cas=good["sub_cas"][:1])),
        "digest": ("FAILED_SignatureError", dict(good, digest=bytes(64))),
        "element": ("FAILED_SignatureError", dict(good, element=good["element"][:-1])),
        "signed_info": ("FAILED_SignatureError", dict(good, signed_info=_flip(good["signed_info"], 30))),
        "signature": ("FAILED_SignatureError", dict(good, signature=bytes(132))),
        "garbage": ("WARNING_GeneralPnCAuthorizationError", {"signed_info": None}),
    }
    for what, (code, ev) in cases.items():
        assert v.verify(ev) == code, (what, v.log[-1])
    # time: the contract ends in 730 days
    far = ca.Pki.open(pki).cert("contract_leaf").not_valid_after_utc
    late = Verifier.from_pki(pki, clock=lambda: far + dt.timedelta(days=1))
    assert late.verify(good) == "WARNING_CertificateExpired"
    assert Verifier.from_pki(pki, expires_soon_days=800).verify(good) == "OK_CertificateExpiresSoon"
    # the eMSP / CSMS has the last word
    seen = []
    deny = Verifier.from_pki(pki, authorize=lambda emaid, leaf, subs: seen.append(emaid) or False)
    assert deny.verify(good) == "WARNING_GeneralPnCAuthorizationError" and seen == ["DEM15C12345678J"]
    assert Verifier.from_pki(pki, authorize=lambda *a: "WARNING_eMSPUnknown").verify(good) == "WARNING_eMSPUnknown"
    # trust only the V2G root: no MO root, unknown eMSP
    v2g = Verifier([ca.Pki.open(pki).cert("v2g_root")])
    assert v2g.verify(good) == "WARNING_eMSPUnknown"


def test_signature_verifies_with_cryptography_alone(pki):
    # independent of host/pnc/verify.py: SHA-512 of the element fragment is the
    # DigestValue, ECDSA-SHA512 over the SignedInfo fragment with the leaf's key
    good = good_evidence(pki)
    assert hashlib.sha512(good["element"]).digest() == good["digest"]
    leaf = x509.load_der_x509_certificate(good["leaf"])
    assert leaf.public_key().curve.name == "secp521r1"
    r, s = good["signature"][:66], good["signature"][66:]
    der = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    leaf.public_key().verify(der, good["signed_info"], ec.ECDSA(hashes.SHA512()))


# --- python-iso15118 as the peer --------------------------------------------------------------------------

class _JarCodec:
    """python-iso15118's IEXICodec on the oracle's JVM (host/harness/exi_oracle.py)."""

    def __init__(self, codec):
        self.codec = codec

    def encode(self, message, namespace):
        return self.codec.encode_json(namespace, message)

    def decode(self, stream, namespace):
        return self.codec.decode_json(namespace, stream)

    def get_version(self):
        return str(self.codec.version())


@pytest.fixture(scope="module")
def josev():
    pytest.importorskip("iso15118")
    from host.harness.exi_oracle import JosevCodec
    from iso15118.shared.exi_codec import EXI
    from iso15118.shared.settings import SettingKey, shared_settings
    shared_settings.setdefault(SettingKey.MESSAGE_LOG_JSON, False)
    shared_settings.setdefault(SettingKey.MESSAGE_LOG_EXI, False)
    codec = JosevCodec()
    old = EXI().exi_codec
    EXI().set_exi_codec(_JarCodec(codec))
    yield codec
    EXI().exi_codec = old


def _bits(data):
    return "".join(format(b, "08b") for b in data)


def test_python_iso15118_cross_check(pki, josev):
    from iso15118.shared.exi_codec import EXI
    from iso15118.shared.messages.enums import AuthEnum, Namespace

    r = pnc_session(pki, Verifier.from_pki(pki), loops=1)
    (raw,) = [d for t, n, b, d in r.trace if n == "AuthorizationReq"]
    (ours,) = sent(r, "AuthorizationReq")
    sig = ours["Header"]["Signature"]
    digest = sig["SignedInfo"]["Reference"][0]["DigestValue"]
    leaf = x509.load_der_x509_certificate(ours[PNC]["ContractCertificateChain"]["Certificate"])

    # 1. python-iso15118 decodes our signed AuthorizationReq into its model
    req = EXI().from_exi(raw, Namespace.ISO_V20_COMMON_MSG)
    assert req.selected_auth_service == AuthEnum.PNC
    p = req.pnc_params
    assert p.id == "id1" and p.gen_challenge == ours[PNC]["GenChallenge"]
    assert p.contract_cert_chain.certificate == leaf.public_bytes(serialization.Encoding.DER)
    si = req.header.signature.signed_info
    assert str(si.signature_method.algorithm) == xmldsig.ECDSA_SHA512
    assert si.reference[0].uri == "#id1" and si.reference[0].digest_value == digest
    assert req.header.signature.signature_value.value == sig["SignatureValue"]["#text"]

    # 2. the signed element as python-iso15118's SECC encodes it for its digest
    #    (iso15118/secc/states/iso15118_20_states.py: EXI().to_exi(pnc_params,
    #    ISO_V20_COMMON_MSG)): byte for byte our fragment, so SHA-512 is our DigestValue
    theirs = EXI().to_exi(p, Namespace.ISO_V20_COMMON_MSG)
    assert theirs == exi.encode(CM, {PNC: ours[PNC]}, fragment=True)
    assert hashlib.sha512(theirs).digest() == digest

    # 3. SignedInfo.  python-iso15118 (shared/security.py create_signature /
    #    verify_signature) encodes it with the xmldsig-core grammar alone
    #    (Namespace.XML_DSIG), and its jar rebuilds it with the -2 algorithms
    #    (ecdsa-sha256, sha256): it cannot produce the -20 signed octets.
    dsig = EXI().to_exi(si, Namespace.XML_DSIG)
    back = exi.decode("xmldsig", dsig, fragment=True)["SignedInfo"]
    assert back["SignatureMethod"]["@Algorithm"].endswith("#ecdsa-sha256")
    assert back["Reference"][0]["DigestMethod"]["@Algorithm"].endswith("#sha256")
    octets = exi.encode(CM, {"SignedInfo": sig["SignedInfo"]}, fragment=True)
    assert dsig[:4] != octets[:4]
    #    The jar in the CommonMessages namespace keeps our algorithms but writes
    #    SignedInfo as a document whose root is SE(*) with a literal QName:
    #    after that framing, the content of SignedInfo is ours bit for bit.
    #    Our fragment: 0x80, SE(SignedInfo) with the fragment grammar's 9-bit
    #    code, the content, ED (9 bits), padding.
    jar = josev.encode(CM, {"SignedInfo": sig["SignedInfo"]})
    ob, jb = _bits(octets), _bits(jar)
    best = max(((p0, _common(ob, 17, jb, p0)) for p0 in range(9, 400)), key=lambda t: t[1])
    start, n = best
    assert n >= len(ob) - 17 - 9 - 7, (n, len(ob))      # all but ED and the padding
    reframed = ob[:17] + jb[start:start + n] + ob[17 + n:]
    reframed = bytes(int(reframed[i:i + 8], 2) for i in range(0, len(reframed), 8))
    assert reframed == octets
    assert josev.decode(CM, jar)["SignedInfo"] == sig["SignedInfo"]
    #    and our ECDSA-SHA512 signature verifies over it with `cryptography`
    raw_sig = sig["SignatureValue"]["#text"]
    der = encode_dss_signature(int.from_bytes(raw_sig[:66], "big"), int.from_bytes(raw_sig[66:], "big"))
    leaf.public_key().verify(der, reframed, ec.ECDSA(hashes.SHA512()))


def _common(a, i, b, j):
    n = 0
    while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
        n += 1
    return n


# --- malformed PnC requests ------------------------------------------------------------------------------

def test_malformed_pnc_requests_never_break_the_secc(pki):
    """Mutated signed AuthorizationReqs (bit level and dict level, as the SECC
    fuzzer does) fed to an SECC waiting for one, behind the real verifier:
    no internal error, one decodable response, power off after FAILED, and
    only a request with the signed element and signature intact authorized."""
    verifier = Verifier.from_pki(pki)
    good = pnc_session(pki, verifier, loops=1)
    (raw,) = [d for t, n, b, d in good.trace if n == "AuthorizationReq"]
    (body,) = sent(good, "AuthorizationReq")
    sid, challenge = body["Header"]["SessionID"], body[PNC]["GenChallenge"]
    # an SECC in Authorization whose SessionID and challenge are the recorded ones
    charger = Charger(WatchedPower(0), authorized=None, pnc=verifier)
    secc = Secc({"tls": True, "auth": ("PnC", "EIM")}, charger, 0, clock_s=CLOCK,
                rng=lambda n: sid if n == 8 else challenge)
    for t, n, b, d in good.trace:
        if t == "secc" and n in ("supportedAppProtocolReq", "SessionSetupReq", "AuthorizationSetupReq"):
            secc.handle(msg.ptype_of(n), d, 0)
    secc.out.clear()
    assert secc.state == "Authorization" and secc.ctx.challenge == challenge
    pool = fuzz_secc.build_pool([[(None, msg.COMMON, raw)]])[0]
    rnd = random.Random(15118)
    tally = {"ok": 0, "rejected": 0, "authorized": 0}
    for i in range(600):
        s = copy.deepcopy(secc, {id(verifier): verifier})
        p = s.charger.power
        if i % 2:
            data = mutate(rnd, raw, [raw], BASIC)
        else:
            try:
                data = msg.encode("AuthorizationReq", fuzz_secc.mutate_dict(rnd, body, pool))[1]
            except ValueError:
                continue
        s.handle(msg.COMMON, data, 1000)
        assert s.errors == 0, getattr(s, "last_error", None)
        assert len(s.out) == 1
        name, res = msg.decode(*s.out[0])
        if msg.failed(res["ResponseCode"]):
            assert not p.closed and not p.enabled
            tally["rejected"] += 1
        else:
            tally["ok"] += 1
        if ("authorized", True) in s.events:
            tally["authorized"] += 1
            got = msg.decode(msg.COMMON, data)[1]
            assert got[PNC] == body[PNC] and got["Header"]["Signature"] == body["Header"]["Signature"]
        for t in (5000, 70000, 200000):
            s.poll(1000 + t)
            assert s.errors == 0
    assert tally["ok"] > 50 and tally["rejected"] > 50 and tally["authorized"] > 5, tally
