"""CertificateInstallation end to end on CPython (issue 12 item 6, second part).

A -20 PKI made with host/pki (P-521).  The EV has no contract: its SE050 model
holds the vehicle bundle without the contract entries, and the firmware's
SE050 driver talks to it (the OEM provisioning key signs the request and does
the ECDH in the model).  The charger's back end is host/pnc/cps.py (the
OEM provisioning signature and chain, a new contract issued by MO Sub-CA 2,
the key wrapped to the OEM provisioning key, SignedInstallationData signed
with the CPS leaf); the EV's verifier is host/pnc/vehicle.InstallationVerifier
(the CPS signature and chain to the V2G root).  Our SECC and EVCC talk in
process over "TLS" (the flag) on a virtual clock:

* the EV installs a contract, the SE050 model ends up with a new key pair
  object (private part unreadable) and the chain as binary objects, the
  session goes on with PnC and reaches SessionStop; a second session uses
  the installed contract for PnC (AuthorizationRes OK) and reaches
  SessionStop;
* a tampered SignedInstallationData (signature, content, a key wrapped for
  another AAD) is refused by the EV and nothing is imported;
* a wrong OEM provisioning signature is refused by the CPS
  (FAILED_SignatureError), OEM chain and contract problems are WARNINGs and
  the EV uses EIM;
* the key wrap of host/pnc/cps.py (cryptography) and of the firmware
  (evcc/contract_key.py, evcc/aesgcm.py) agree both ways;
* python-iso15118 decodes our CertificateInstallationReq/Res;
* mutated CertificateInstallationRes never break the EV nor import a key;
  mutated CertificateInstallationReq never break the SECC, and only an intact
  signed OEM chain gets a contract.

ListOfRootCertificateIDs carries the roots' serials as they are (host/pki's
have 159 bits; X509SerialNumber is an xs:integer, and the codec takes up to
168 bits: test_a_20_octet_serial_encodes).
"""
import copy
import datetime as dt
import os
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from host.bench.se050_model import Se050Model
from host.harness.echo_modem import Clock
from host.harness.session_pair import exchange, flip as _flip
from host.harness.fuzz import secc as fuzz_secc
from host.harness.fuzz.mutate import BASIC, mutate
from host.pki import ca
from host.pnc import cps as hcps
from host.pnc import vehicle as hv
from host.pnc.cps import Cps
from host.pnc.verify import Verifier
from micro15118 import exi
from micro15118.drivers.se050 import Se050
from micro15118.iso20 import msg, xmldsig
from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc import contract_key
from micro15118.iso20.evcc import certificate_installation as ev_install
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.iso20.vehicle import Vehicle
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel

CM = "-20:CommonMessages"
SID = "SignedInstallationData"
OEM = "OEMProvisioningCertificateChain"
CLOCK = lambda: 1735732800  # noqa: E731
KEY, LEAF, SUBS = ev_install.refs(0)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("cert_install_pki"))
    ca.Pki.create(d)
    return d


class Rig:
    """The EV's SE050: the model with the vehicle bundle minus its contract,
    the firmware driver on it, the crypto seam."""

    def __init__(self, directory):
        self.clock = Clock()
        self.chip = Se050Model(clock=self.clock)
        self.chip.load_bundle(hv.model_objects(os.path.join(directory, "se050", "vehicle.json"),
                                               without=("contract_leaf",)))
        self.se = Se050(self.chip, self.sleep)
        self.se.open()
        self.crypto = xmldsig.Se050Crypto(self.se)

    def sleep(self, ms):
        self.clock.ms += ms


class WatchedPower(PowerModel):
    def __init__(self, now=0):
        PowerModel.__init__(self, now)
        self.enabled = False

    def contactor(self, closed, now):
        self.enabled |= bool(closed)
        return PowerModel.contactor(self, closed, now)


class Run:
    pass


