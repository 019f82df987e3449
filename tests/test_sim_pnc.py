"""Plug-and-Charge in the whole simulated system (issue 12).

`micro15118 sim --tls --auth pnc`: our charger and our EV firmware under
MicroPython on simulated boards.  The EV signs its AuthorizationReq with the
contract key inside its board's SE050 model (the wire process provisions it
from the PKI's DIR/se050/vehicle.json); the charger's MCU sends the
evidence over its host link (PNC_VERIFY_REQUEST) and its host judges it
with host/pnc/verify.py against the PKI.  Read back from the evidence:

* AC, DC and DC_BPT pass with PnC: a signed PnC_AReqAuthorizationMode in
  messages.jsonl (decrypted from the capture), AuthorizationRes OK, the
  vehicle's SE050 model made the one contract signature and its digests,
  the charger's host verified it (result.json "auth");
* every DIR/variants/contract_* case (--contract) exits 0 with its case.json
  ResponseCode on the wire and no power at all; with --eim-fallback the EV
  falls back to EIM and charges;
* the charger's host link pulled while the verification is pending: nothing
  authorized, no power; the same, a timeout and a lost link, on the
  in-process simulation (host/bench/sessionsim.py, virtual clock).
"""
import json
import os
import re
import subprocess
import sys

import pytest

from host.bench import verdict
from host.bench.sim import ensure_pki
from host.pki import ca, variants

CASES = list(variants.CASES)
PNC = "PnC_AReqAuthorizationMode"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_pki(str(tmp_path_factory.mktemp("sim_pnc") / "pki"))


def _sim(out, *args, timeout=180):
    proc = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--out", str(out)] + list(args),
                          capture_output=True, text=True, timeout=timeout)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else None
    return proc, result


def _messages(out):
    return [json.loads(line) for line in open(out / "messages.jsonl")]


def _auth_pairs(msgs):
    """[(AuthorizationReq body, AuthorizationRes body)] in order."""
    out = []
    req = None
    for m in msgs:
        if m.get("name") == "AuthorizationReq":
            req = m["body"]
        elif m.get("name") == "AuthorizationRes" and req is not None:
            out.append((req, m["body"]))
            req = None
    return out


def _case(pki, case):
    with open(os.path.join(pki, "variants", "contract_" + case, "case.json")) as f:
        return json.load(f)


def _contract_cn(pki):
    from host.pki.profile import common_name
    return common_name(ca.Pki.open(pki).cert("contract_leaf").subject)


