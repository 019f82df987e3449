# The EVCC's Plug-and-Charge (iso20/evcc/authorization*.py) against our SECC with a scripted
# charger seam, in process on a virtual clock (also under MicroPython): PnC chosen over TLS, the
# signed request made once and repeated while Ongoing, the fallback to EIM after a refusal or a
# failed signature, and the polite end without one.  The crypto seam is a fake with deterministic
# digests; tests/test_pnc.py runs the real SE050 driver, model and verifier.
from micro15118 import exi
from micro15118.iso20 import msg
from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.iso20.vehicle import Vehicle
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel

from test_iso20_pnc import FakeCrypto, ScriptedPnc

T0 = 1700000000
CONTRACT = {"auth": "pnc", "tls": True, "contract_key": "0x15118400",
            "contract_chain": ["0x15118480", b"SUB2" * 90, b"SUB1" * 80]}


class Wire:
    def __init__(self):
        self.sent = []              # (name, body) the EV sent


def run(ev_cfg=None, answers=("OK",), secc_cfg=None, crypto=None, authorized=True, limit=20000):
    clock = lambda: T0  # noqa: E731
    power = PowerModel(0)
    verifier = ScriptedPnc(*answers)
    cfg = {"tls": True, "auth": ("PnC", "EIM")}
    cfg.update(secc_cfg or {})
    secc = Secc(cfg, Charger(power, authorized=authorized, pnc=verifier), 0, lambda n: b"\x5a" * n, clock)
    evcfg = {"service": "dc", "control": "scheduled", "loops": 3}
    evcfg.update(CONTRACT)
    evcfg.update(ev_cfg or {})
    crypto = crypto if crypto is not None else FakeCrypto()
    ev = Evcc(evcfg, Vehicle(Battery(now=0), crypto=crypto), 0, clock_s=clock)
    wire = Wire()
    ev.start(0)
    t = 0
    for _ in range(limit):
        while ev.out or secc.out:
            while ev.out:
                p, d = ev.out.pop(0)
                wire.sent.append(msg.decode(p, d))
                secc.handle(p, d, now=t)
            while secc.out:
                ev.handle(*secc.out.pop(0), now=t)
        if ev.ended:
            break
        ds = [d for d in (ev.next_deadline(), secc.next_deadline()) if d is not None]
        t = max(t + 1, min(ds)) if ds else t + 10
        ev.poll(t)
        secc.poll(t)
    return ev, secc, verifier, power, wire


def auth_reqs(wire):
    return [b for n, b in wire.sent if n == "AuthorizationReq"]


def test_pnc_session():
    ev, secc, v, power, wire = run()
    assert ev.result[0] == "done", ev.result
    (req,), = [auth_reqs(wire)]
    assert req["SelectedAuthorizationService"] == "PnC"
    mode = req["PnC_AReqAuthorizationMode"]
    assert mode["@Id"] == "id1" and mode["GenChallenge"] == b"\x5a" * 16
    # the chain: the leaf read through the crypto seam (SE050 object 0x15118480), the sub-CAs as given
    chain = mode["ContractCertificateChain"]
    assert chain["Certificate"] == FakeCrypto().read_certificate(0x15118480)
    assert chain["SubCertificates"]["Certificate"] == [b"SUB2" * 90, b"SUB1" * 80]
    sig = req["Header"]["Signature"]
    c = FakeCrypto()
    frag = exi.encode("-20:CommonMessages", {"PnC_AReqAuthorizationMode": mode}, fragment=True)
    assert sig["SignedInfo"]["Reference"][0]["DigestValue"] == c.sha512(frag)
    assert ev.vehicle.crypto.signed[0][0] == 0x15118400
    assert secc.ctx.auth_service == "PnC"
    assert power.meter(10 ** 6)[0] > 0           # energy flowed after PnC