def session(directory, cps=None, rig=None, ev_cfg=None, secc_cfg=None, tamper=None, verifier=None,
            pnc=None, loops=3, service="dc"):
    """Our EVCC (no contract, install_contract; or ev_cfg's contract) against
    our SECC with `cps` behind the charger's cert_install seam.
    tamper(to, name, body) -> body changes a message in flight."""
    r = Run()
    r.rig = rig or Rig(directory)
    r.power = WatchedPower(0)
    r.cps = cps if cps is not None else Cps(directory)
    r.pnc = pnc or Verifier.from_pki(directory)
    r.charger = Charger(r.power, authorized=True, pnc=r.pnc, cert_install=r.cps)
    cfg = {"tls": True, "auth": ("PnC", "EIM"), "certificate_installation": True}
    cfg.update(secc_cfg or {})
    r.secc = Secc(cfg, r.charger, 0, rng=os.urandom, clock_s=CLOCK)
    evcfg = {"service": service, "control": "scheduled", "loops": loops, "tls": True}
    evcfg.update(hv.install_config(directory))
    evcfg.update(ev_cfg or {})
    r.verifier = verifier or hv.InstallationVerifier.from_pki(directory)
    r.vehicle = Vehicle(Battery(capacity_wh=60000, soc=50.0), crypto=r.rig.crypto, cps_verifier=r.verifier)
    r.ev = Evcc(evcfg, r.vehicle, 0, clock_s=CLOCK)
    r.ev.start(0)
    r.trace, r.now = exchange(r.ev, r.secc, r.charger, tamper)
    return r


def sent(r, name):
    return [b for t, n, b, d in r.trace if n == name]


def names(r, to="secc"):
    return [n for t, n, b, d in r.trace if t == to]


def ev_events(r, kind):
    return [e[1] for e in r.ev.events if e[0] == kind]


def nothing_installed(r):
    for ref in [KEY, LEAF] + SUBS:
        assert ref not in r.rig.chip.objects, hex(ref)


def point_of(cert):
    return cert.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


# --- the installation and the next session --------------------------------------------------------

def test_install_then_pnc_now_and_in_the_next_session(pki):
    r = session(pki)
    assert r.ev.result == ("done", "Terminate: 3 loops done"), (r.ev.result, r.cps.log, r.verifier.log)
    assert names(r)[2:5] == ["AuthorizationSetupReq", "CertificateInstallationReq", "AuthorizationReq"]
    assert r.cps.log == [("OK", [])] and r.verifier.log == [(True, [])]
    assert [b["ResponseCode"] for b in sent(r, "AuthorizationRes")] == ["OK"]
    assert r.secc.ctx.auth_service == "PnC" and r.power.enabled
    (info,) = ev_events(r, "contract_installed")
    assert info == {"key": KEY, "chain": [LEAF] + SUBS[:2], "emaid": "DEM15C12345678J", "remaining": 0}
    issued = r.cps.issued[-1]["cert"]
    # the request: signed in the SE050 with the OEM provisioning key
    (req,) = sent(r, "CertificateInstallationReq")
    oem = ca.Pki.open(pki).cert("oem_prov_leaf")
    assert x509.load_der_x509_certificate(req[OEM]["Certificate"]) == oem
    assert len(req[OEM]["SubCertificates"]["Certificate"]) == 2
    root = ca.Pki.open(pki).cert("v2g_root")
    assert req["ListOfRootCertificateIDs"]["RootCertificateID"] == [
        {"X509IssuerName": root.subject.rfc4514_string(), "X509SerialNumber": root.serial_number}]
    # the chip: one ECDH; the new key pair whose private part never comes out
    chip = r.rig.chip
    assert chip.stats["commands"].get("ECDH") == 1
    obj = chip.objects[KEY]
    assert obj.kind == "pair"
    assert r.rig.se.read_public_key(KEY) == point_of(issued)
    assert r.rig.se.read_binary(LEAF) == issued.public_bytes(serialization.Encoding.DER)
    subs = ca.Pki.open(pki).chain("mo_sub2")
    assert [r.rig.se.read_binary(s) for s in SUBS[:2]] == [c.public_bytes(serialization.Encoding.DER) for c in subs]
    # the PnC request right after: signed with the new key over the new chain
    (auth,) = sent(r, "AuthorizationReq")
    chain = auth["PnC_AReqAuthorizationMode"]["ContractCertificateChain"]
    assert x509.load_der_x509_certificate(chain["Certificate"]) == issued
    # the driver's buffers hold no trace of the scalar
    scalar = obj.key.private_numbers().private_value.to_bytes(66, "big")
    t1 = r.rig.se.t1
    for buf in (r.rig.se._cmd, t1._tx, t1._rx, t1._rsp, t1._ctl):
        assert scalar[:16] not in bytes(buf) and scalar[-16:] not in bytes(buf)

    # the next session: PnC with the installed contract, nothing installed again
    cfg = dict(hv.installed_config(info), install_contract=False)
    r2 = session(pki, rig=r.rig, ev_cfg=cfg)
    assert r2.ev.result == ("done", "Terminate: 3 loops done"), (r2.ev.result, r2.pnc.log)
    assert "CertificateInstallationReq" not in names(r2)
    assert [b["ResponseCode"] for b in sent(r2, "AuthorizationRes")] == ["OK"]
    assert r2.pnc.log == [("OK", [])] and r2.secc.ctx.auth_service == "PnC"
    assert names(r2)[-1] == "SessionStopReq" and r2.secc.state == "SessionStop"
    assert r2.rig.chip.stats["commands"].get("ECDH") == 1          # no new unwrap