# --- PnC sessions ---------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["ac", "dc", "dc_bpt"])
def test_sim_pnc_session_passes(tmp_path, pki, service):
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--auth", "pnc", "--pki", pki, "--service", service, "--loops", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass" and result["reasons"] == [], result["reasons"]
    assert result["tls"]["problems"] == []
    msgs = _messages(out)
    assert msgs and all(m.get("tls") for m in msgs)
    pairs = _auth_pairs(msgs)
    assert pairs, [m["name"] for m in msgs]
    for req, res in pairs:
        # every request of the attempt is the signed PnC one (repeated unchanged while Ongoing)
        assert req["SelectedAuthorizationService"] == "PnC" and PNC in req
        sig = req["Header"]["Signature"]
        assert len(bytes.fromhex(sig["SignatureValue"]["#text"])) == 132
        assert sig["SignedInfo"]["Reference"][0]["@URI"] == "#" + req[PNC]["@Id"]
    assert [res["EVSEProcessing"] for _, res in pairs][-1] == "Finished"
    assert pairs[-1][1]["ResponseCode"] == "OK"
    assert all(res["ResponseCode"] == "OK" and res["EVSEProcessing"] == "Ongoing" for _, res in pairs[:-1])
    names = [m["name"] for m in msgs]
    assert names[-1] == "SessionStopRes" and any(n.endswith("ChargeLoopReq") for n in names)
    auth = result["auth"]
    assert auth["asked"] == "pnc" and auth["expected"] == "OK" and auth["service"] == "PnC"
    assert auth["codes"] == ["OK"] and auth["fallback"] is None and auth["problems"] == []
    assert auth["offered"] == ["PnC", "EIM"]
    assert auth["emaid"] == _contract_cn(pki)
    # the charger's host judged the evidence its MCU sent over the host link
    (v,) = auth["verification"]
    assert v["code"] == "OK" and v["reasons"] == [] and v["emaid"] == auth["emaid"]
    assert v["sub_cas"] == 2 and v["ms"] > 0
    assert [x.split()[0] for x in auth["charger_verdicts"]] == ["OK"]
    # the vehicle's SE050 model made the contract signature (one besides the TLS handshake's)
    # and the two SHA-512 digests; the charger's model signed the handshake only
    ev_se = auth["se050"]["vehicle"]
    assert ev_se["signatures"] == 2 and ev_se["tls_signatures"] == 1 and ev_se["pnc_signatures"] == 1
    cmds = ev_se["commands"]
    assert cmds.get("DigestOneShot", 0) + cmds.get("DigestFinal", 0) == 2, cmds
    assert auth["se050"]["charger"]["signatures"] == 1
    assert auth["power"]["contactor_closed"] and auth["power"]["meter_charged_wh"] > 0
    assert "pnc OK" in (out / "charger.log").read_text()
    # the EV's contract settings: the leaf an SE050 object, the PKI's MO sub-CAs as files
    board = json.loads((out / "vehicle_board.json").read_text())
    assert board["auth"] == "pnc" and board["contract_key"] == "0x15118400"
    assert board["contract_chain"][0] == "0x15118480" and len(board["contract_chain"]) == 3


# --- every contract variant ------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_sim_contract_variant_gets_its_code_and_no_power(tmp_path, pki, case):
    want = _case(pki, case)["response_code"]
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--contract", case, "--pki", pki, "--loops", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass", result["reasons"]
    pairs = _auth_pairs(_messages(out))
    finished = [(req, res) for req, res in pairs if res["EVSEProcessing"] == "Finished"]
    assert [res["ResponseCode"] for _, res in finished] == [want]
    assert finished[0][0]["SelectedAuthorizationService"] == "PnC" and PNC in finished[0][0]
    names = [m["name"] for m in _messages(out)]
    # nothing after Authorization but the EV's polite SessionStop
    assert names[names.index("AuthorizationRes"):][-2:] == ["SessionStopReq", "SessionStopRes"]
    assert not any(n.startswith(("ServiceDiscovery", "ChargeParameter", "DC_", "AC_", "PowerDelivery"))
                   for n in names)
    auth = result["auth"]
    assert auth["contract"] == "contract_" + case and auth["expected"] == want
    assert auth["codes"] == [want] and auth["service"] is None and auth["fallback"] is None
    assert auth["power"] == {"meter_charged_wh": 0.0, "meter_discharged_wh": 0.0, "contactor_closed": False}
    assert not any("charger contactor closed" in e for e in result["cable"]["events"])
    (v,) = auth["verification"]
    assert v["code"] == want and v["reasons"], v
    assert auth["ev_exit"] == {"code": 1, "why": want}
    assert auth["se050"]["vehicle"]["pnc_signatures"] == 1
    if case == "chain_too_long":
        assert v["sub_cas"] == 3            # the variant's chain, not the PKI's
    (meter,) = re.findall(r"^METER (\S+)$", (out / "charger.log").read_text(), re.M)
    assert [float(x) for x in meter.split("/")] == [0.0, 0.0]


def test_sim_contract_variant_under_cpython(tmp_path, pki):
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--contract", "revoked", "--pki", pki, "--runtime", "cpython")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["auth"]["codes"] == ["WARNING_CertificateRevoked"]
    assert not result["auth"]["power"]["contactor_closed"]