def test_ongoing_repeats_the_same_signed_request():
    ev, secc, v, power, wire = run(answers=(None, None, None, "OK"))
    assert ev.result[0] == "done", ev.result
    reqs = auth_reqs(wire)
    assert len(reqs) == 4 and len(ev.vehicle.crypto.signed) == 1
    for r in reqs[1:]:
        assert r["PnC_AReqAuthorizationMode"] == reqs[0]["PnC_AReqAuthorizationMode"]
        assert r["Header"]["Signature"] == reqs[0]["Header"]["Signature"]
    assert v.calls[0][0] is v.calls[3][0]


def test_refused_pnc_falls_back_to_eim():
    ev, secc, v, power, wire = run(answers=(msg.WARNING_CERTIFICATE_REVOKED,))
    assert ev.result[0] == "done", ev.result
    assert [r["SelectedAuthorizationService"] for r in auth_reqs(wire)] == ["PnC", "EIM"]
    assert ("pnc_refused", msg.WARNING_CERTIFICATE_REVOKED) in ev.events
    assert secc.ctx.auth_service == "EIM"


def test_refused_pnc_without_eim_ends_politely():
    for ev_cfg, secc_cfg in (({"eim_fallback": False}, None), (None, {"auth": ("PnC",)})):
        ev, secc, v, power, wire = run(ev_cfg, (msg.WARNING_EMSP_UNKNOWN,), secc_cfg)
        assert ev.result == ("failed", msg.WARNING_EMSP_UNKNOWN), ev.result
        assert [n for n, b in wire.sent][-2:] == ["AuthorizationReq", "SessionStopReq"]
        assert power.meter(10 ** 6) == (0, 0) and not power.closed


def test_signature_error_ends_the_session():
    ev, secc, v, power, wire = run(answers=(msg.FAILED_SIGNATURE_ERROR,))
    assert ev.result == ("failed", msg.FAILED_SIGNATURE_ERROR), ev.result
    assert not power.closed


def test_eim_when_pnc_cannot_be_used():
    # no TLS on the EV's side, no TLS at the SECC, an EIM vehicle
    for ev_cfg, secc_cfg in (({"tls": False}, None), (None, {"tls": False}), ({"auth": "eim"}, None)):
        ev, secc, v, power, wire = run(ev_cfg, secc_cfg=secc_cfg)
        assert ev.result[0] == "done", ev.result
        assert [r["SelectedAuthorizationService"] for r in auth_reqs(wire)] == ["EIM"]
        assert v.calls == [] and "Signature" not in auth_reqs(wire)[0]["Header"]


class BrokenCrypto(FakeCrypto):
    def sign_sha512(self, key, digest):
        raise OSError("SE050 gone")


def test_signing_failure_falls_back_or_declines():
    ev, secc, v, power, wire = run(crypto=BrokenCrypto())
    assert ev.result[0] == "done", ev.result
    assert [r["SelectedAuthorizationService"] for r in auth_reqs(wire)] == ["EIM"]
    assert [e[0] for e in ev.events if e[0] == "pnc_unavailable"] == ["pnc_unavailable"]
    ev, secc, v, power, wire = run(crypto=BrokenCrypto(), secc_cfg={"auth": ("PnC",)})
    assert ev.result[0] == "failed" and "PnC signature" in ev.result[1], ev.result
    assert auth_reqs(wire) == []


def test_pnc_config_needs_a_contract():
    for bad in ({"auth": "pnc"}, {"auth": "pnc", "contract_key": 1, "contract_chain": [b"leaf"]},
                {"auth": "pnc", "contract_key": 1, "contract_chain": [b"x"] * 5}, {"auth": "card"}):
        try:
            Evcc(bad, Vehicle(Battery(now=0)), 0, clock_s=lambda: T0)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_vehicle_certificate_references(tmp="/tmp"):
    v = Vehicle(Battery(now=0), crypto=FakeCrypto())
    assert v.certificate(0x15118480) == FakeCrypto().read_certificate(0x15118480)
    assert v.certificate(b"DER") == b"DER"
    path = tmp + "/micro15118_pnc_test.der"
    with open(path, "wb") as f:
        f.write(b"\x30\x03abc")
    assert v.certificate(path) == b"\x30\x03abc"
    try:
        Vehicle(Battery(now=0)).certificate(1)
    except ValueError:
        return
    raise AssertionError("no crypto seam")