def test_ongoing_at_the_back_end(pki):
    r = session(pki, cps=Cps(pki, pending=3), service="ac")
    assert r.ev.result[0] == "done", r.ev.result
    reqs = sent(r, "CertificateInstallationReq")
    assert len(reqs) == 4 and r.cps.calls == 4
    assert all(q[OEM] == reqs[0][OEM] and q["Header"]["Signature"] == reqs[0]["Header"]["Signature"] for q in reqs)
    assert [b["EVSEProcessing"] for b in sent(r, "CertificateInstallationRes")] == ["Ongoing"] * 3 + ["Finished"]
    # the request once, the key check of V2G20-2507 (sign + verify in the chip), then PnC
    cmds = r.rig.chip.stats["commands"]
    assert cmds.get("ECDSASign") == 3 and cmds.get("ECDSAVerify") == 1, cmds


# --- the EV refuses a bad installation ----------------------------------------------------------------

def _in_res(change):
    def tamper(to, name, body):
        if name == "CertificateInstallationRes" and body["ResponseCode"] == "OK":
            change(body)
        return body
    return tamper


def _sig_value(body):
    sv = body["Header"]["Signature"]["SignatureValue"]
    sv["#text"] = _flip(sv["#text"], 50)


def _dh_key(body):
    body[SID]["DHPublicKey"] = _flip(body[SID]["DHPublicKey"], 60)


def _wrapped(body):
    body[SID]["SECP521_EncryptedPrivateKey"] = _flip(body[SID]["SECP521_EncryptedPrivateKey"], 30)


def _cps_chain(body):
    # a chain the EV does not trust for this: the contract's own
    body["CPSCertificateChain"] = dict(body[SID]["ContractCertificateChain"])


@pytest.mark.parametrize("change", [_sig_value, _dh_key, _wrapped, _cps_chain],
                         ids=["signature", "dh_public_key", "wrapped_key", "cps_chain"])
