# CertificateInstallation at the SECC (also under MicroPython): secc/certificate_installation.py
# driven by the scripted EV, with a scripted back end (ScriptedInstall) behind the Charger's
# cert_install seam and request signatures made with the fake crypto seam.
from micro15118 import exi
from micro15118.iso20 import msg, xmldsig

from host.harness.scripted_ev import ScriptedEv, sap_and_setup
from test_iso20_cert_crypto import CONTRACT, OEM_LEAF, POINT, InstallCrypto, wrap
from test_iso20_pnc import FakeCrypto, ScriptedPnc

CM = "-20:CommonMessages"
OEM = "OEMProvisioningCertificateChain"
SID = "SignedInstallationData"
T0 = 1700000000


# --- the SECC ----------------------------------------------------------------------------------------

class ScriptedInstall:
    """The charger's CertificateInstallation back end, scripted: answers in
    turn (the last repeats)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def certificate_installation(self, evidence, now):
        self.calls.append((evidence, now))
        if len(self.answers) > 1:
            return self.answers.pop(0)
        return self.answers[0]


def installation(c=None, dh=POINT, w=None, remaining=0):
    """(code, fields) of a CPS answer signed with the fake seam."""
    c = c or InstallCrypto()
    if w is None:
        dh, w = wrap(dh=dh)
    data = {"@Id": "id1",
            "ContractCertificateChain": {"Certificate": CONTRACT,
                                         "SubCertificates": {"Certificate": [b"MOSUB2" * 50, b"MOSUB1" * 50]}},
            "ECDHCurve": "SECP521", "DHPublicKey": dh, "SECP521_EncryptedPrivateKey": w}
    sig = xmldsig.sign(c, "cps_leaf", CM, [(SID, data)])
    return "OK", {"CPSCertificateChain": {"Certificate": b"CPSLEAF" * 60,
                                          "SubCertificates": {"Certificate": [b"CPSSUB2" * 50]}},
                  "SignedInstallationData": data, "RemainingContractCertificateChains": remaining,
                  "Signature": sig}


def oem_chain():
    return {"@Id": "id1", "Certificate": OEM_LEAF, "SubCertificates": {"Certificate": [b"OEMSUB2" * 40]}}


def install_req(ev, chain=None, sig=True, emaids=None):
    chain = chain or oem_chain()
    body = {OEM: chain,
            "ListOfRootCertificateIDs": {"RootCertificateID": [{"X509IssuerName": "CN=V2G Root CA",
                                                                "X509SerialNumber": 22090784}]},
            "MaximumContractCertificateChains": 1}
    if emaids:
        body["PrioritizedEMAIDs"] = {"EMAID": emaids}
    body["Header"] = msg.header(ev.sid, T0 + 1)
    if sig:
        body["Header"]["Signature"] = xmldsig.sign(FakeCrypto(), 0x15118300, CM, [(OEM, chain)])
    ev.ts += 1
    return ev.raw(*msg.encode("CertificateInstallationReq", body))


def secc_at_auth(*answers, offer=True, backend=True, **cfg):
    b = ScriptedInstall(*answers) if backend else None
    config = {"tls": True, "auth": ("PnC", "EIM"), "certificate_installation": offer}
    config.update(cfg)
    ev = ScriptedEv(config, pnc=ScriptedPnc("OK"), cert_install=b)
    sap_and_setup(ev)
    res = ev.ok("AuthorizationSetupReq")
    ev.challenge = res["PnC_ASResAuthorizationMode"]["GenChallenge"]
    return ev, b, res


def pnc_auth(ev):
    c = FakeCrypto()
    mode = {"@Id": "id1", "GenChallenge": ev.challenge,
            "ContractCertificateChain": {"Certificate": CONTRACT, "SubCertificates": {"Certificate": [b"S" * 9]}}}
    body = {"Header": msg.header(ev.sid, T0 + 2), "SelectedAuthorizationService": "PnC",
            "PnC_AReqAuthorizationMode": mode}
    body["Header"]["Signature"] = xmldsig.sign(c, 1, CM, [("PnC_AReqAuthorizationMode", mode)])
    return ev.raw(*msg.encode("AuthorizationReq", body))


def test_secc_forwards_the_request_and_the_cps_answer():
    answer = installation()
    ev, b, setup = secc_at_auth(None, None, answer)
    assert setup["CertificateInstallationService"] is True
    seen = []
    for i in range(3):
        ev.t += 200
        (n, res), = install_req(ev, emaids=["DEM15C12345678J"])
        assert n == "CertificateInstallationRes"
        seen.append(res)
    assert [r["EVSEProcessing"] for r in seen] == ["Ongoing", "Ongoing", "Finished"]
    assert [r["ResponseCode"] for r in seen] == ["OK", "OK", "OK"]
    # the repeats reuse the first evidence
    e = b.calls[0][0]
    assert b.calls[1][0] is e and b.calls[2][0] is e
    assert e["leaf"] == OEM_LEAF and e["sub_cas"] == [b"OEMSUB2" * 40] and e["id"] == "id1"
    assert e["element"] == exi.encode(CM, {OEM: oem_chain()}, fragment=True)
    assert exi.decode(CM, e["signed_info"], fragment=True)["SignedInfo"]["Reference"][0]["@URI"] == "#id1"
    assert e["root_ids"] == [("CN=V2G Root CA", 22090784)] and e["max_chains"] == 1
    assert e["emaids"] == ["DEM15C12345678J"] and e["evccid"] == ev.secc.ctx.evccid
    # forwarded as the CPS made them, its signature in the Header
    fields = answer[1]
    last = seen[-1]
    for k in ("CPSCertificateChain", "SignedInstallationData", "RemainingContractCertificateChains"):
        assert last[k] == fields[k], k
    assert last["Header"]["Signature"] == fields["Signature"]
    assert ev.events("cert_install") == [("cert_install", "OK")]
    # then PnC with the new contract; no power before
    assert not ev.power.closed and ev.secc.ctx.service is None
    (n, res), = pnc_auth(ev)
    assert n == "AuthorizationRes" and res["ResponseCode"] == "OK"
    assert ev.secc.ctx.auth_service == "PnC"


def test_secc_while_ongoing_only_the_same_request():
    ev, b, _ = secc_at_auth(None)
    (n, res), = install_req(ev)
    assert res["EVSEProcessing"] == "Ongoing"
    (n, res), = pnc_auth(ev)
    assert n == "AuthorizationRes" and res["ResponseCode"] == msg.FAILED_SEQUENCE_ERROR
    assert not ev.power.closed


def test_secc_not_offered_is_a_sequence_error():
    for kw in ({"offer": False}, {"auth": ("EIM",)}):
        ev, b, setup = secc_at_auth("OK", **kw) if "auth" not in kw else (None, None, None)
        if ev is None:
            ev = ScriptedEv({"tls": True, "auth": ("EIM",), "certificate_installation": True},
                            pnc=ScriptedPnc("OK"), cert_install=ScriptedInstall("OK"))
            sap_and_setup(ev)
            setup = ev.ok("AuthorizationSetupReq")
        assert setup["CertificateInstallationService"] is False
        (n, res), = install_req(ev)
        assert res["ResponseCode"] == msg.FAILED_SEQUENCE_ERROR and ev.closed_after(5000)


def test_secc_no_signature_is_a_signature_error():
    ev, b, _ = secc_at_auth(installation())
    (n, res), = install_req(ev, sig=False)
    assert res["ResponseCode"] == msg.FAILED_SIGNATURE_ERROR and b.calls == []
    assert ev.closed_after(5000)


def test_secc_warnings_let_the_ev_use_eim():
    for code in (msg.WARNING_CERTIFICATE_EXPIRED, msg.WARNING_NO_CONTRACT_MATCHING_PCID_FOUND,
                 msg.WARNING_CERTIFICATE_VALIDATION_ERROR, msg.WARNING_NO_CERTIFICATE_AVAILABLE):
        ev, b, _ = secc_at_auth((code, None))
        (n, res), = install_req(ev)
        assert res["ResponseCode"] == code and res["EVSEProcessing"] == "Finished"
        assert "Signature" not in res["Header"]
        # no second try at once; EIM is fine
        n2, r2 = ev.req("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})
        assert r2["ResponseCode"] == "OK", r2
    ev, b, _ = secc_at_auth((msg.WARNING_CERTIFICATE_REVOKED, None))
    install_req(ev)
    (n, res), = install_req(ev)
    assert res["ResponseCode"] == msg.FAILED_SEQUENCE_ERROR


def test_secc_fails_closed_on_a_strange_backend():
    ok, fields = installation()
    partial = dict(fields)
    del partial["Signature"]
    for answer in (("WARNING_Whatever", None), ("OK", None), ("OK", partial), "OK", (1, 2, 3)):
        ev, b, _ = secc_at_auth(answer)
        (n, res), = install_req(ev)
        assert res["ResponseCode"] == msg.WARNING_NO_CERTIFICATE_AVAILABLE, answer
        assert ev.secc.errors == 0
    for code in (msg.FAILED_SIGNATURE_ERROR, msg.FAILED):
        ev, b, _ = secc_at_auth((code, None))
        (n, res), = install_req(ev)
        assert res["ResponseCode"] == code and not ev.power.closed and ev.closed_after(5000)
    # no back end at all
    ev, b, _ = secc_at_auth(backend=False)
    (n, res), = install_req(ev)
    assert res["ResponseCode"] == msg.WARNING_NO_CERTIFICATE_AVAILABLE


def test_secc_gives_up_after_the_ongoing_limit():
    ev, b, _ = secc_at_auth(None)
    (n, res), = install_req(ev)
    assert res["EVSEProcessing"] == "Ongoing"
    for _ in range(11):
        ev.t += 5000
        (n, res), = install_req(ev)
    assert res["EVSEProcessing"] == "Ongoing"
    ev.t += 5001
    (n, res), = install_req(ev)
    assert res["ResponseCode"] == msg.WARNING_NO_CERTIFICATE_AVAILABLE, res