def test_sim_refused_contract_falls_back_to_eim(tmp_path, pki):
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--contract", "expired", "--eim-fallback", "--pki", pki, "--loops", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass", result["reasons"]
    auth = result["auth"]
    assert auth["codes"] == ["WARNING_CertificateExpired", "OK"]
    assert [a["service"] for a in auth["attempts"]] == ["PnC", "EIM"]
    assert auth["fallback"] == "EIM" and auth["service"] == "EIM"
    assert auth["power"]["contactor_closed"] and result["meter_wh"] > 0
    assert "fallback to EIM" in proc.stdout


# --- the host link pulled while the verification is pending ------------------------------------

def test_sim_host_link_pulled_during_pnc_authorizes_nothing(tmp_path, pki):
    out = tmp_path / "run"
    proc, result = _sim(out, "--tls", "--auth", "pnc", "--pull-host-link-during-pnc", "--pki", pki)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "pass", result["reasons"]
    p = result["pnc_pull"]
    assert p["held"] == 1 and p["charger_exit"] == 0 and p["charger_saw_host_lost_ms"] is not None
    assert not p["powered_before"] and not p["powered_after"]
    pairs = _auth_pairs(_messages(out))
    assert pairs and all(res["EVSEProcessing"] == "Ongoing" for _, res in pairs)
    auth = result["auth"]
    assert auth["service"] is None and auth["codes"] == []
    assert auth["power"] == {"meter_charged_wh": 0.0, "meter_discharged_wh": 0.0, "contactor_closed": False}
    # the MCU's pending request ended with the link, as a refusal (never OK)
    assert [x.split()[0] for x in auth["charger_verdicts"]] == ["WARNING_GeneralPnCAuthorizationError"]


def test_micropython_firmware_refuses_an_argument_it_would_die_on():
    # the unix port interns argv: an argument over 255 bytes is "FATAL: uncaught NLR" at start,
    # which is why the sim passes the chains (long file paths) in a board settings file
    from host.bench.linkrun import EVCC_MAIN, Firmware, FirmwareError
    with pytest.raises(FirmwareError, match="over 255 bytes"):
        Firmware("vehicle", 1, "vehicle", "02:00:00:00:00:02", ("--contract-chain", "/x" * 200),
                 script=EVCC_MAIN)


def test_sim_pnc_options_are_checked(tmp_path):
    for args, text in ((["--auth", "pnc"], "needs --tls"),
                       (["--tls", "--auth", "eim", "--contract", "expired"], "--auth pnc"),
                       (["--tls", "--eim-fallback"], "needs --auth pnc")):
        proc, _ = _sim(tmp_path / "x", *args)
        assert proc.returncode != 0 and text in proc.stderr, (args, proc.stderr)


# --- the verdict's PnC checks ------------------------------------------------------------------

def _msg(name, frm, body):
    return {"name": name, "from": frm, "body": body, "t": 0}


def _exchange(*steps):
    msgs = [_msg("AuthorizationSetupRes", "SECC", {"AuthorizationServices": ["PnC", "EIM"]})]
    for svc, code, processing in steps:
        req = {"Header": {"Signature": {}}, "SelectedAuthorizationService": svc}
        if svc == "PnC":
            req[PNC] = {"@Id": "id1"}
        msgs.append(_msg("AuthorizationReq", "EV", req))
        msgs.append(_msg("AuthorizationRes", "SECC", {"ResponseCode": code, "EVSEProcessing": processing}))
    return msgs


def _auth(msgs):
    offered, attempts = verdict.auth_exchanges(msgs)
    pnc = next((a for a in attempts if a["service"] == "PnC"), None)
    fallback = "EIM" if pnc and len(attempts) > 1 and attempts[-1]["service"] == "EIM" else None
    return {"offered": offered, "pnc": pnc, "fallback": fallback}


NONE = {"meter_charged_wh": 0.0, "meter_discharged_wh": 0.0, "contactor_closed": False}