def test_tampered_installation_data_is_refused(pki, change):
    r = session(pki, tamper=_in_res(change))
    (why,) = ev_events(r, "install_invalid")
    assert "CPS signature or chain refused" in why, why
    assert r.verifier.log[-1][0] is False and r.verifier.log[-1][1]
    nothing_installed(r)
    assert "ECDH" not in r.rig.chip.stats["commands"]
    # EIM instead, so the session still charges
    assert [b["SelectedAuthorizationService"] for b in sent(r, "AuthorizationReq")] == ["EIM"]
    assert r.ev.result[0] == "done"
    # ... unless the EV will not: then it ends politely, nothing flows
    r = session(pki, tamper=_in_res(change), ev_cfg={"eim_fallback": False})
    assert r.ev.result[0] == "failed" and names(r)[-1] == "SessionStopReq", r.ev.result
    nothing_installed(r)
    assert not r.power.enabled


def test_a_key_wrapped_for_another_aad_is_refused_by_the_tag(pki, monkeypatch):
    # a correctly signed response whose key does not unwrap: the CPS wrapped
    # it with another PCID in the AAD
    monkeypatch.setattr(hcps, "aad", lambda pcid, ski: b"X" + pcid[1:].encode() + ski.hex().upper().encode())
    r = session(pki)
    (why,) = ev_events(r, "install_invalid")
    assert "tag does not verify" in why, why
    assert r.verifier.log[-1][0] is True
    assert r.rig.chip.stats["commands"].get("ECDH") == 1
    nothing_installed(r)
    assert r.ev.result[0] == "done" and r.secc.ctx.auth_service == "EIM"


# --- the CPS refuses a bad request ------------------------------------------------------------------------

def _req_sig(to, name, body):
    if name == "CertificateInstallationReq":
        sv = body["Header"]["Signature"]["SignatureValue"]
        sv["#text"] = _flip(sv["#text"], 70)
    return body


def test_a_wrong_oem_provisioning_signature_is_failed_signature_error(pki):
    vehicle_key = int(hv._entry(os.path.join(pki, "se050", "vehicle.json"), "vehicle_leaf")["key"]["object_id"], 16)
    for kw in ({"tamper": _req_sig}, {"ev_cfg": {"oem_prov_key": vehicle_key}}):
        r = session(pki, **kw)
        assert [b["ResponseCode"] for b in sent(r, "CertificateInstallationRes")] == ["FAILED_SignatureError"]
        assert r.cps.log[-1][0] == "FAILED_SignatureError" and "does not verify" in r.cps.log[-1][1][0]
        assert r.cps.issued == [] and r.verifier.log == []
        assert r.ev.result == ("failed", "FAILED_SignatureError")
        nothing_installed(r)
        assert not r.power.enabled and r.secc.ctx.service is None


def test_oem_chain_and_contract_problems_are_warnings(pki):
    p = ca.Pki.open(pki)
    far = p.cert("oem_prov_leaf").not_valid_after_utc + dt.timedelta(days=1)
    cases = [
        (Cps(pki, anchors=[p.cert("mo_root")]), "WARNING_CertificateValidationError"),   # OEM root unknown
        (Cps(pki, clock=lambda: far), "WARNING_CertificateExpired"),
        (Cps(pki, contracts={}), "WARNING_NoContractMatchingPCIDFound"),
        (Cps(pki, contracts=lambda pcid: None), "WARNING_NoContractMatchingPCIDFound"),
    ]
    for backend, code in cases:
        r = session(pki, cps=backend)
        assert [b["ResponseCode"] for b in sent(r, "CertificateInstallationRes")] == [code], backend.log
        assert ev_events(r, "install_refused") == [code]
        assert backend.issued == []
        nothing_installed(r)
        assert [b["SelectedAuthorizationService"] for b in sent(r, "AuthorizationReq")] == ["EIM"]
        assert r.ev.result[0] == "done"


def test_no_installation_without_tls_or_the_offer(pki):
    for secc_cfg in ({"tls": False}, {"certificate_installation": False}):
        r = session(pki, secc_cfg=secc_cfg)
        assert "CertificateInstallationReq" not in names(r) and r.cps.calls == 0
        assert [b["SelectedAuthorizationService"] for b in sent(r, "AuthorizationReq")] == ["EIM"]
        assert r.ev.result[0] == "done"
        assert "ECDSASign" not in r.rig.chip.stats["commands"]


