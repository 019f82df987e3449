# CertificateInstallation at the EVCC (also under MicroPython): evcc/certificate_installation.py
# against our SECC with a scripted back end that wraps a key for the fake crypto seam, and a
# scripted vehicle verifier: the request made once and repeated while Ongoing, the key unwrapped and
# imported, the chain stored, then PnC with the new contract; waiting for the verifier; refusals,
# tampering and failures leave nothing in the "chip" and fall back to EIM or end politely.
from micro15118 import exi
from micro15118.iso20 import msg
from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc import certificate_installation as ev_install
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.iso20.vehicle import Vehicle
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel

from test_iso20_cert_crypto import CONTRACT, OEM_LEAF, POINT, SCALAR, InstallCrypto, wrap
from test_iso20_cert_secc import ScriptedInstall, installation
from test_iso20_pnc import ScriptedPnc

OEM = "OEMProvisioningCertificateChain"
SID = "SignedInstallationData"
CM = "-20:CommonMessages"
T0 = 1700000000


# --- the EVCC against our SECC --------------------------------------------------------------------

class ScriptedVerifier:
    """The vehicle's CPS verifier, scripted: answers in turn (the last repeats)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def verify_installation(self, evidence, now):
        self.calls.append((evidence, now))
        if len(self.answers) > 1:
            return self.answers.pop(0)
        return self.answers[0]


INSTALL = {"auth": "pnc", "tls": True, "install_contract": True, "oem_prov_key": "0x15118300",
           "oem_prov_chain": [OEM_LEAF, b"OEMSUB2" * 40],
           "root_cert_ids": [("CN=V2G Root CA,O=micro15118 test PKI,C=DE,DC=V2G", 22090784)]}


class Run:
    pass


def run(answers=None, verdicts=(True,), ev_cfg=None, secc_cfg=None, crypto=None, tamper=None, limit=20000):
    r = Run()
    clock = lambda: T0  # noqa: E731
    r.power = PowerModel(0)
    r.backend = ScriptedInstall(*(answers or (installation(),)))
    r.pnc = ScriptedPnc("OK")
    cfg = {"tls": True, "auth": ("PnC", "EIM"), "certificate_installation": True}
    cfg.update(secc_cfg or {})
    r.secc = Secc(cfg, Charger(r.power, authorized=True, pnc=r.pnc, cert_install=r.backend), 0,
                  lambda n: b"\x5a" * n, clock)
    evcfg = {"service": "dc", "control": "scheduled", "loops": 2}
    evcfg.update(INSTALL)
    evcfg.update(ev_cfg or {})
    r.crypto = crypto if crypto is not None else InstallCrypto()
    r.verifier = ScriptedVerifier(*verdicts)
    r.ev = Evcc(evcfg, Vehicle(Battery(now=0), crypto=r.crypto, cps_verifier=r.verifier), 0, clock_s=clock)
    r.sent = []
    r.ev.start(0)
    t = 0
    for _ in range(limit):
        while r.ev.out or r.secc.out:
            while r.ev.out:
                p, d = r.ev.out.pop(0)
                r.sent.append(msg.decode(p, d))
                r.secc.handle(p, d, now=t)
            while r.secc.out:
                p, d = r.secc.out.pop(0)
                if tamper is not None:
                    n, b = msg.decode(p, d)
                    p, d = msg.encode(n, tamper(n, b))
                r.ev.handle(p, d, now=t)
        if r.ev.ended:
            break
        ds = [d for d in (r.ev.next_deadline(), r.secc.next_deadline()) if d is not None]
        t = max(t + 1, min(ds)) if ds else t + 10
        r.ev.poll(t)
        r.secc.poll(t)
    r.t = t
    return r


def names(r):
    return [n for n, b in r.sent]


def events(r, kind):
    return [e for e in r.ev.events if e[0] == kind]


def test_evcc_installs_then_authorizes_with_the_new_contract():
    r = run(answers=(None, None, installation()))
    assert r.ev.result[0] == "done", r.ev.result
    assert names(r)[:8] == ["supportedAppProtocolReq", "SessionSetupReq", "AuthorizationSetupReq",
                            "CertificateInstallationReq", "CertificateInstallationReq",
                            "CertificateInstallationReq", "AuthorizationReq", "ServiceDiscoveryReq"]
    reqs = [b for n, b in r.sent if n == "CertificateInstallationReq"]
    # made once: one signature with the OEM provisioning key, the same element and signature repeated
    assert [s[0] for s in r.crypto.signed][:1] == [0x15118300]
    for q in reqs[1:]:
        assert q[OEM] == reqs[0][OEM] and q["Header"]["Signature"] == reqs[0]["Header"]["Signature"]
    q = reqs[0]
    assert q[OEM] == {"@Id": "id1", "Certificate": OEM_LEAF, "SubCertificates": {"Certificate": [b"OEMSUB2" * 40]}}
    assert q["ListOfRootCertificateIDs"]["RootCertificateID"][0]["X509SerialNumber"] == 22090784
    assert q["MaximumContractCertificateChains"] == 1 and "PrioritizedEMAIDs" not in q
    # the verifier saw the SignedInstallationData's evidence
    (e, _), = r.verifier.calls
    assert e["leaf"] == b"CPSLEAF" * 60 and e["sub_cas"] == [b"CPSSUB2" * 50]
    assert e["element"] == exi.encode(CM, {SID: installation()[1][SID]}, fragment=True)
    # the key, then the chain, in the slot's objects
    key, leaf, subs = ev_install.refs(0)
    assert r.crypto.objects[key] == ("key", SCALAR, POINT)
    assert r.crypto.objects[leaf] == ("cert", CONTRACT)
    assert r.crypto.objects[subs[0]] == ("cert", b"MOSUB2" * 50) and subs[2] not in r.crypto.objects
    (info,), = [e[1:] for e in events(r, "contract_installed")]
    assert info == {"key": key, "chain": [leaf, subs[0], subs[1]], "emaid": "DEM15C12345678J", "remaining": 0}
    # PnC signed with the new key over the AuthorizationSetupRes challenge, the chain from the chip
    (auth,) = [b for n, b in r.sent if n == "AuthorizationReq"]
    assert auth["SelectedAuthorizationService"] == "PnC"
    mode = auth["PnC_AReqAuthorizationMode"]
    assert mode["GenChallenge"] == b"\x5a" * 16
    assert mode["ContractCertificateChain"] == {"Certificate": CONTRACT,
                                                "SubCertificates": {"Certificate": [b"MOSUB2" * 50, b"MOSUB1" * 50]}}
    assert r.crypto.signed[-1][0] == key
    assert r.secc.ctx.auth_service == "PnC" and r.power.meter(10 ** 6)[0] > 0


def test_evcc_waits_for_its_verifier():
    r = run(verdicts=(None, None, True))
    assert r.ev.result[0] == "done", r.ev.result
    assert len(r.verifier.calls) == 3
    assert r.verifier.calls[1][1] - r.verifier.calls[0][1] >= 100
    assert events(r, "contract_installed")
    # a verifier that never decides: the EV gives up politely, nothing imported
    r = run(verdicts=(None,))
    assert r.ev.result[0] == "failed" and "did not decide" in r.ev.result[1], r.ev.result
    assert names(r)[-1] == "SessionStopReq" and r.crypto.objects == {}


def test_evcc_refused_response_falls_back_to_eim_or_ends():
    for verdicts, answers, why in (
            (("bad CPS chain",), None, "install_invalid"),
            ((True,), (("WARNING_NoContractMatchingPCIDFound", None),), "install_refused"),
            ((True,), (installation(w=wrap(pcid="OTHERPCID")[1]),), "install_invalid"),
    ):
        r = run(answers, verdicts)
        assert r.ev.result[0] == "done", (why, r.ev.result)
        assert events(r, why), (why, r.ev.events)
        assert [b["SelectedAuthorizationService"] for n, b in r.sent if n == "AuthorizationReq"] == ["EIM"]
        assert r.crypto.objects == {}
        r = run(answers, verdicts, ev_cfg={"eim_fallback": False})
        assert r.ev.result[0] == "failed" and names(r)[-1] == "SessionStopReq", r.ev.result
        assert r.crypto.objects == {} and r.power.meter(10 ** 6) == (0, 0)


def test_evcc_rejects_tampered_installation_data():
    def tamper_sig(n, b):
        if n == "CertificateInstallationRes" and "Signature" in b["Header"]:
            del b["Header"]["Signature"]
        return b

    def tamper_curve(n, b):
        if n == "CertificateInstallationRes":
            b[SID]["ECDHCurve"] = "X448"
        return b

    for tamper in (tamper_sig, tamper_curve):
        r = run(tamper=tamper)
        assert events(r, "install_invalid") and r.verifier.calls == [] and r.crypto.objects == {}


def test_evcc_a_failed_write_leaves_nothing():
    c = InstallCrypto()
    c.fail_write = ev_install.refs(0)[2][1]
    r = run(crypto=c)
    assert events(r, "install_invalid") and c.objects == {}, c.objects


def test_evcc_without_the_offer_uses_eim():
    r = run(secc_cfg={"certificate_installation": False})
    assert r.ev.result[0] == "done" and events(r, "no_contract")
    assert "CertificateInstallationReq" not in names(r)


def test_evcc_signing_failure_falls_back_or_declines():
    class Broken(InstallCrypto):
        def sign_sha512(self, key, digest):
            raise OSError("SE050 gone")
    r = run(crypto=Broken())
    assert r.ev.result[0] == "done" and events(r, "install_unavailable")
    r = run(crypto=Broken(), secc_cfg={"auth": ("PnC",)})
    assert r.ev.result[0] == "failed" and "CertificateInstallationReq" in r.ev.result[1], r.ev.result


def test_evcc_config_for_installation():
    ok = dict(INSTALL)
    Evcc(ok, Vehicle(Battery(now=0)), 0, clock_s=lambda: T0)
    for change in ({"oem_prov_key": None}, {"oem_prov_chain": [OEM_LEAF]}, {"root_cert_ids": []},
                   {"install_contract": False}, {"contract_slot": 128},
                   {"prioritized_emaids": ["A"] * 9}):
        cfg = dict(ok)
        cfg.update(change)
        try:
            Evcc(cfg, Vehicle(Battery(now=0)), 0, clock_s=lambda: T0)
        except ValueError:
            continue
        raise AssertionError(change)
    assert ev_install.refs(3) == (0x15118403, 0x15118483, [0x1511850C, 0x1511850D, 0x1511850E])