def test_auth_checks_fail_on_a_wrong_code_power_or_fallback():
    refused = _exchange(("PnC", "OK", "Ongoing"), ("PnC", "WARNING_CertificateRevoked", "Finished"))
    a = _auth(refused)
    assert a["pnc"]["requests"] == 2 and a["pnc"]["ongoing"] == 1
    ok = lambda checks: [c.reason for c in checks if not c.ok]  # noqa: E731
    assert ok(verdict.auth_checks(a, "WARNING_CertificateRevoked", NONE, False)) == []
    assert "expected WARNING_CertificateExpired" in ok(
        verdict.auth_checks(a, "WARNING_CertificateExpired", NONE, False))[0]
    assert "contactor closed" in ok(verdict.auth_checks(
        a, "WARNING_CertificateRevoked", dict(NONE, contactor_closed=True), False))[0]
    assert "energy flowed" in ok(verdict.auth_checks(
        a, "WARNING_CertificateRevoked", dict(NONE, meter_charged_wh=0.5), False))[0]
    assert "did not fall back" in ok(verdict.auth_checks(a, "WARNING_CertificateRevoked", NONE, True))[0]
    fell = _auth(refused + _exchange(("EIM", "OK", "Finished"))[1:])
    assert fell["fallback"] == "EIM"
    assert "with the fallback off" in ok(verdict.auth_checks(fell, "WARNING_CertificateRevoked", NONE, False))[0]
    assert "no PnC AuthorizationReq" in ok(verdict.auth_checks(_auth(_exchange(("EIM", "OK", "Finished"))),
                                                               "OK", NONE, False))[0]


# --- the same in process, on the virtual clock (host/bench/sessionsim.py) -----------------------

def _sessionsim(pki, case=None, **kw):
    from host.bench.sessionsim import SessionSim
    from host.pnc.verify import Verifier
    contract = os.path.join(pki, "variants", "contract_" + case) if case else None
    sim = SessionSim(tls=True, loops=3, pnc={"pki": pki, "verifier": Verifier.from_pki(pki),
                                             "contract": contract, "eim_fallback": False}, **kw)
    return sim


def _secc_events(sim, name):
    return [ev for t, who, ev in sim.trace if who == "secc" and ev[0] == name]


def test_sessionsim_pnc_and_a_refused_contract(pki):
    sim = _sessionsim(pki)
    sim.plug()
    sim.run(120000, stop=lambda: sim.ev.result is not None)
    assert sim.ev.result == ("done", "Terminate: 3 loops done")
    assert _secc_events(sim, "pnc") == [("pnc", "OK")]
    assert sim.hosts["charger"].pnc_log[0]["code"] == "OK"
    assert sim.hosts["vehicle"].se050.stats["commands"]["ECDSASign"] == 2      # TLS + contract
    sim = _sessionsim(pki, "revoked")
    sim.plug()
    sim.run(120000, stop=lambda: sim.ev.result is not None)
    assert sim.ev.result == ("failed", "WARNING_CertificateRevoked")
    assert sim.power.meter(sim.t) == (0, 0) and not sim.powered()


@pytest.mark.parametrize("fault", ["link_lost", "timeout"])
def test_sessionsim_pending_verification_never_authorizes(pki, fault):
    sim = _sessionsim(pki)
    host = sim.hosts["charger"]
    host.hold_pnc = True
    sim.plug()
    assert sim.run(60000, stop=lambda: host.pnc_log), "no PnC verification request"
    verifier = sim.chg.charger.pnc
    if fault == "link_lost":
        host.wire.cut = True
        sim.run(sim.t + 5000, stop=lambda: sim.chg.secc is None)
        assert verifier.failed == 1 and sim.chg.secc is None     # the session ended with the link
    else:
        # the host never answers: after --pnc-timeout the SECC refuses, never OK
        sim.run(sim.t + 30000, stop=lambda: sim.ev.result is not None)
        assert _secc_events(sim, "pnc") == [("pnc", "WARNING_GeneralPnCAuthorizationError")]
        assert sim.ev.result == ("failed", "WARNING_GeneralPnCAuthorizationError")
    assert ("authorized", True) not in [ev for t, who, ev in sim.trace if who == "secc"]
    assert sim.power.meter(sim.t) == (0, 0) and not sim.powered()
    assert not any("charger contactor closed" in e for _, e in sim.power.events)