# --- the key wrap, both implementations ------------------------------------------------------------------

def test_key_wrap_cps_and_firmware_agree(pki):
    p = ca.Pki.open(pki)
    crypto = hv.SoftCrypto.from_bundle(os.path.join(pki, "se050", "vehicle.json"))
    oem_ref = int(hv._entry(os.path.join(pki, "se050", "vehicle.json"), "oem_prov_leaf")["key"]["object_id"], 16)
    oem_key = crypto.keys[oem_ref]
    pcid, ski = "M15PCID0000000001", bytes(range(20))
    for _ in range(5):
        contract = ec.generate_private_key(ec.SECP521R1())
        point = point_of(contract)
        # cps (cryptography) -> firmware
        dh, wrapped = hcps.wrap_key(contract, oem_key.public_key(), pcid, ski)
        assert len(dh) == 133 and len(wrapped) == 94
        contract_key.install(crypto, oem_ref, dh, wrapped, contract_key.aad(pcid, ski), 0x15118499, point)
        assert crypto.keys[0x15118499].private_numbers() == contract.private_numbers()
        # firmware-style wrap (aesgcm + session_key over the seam) -> cps.unwrap_key
        eph = ec.generate_private_key(ec.SECP521R1())
        z = bytearray(eph.exchange(ec.ECDH(), oem_key.public_key()))
        k = bytearray(32)
        contract_key.session_key(crypto, z, 66, k)
        assert bytes(k) == hcps.session_key(bytes(z))
        from micro15118.iso20.evcc import aesgcm
        iv = os.urandom(12)
        out = bytearray(66)
        d = contract.private_numbers().private_value.to_bytes(66, "big")
        tag = aesgcm.encrypt(k, iv, d, contract_key.aad(pcid, ski), out)
        back = hcps.unwrap_key(oem_key, point_of(eph), iv + bytes(out) + tag, pcid, ski)
        assert back.private_numbers() == contract.private_numbers()
    # the order the firmware compares the key with (SEC 2: secp521r1 n)
    n = int("6864797660130609714981900799081393217269435300143305409394463459185543183397655394245057746333217197"
            "532963996371363321113864768612440380340372808892707005449")
    assert int.from_bytes(contract_key.P521_ORDER, "big") == n
    assert p.profile == "iso20"


def test_a_20_octet_serial_encodes():
    # RFC 5280 allows serials of up to 20 octets; the codec stops at 168 bits
    body = {"Header": msg.header(b"\x01" * 8, 1),
            OEM: {"@Id": "id1", "Certificate": b"\x30\x00", "SubCertificates": {"Certificate": [b"\x30\x00"]}},
            "ListOfRootCertificateIDs": {"RootCertificateID": [{"X509IssuerName": "CN=x",
                                                                "X509SerialNumber": 2 ** 160 - 1}]},
            "MaximumContractCertificateChains": 1}
    assert msg.decode(*msg.encode("CertificateInstallationReq", body))[1] == body
    body["ListOfRootCertificateIDs"]["RootCertificateID"][0]["X509SerialNumber"] = 2 ** 168
    with pytest.raises(exi.ExiError):
        msg.encode("CertificateInstallationReq", body)


# --- python-iso15118 decodes what we send -------------------------------------------------------------------

def test_python_iso15118_decodes_our_messages(pki):
    pytest.importorskip("iso15118")
    from test_pnc import _JarCodec
    from host.harness.exi_oracle import JosevCodec
    from iso15118.shared.exi_codec import EXI
    from iso15118.shared.messages.enums import Namespace
    from iso15118.shared.settings import SettingKey, shared_settings
    shared_settings.setdefault(SettingKey.MESSAGE_LOG_JSON, False)
    shared_settings.setdefault(SettingKey.MESSAGE_LOG_EXI, False)
    codec = JosevCodec()
    old = EXI().exi_codec
    EXI().set_exi_codec(_JarCodec(codec))
    try:
        r = session(pki, loops=1)
        (raw_req,) = [d for t, n, b, d in r.trace if n == "CertificateInstallationReq"]
        (raw_res,) = [d for t, n, b, d in r.trace if n == "CertificateInstallationRes"]
        (ours_req,) = sent(r, "CertificateInstallationReq")
        (ours_res,) = sent(r, "CertificateInstallationRes")
        req = EXI().from_exi(raw_req, Namespace.ISO_V20_COMMON_MSG)
        assert req.oem_prov_cert_chain.id == "id1"
        assert req.oem_prov_cert_chain.certificate == ours_req[OEM]["Certificate"]
        assert req.max_contract_cert_chains == 1
        si = req.header.signature.signed_info
        assert si.reference[0].uri == "#id1" and str(si.signature_method.algorithm) == xmldsig.ECDSA_SHA512
        # the signed element as python-iso15118 encodes it: our fragment, so our digest
        theirs = EXI().to_exi(req.oem_prov_cert_chain, Namespace.ISO_V20_COMMON_MSG)
        assert theirs == exi.encode(CM, {OEM: ours_req[OEM]}, fragment=True)
        res = EXI().from_exi(raw_res, Namespace.ISO_V20_COMMON_MSG)
        data = res.signed_installation_data
        assert data.id == "id1" and data.dh_public_key == ours_res[SID]["DHPublicKey"]
        assert data.secp521_encrypted_private_key == ours_res[SID]["SECP521_EncryptedPrivateKey"]
        assert res.remaining_contract_cert_chains == 0
    finally:
        EXI().exi_codec = old


# --- mutated responses ------------------------------------------------------------------------------------------

def test_mutated_installation_responses_never_break_the_ev(pki):
    """The genuine CertificateInstallationRes, mutated (bit level and in its
    values), given to an EV that got genuine answers so far: nothing escapes,
    a contract is imported only from the signed content as the CPS made it."""
    bundle = os.path.join(pki, "se050", "vehicle.json")
    good = session(pki, loops=1)
    answers = [(msg.ptype_of(n), d) for t, n, b, d in good.trace if t == "ev"]
    at = [msg.decode(*a)[0] for a in answers].index("CertificateInstallationRes")
    genuine = msg.decode(*answers[at])[1]
    verifier = hv.InstallationVerifier.from_pki(pki)
    rnd = random.Random(15118)
    tally = {"installed": 0, "refused": 0, "other": 0}

    def fresh():
        keys = hv.SoftCrypto.from_bundle(bundle)
        keys.keys = {k: v for k, v in keys.keys.items() if not 0x15118400 <= k < 0x15118480}
        cfg = {"service": "dc", "loops": 1, "tls": True}
        cfg.update(hv.install_config(pki))
        ev = Evcc(cfg, Vehicle(Battery(capacity_wh=60000, soc=50.0), crypto=keys, cps_verifier=verifier),
                  0, clock_s=CLOCK)
        ev.start(0)
        for a in answers[:at]:
            ev.out.clear()
            ev.handle(*a, 0)
        ev.out.clear()
        return ev, keys

    for i in range(400):
        ev, keys = fresh()
        if i % 2:
            ptype, data = answers[at][0], mutate(rnd, answers[at][1], [answers[at][1]], BASIC)
        else:
            body = copy.deepcopy(genuine)
            nodes = []
            _walk(body, (), nodes)
            path, _ = rnd.choice(nodes)
            _set(body, path, rnd.choice([b"", b"\x00" * 133, 0, 255, "SECP521", "X448", {}, []]))
            try:
                ptype, data = msg.encode("CertificateInstallationRes", body)
            except (ValueError, TypeError, KeyError):
                continue
        ev.handle(ptype, data, 1000)
        for t in (1200, 5000, 20000, 70000):
            ev.poll(t)
        installed = KEY in keys.keys
        if installed:
            tally["installed"] += 1
            got = msg.decode(ptype, data)[1]
            assert got[SID] == genuine[SID] and got["Header"]["Signature"] == genuine["Header"]["Signature"]
            assert got["CPSCertificateChain"] == genuine["CPSCertificateChain"]
        elif any(e[0] in ("install_invalid", "install_refused") for e in ev.events) or ev.ended:
            tally["refused"] += 1
        else:
            tally["other"] += 1
        for p, d in ev.out:
            msg.decode(p, d)
    assert tally["refused"] > 150 and tally["installed"] > 0, tally


def _walk(x, path, out):
    if isinstance(x, dict):
        for k in x:
            out.append((path + (k,), x[k]))
            _walk(x[k], path + (k,), out)
    elif isinstance(x, list):
        for i, y in enumerate(x):
            out.append((path + (i,), y))
            _walk(y, path + (i,), out)


def _set(body, path, val):
    x = body
    for p in path[:-1]:
        x = x[p]
    x[path[-1]] = val


def test_mutated_installation_requests_never_break_the_secc(pki):
    """Mutated CertificateInstallationReqs (bit level and dict level, as the
    SECC fuzzer does) fed to an SECC waiting for one, behind the real CPS: no
    internal error, one decodable response, power off after FAILED, and a
    contract only for a request whose signed chain and signature are intact."""
    good = session(pki, loops=1)
    (raw,) = [d for t, n, b, d in good.trace if n == "CertificateInstallationReq"]
    (body,) = sent(good, "CertificateInstallationReq")
    sid = body["Header"]["SessionID"]
    cps = Cps(pki)
    verifier = Verifier.from_pki(pki)
    charger = Charger(WatchedPower(0), authorized=None, pnc=verifier, cert_install=cps)
    secc = Secc({"tls": True, "auth": ("PnC", "EIM"), "certificate_installation": True}, charger, 0,
                clock_s=CLOCK, rng=lambda n: sid if n == 8 else b"\x5a" * n)
    for t, n, b, d in good.trace:
        if t == "secc" and n in ("supportedAppProtocolReq", "SessionSetupReq", "AuthorizationSetupReq"):
            secc.handle(msg.ptype_of(n), d, 0)
    secc.out.clear()
    assert secc.state == "Authorization" and "CertificateInstallationReq" in secc.allowed
    pool = fuzz_secc.build_pool([[(None, msg.COMMON, raw)]])[0]
    rnd = random.Random(15118)
    tally = {"ok": 0, "failed": 0, "warning": 0}
    for i in range(240):
        s = copy.deepcopy(secc, {id(cps): cps, id(verifier): verifier})
        p = s.charger.power
        if i % 2:
            data = mutate(rnd, raw, [raw], BASIC)
        else:
            try:
                data = msg.encode("CertificateInstallationReq", fuzz_secc.mutate_dict(rnd, body, pool))[1]
            except ValueError:
                continue
        issued = len(cps.issued)
        s.handle(msg.COMMON, data, 1000)
        assert s.errors == 0, getattr(s, "last_error", None)
        assert len(s.out) == 1
        name, res = msg.decode(*s.out[0])
        code = res["ResponseCode"]
        if msg.failed(code):
            assert not p.closed and not p.enabled
            tally["failed"] += 1
        elif code.startswith("WARNING"):
            tally["warning"] += 1
        if code == "OK" and name == "CertificateInstallationRes":
            tally["ok"] += 1
            got = msg.decode(msg.COMMON, data)[1]
            assert got[OEM] == body[OEM] and got["Header"]["Signature"] == body["Header"]["Signature"]
            assert len(cps.issued) == issued + 1
        else:
            assert len(cps.issued) == issued
        for t in (5000, 70000):
            s.poll(1000 + t)
            assert s.errors == 0
    assert tally["ok"] > 5 and tally["failed"] > 50, tally
