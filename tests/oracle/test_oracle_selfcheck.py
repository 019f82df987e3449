"""Self-check of the Josev (EXICodec.jar) oracle (host/harness/exi_oracle.py) against the reference vectors.

Needs python-iso15118 + py4j + a Java runtime; skipped otherwise.  Vectors are read
from tests/data/exi-vectors/vectors.jsonl ($MICRO15118_EXI_VECTORS overrides).

The ``test_defect_*`` tests pin the oracle's known defects (DEFECTS.md): they
assert the *wrong* behaviour, so a change in the oracle shows up here.
"""

import base64
import json
import os
import shutil

import pytest

pytest.importorskip("py4j")

from host.harness.exi_oracle import (  # noqa: E402
    VECTOR_SCHEMA,
    JosevCodec,
    JosevError,
    from_josev_json,
    load_vectors,
    to_josev_json,
)

# No Java or no vectors is a failure, not a skip: .ci/run installs Java and
# the vectors are in the repository (tests/data/exi-vectors).
VECTORS = load_vectors()
BY_NAME = {v["name"]: v for v in VECTORS}

H = {"SessionID": "0102030405060708", "TimeStamp": 1}  # raw Josev JSON header


@pytest.fixture(scope="module")
def codec():
    # One JVM per process, shut down by atexit; nothing to tear down here.
    return JosevCodec()


def _vec(name):
    v = BY_NAME[name]
    return VECTOR_SCHEMA[v["schema"]], bytes.fromhex(v["exi_hex"])


# ---------------------------------------------------------------------------
# Round trip of every vector through our-dict representation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_roundtrip(codec, v):
    schema, exi = VECTOR_SCHEMA[v["schema"]], bytes.fromhex(v["exi_hex"])
    ours = from_josev_json(codec.decode_json(schema, exi), schema)
    assert codec.encode(schema, ours) == exi
    assert codec.decode(schema, exi) == ours
    assert from_josev_json(to_josev_json(ours, schema), schema) == ours


# ---------------------------------------------------------------------------
# Representation conventions
# ---------------------------------------------------------------------------

def test_conventions_scalars_and_lists(codec):
    m = codec.decode(*_vec("AuthorizationSetupRes_PnC"))["AuthorizationSetupRes"]
    assert isinstance(m["Header"]["SessionID"], bytes)  # hexBinary
    assert isinstance(m["Header"]["TimeStamp"], int)
    assert m["AuthorizationServices"] == ["EIM", "PnC"]
    assert m["CertificateInstallationService"] is True
    pnc = m["PnC_ASResAuthorizationMode"]
    assert isinstance(pnc["GenChallenge"], bytes) and len(pnc["GenChallenge"]) == 16  # base64Binary
    assert isinstance(pnc["SupportedProviders"]["ProviderID"], list)

    m = codec.decode(*_vec("ServiceDiscoveryRes"))["ServiceDiscoveryRes"]
    assert isinstance(m["VASList"]["Service"], list) and len(m["VASList"]["Service"]) == 1

    m = codec.decode(*_vec("DC_ChargeLoopRes_Scheduled"))["DC_ChargeLoopRes"]
    assert isinstance(m["Receipt"]["TaxCosts"], list) and len(m["Receipt"]["TaxCosts"]) == 1
    assert isinstance(m["MeterInfo"]["BPT_DischargedEnergyReadingWh"], int)

    m = codec.decode(*_vec("AuthorizationSetupRes_EIM"))["AuthorizationSetupRes"]
    assert m["EIM_ASResAuthorizationMode"] == {}


def test_conventions_attributes_and_simple_content(codec):
    m = codec.decode(*_vec("AuthorizationReq_PnC"))["AuthorizationReq"]
    sig = m["Header"]["Signature"]
    assert isinstance(sig["SignatureValue"]["#text"], bytes)
    ref = sig["SignedInfo"]["Reference"]
    assert isinstance(ref, list) and ref[0]["@URI"] == "#id1"
    assert isinstance(ref[0]["DigestValue"], bytes)
    assert sig["SignedInfo"]["CanonicalizationMethod"] == {"@Algorithm": "http://www.w3.org/TR/canonical-exi/"}
    pnc = m["PnC_AReqAuthorizationMode"]
    assert pnc["@Id"] == "id1"
    assert isinstance(pnc["ContractCertificateChain"]["Certificate"], bytes)  # single here ...
    assert isinstance(pnc["ContractCertificateChain"]["SubCertificates"]["Certificate"], list)  # ... list here


def test_to_josev_json_is_strict():
    ok = {"ServiceDiscoveryReq": {"Header": {"SessionID": bytes(8), "TimeStamp": 1},
                                  "SupportedServiceIDs": {"ServiceID": [1]}}}
    assert json.loads(to_josev_json(ok))["ServiceDiscoveryReq"]["Header"]["SessionID"] == "00" * 8
    bad_list = {"ServiceDiscoveryReq": {"Header": {"SessionID": bytes(8), "TimeStamp": 1},
                                        "SupportedServiceIDs": {"ServiceID": 1}}}
    with pytest.raises(TypeError):
        to_josev_json(bad_list)
    with pytest.raises(TypeError):  # bytes required for hexBinary
        to_josev_json({"SessionStopRes": {"Header": {"SessionID": "00", "TimeStamp": 1}, "ResponseCode": "OK"}})
    with pytest.raises(KeyError):
        to_josev_json({"SessionStopRes": {"Header": {"SessionID": b"", "TimeStamp": 1}, "Bogus": 1}})


# ---------------------------------------------------------------------------
# Known defects (see DEFECTS.md) -- these assert the defective behaviour
# ---------------------------------------------------------------------------

def test_defect_schemaid_always_emitted(codec):
    exi = codec.encode_json("appProtocol", json.dumps(
        {"supportedAppProtocolRes": {"ResponseCode": "Failed_NoNegotiation"}}))
    assert exi == bytes.fromhex("80480000")
    assert codec.decode("appProtocol", exi) == {
        "supportedAppProtocolRes": {"ResponseCode": "Failed_NoNegotiation", "SchemaID": 0}}


def _dc_loop_res(meter_info):
    return json.dumps({"DC_ChargeLoopRes": {
        "Header": H, "ResponseCode": "OK", "MeterInfo": meter_info,
        "EVSEPresentCurrent": {"Exponent": 0, "Value": 1}, "EVSEPresentVoltage": {"Exponent": 0, "Value": 1},
        "EVSEPowerLimitAchieved": False, "EVSECurrentLimitAchieved": False,
        "EVSEVoltageLimitAchieved": False, "Scheduled_DC_CLResControlMode": {}}})


def test_defect_bpt_discharged_energy_spelling(codec):
    mi = {"MeterID": "M1", "ChargedEnergyReadingWh": 10}
    good = codec.encode_json("-20:DC", _dc_loop_res(dict(mi, BPT_DischargedEnergyReadingWh=7)))
    assert codec.decode("-20:DC", good)["DC_ChargeLoopRes"]["MeterInfo"]["BPT_DischargedEnergyReadingWh"] == 7
    model_spelling = codec.encode_json("-20:DC", _dc_loop_res(dict(mi, BPTDischargedEnergyReadingWh=7)))
    assert model_spelling == codec.encode_json("-20:DC", _dc_loop_res(mi))  # silently dropped


def test_defect_supported_providers_wrapper_list(codec):
    def msg(sp):
        return json.dumps({"AuthorizationSetupRes": {
            "Header": H, "ResponseCode": "OK", "AuthorizationServices": ["PnC"],
            "CertificateInstallationService": False,
            "PnC_ASResAuthorizationMode": {"GenChallenge": base64.b64encode(bytes(16)).decode(),
                                           "SupportedProviders": sp}}})

    xsd_form = codec.encode_json("-20:CommonMessages", msg({"ProviderID": ["A", "B", "C"]}))
    d = codec.decode("-20:CommonMessages", xsd_form)
    assert d["AuthorizationSetupRes"]["PnC_ASResAuthorizationMode"]["SupportedProviders"] == {
        "ProviderID": ["A", "B", "C"]}
    model_form = codec.encode_json("-20:CommonMessages",
                                   msg([{"ProviderID": "A"}, {"ProviderID": "B"}, {"ProviderID": "C"}]))
    d = codec.decode("-20:CommonMessages", model_form)
    assert d["AuthorizationSetupRes"]["PnC_ASResAuthorizationMode"]["SupportedProviders"] == {
        "ProviderID": ["C"]}


def test_metering_confirmation_works_at_jar_level(codec):
    for name in ("MeteringConfirmationReq", "MeteringConfirmationRes"):
        schema, exi = _vec(name)
        assert name in json.loads(codec.decode_json(schema, exi))


def test_defect_no_schema_validation(codec):
    # missing mandatory EVCCID: encoded anyway (EXI non-strict deviation), no error
    exi = codec.encode_json("-20:CommonMessages", json.dumps({"SessionSetupReq": {"Header": H}}))
    assert codec.decode("-20:CommonMessages", exi) == {
        "SessionSetupReq": {"Header": {"SessionID": bytes.fromhex("0102030405060708"), "TimeStamp": 1}}}
    # unknown keys are silently dropped
    a = codec.encode_json("-20:CommonMessages", json.dumps({"SessionSetupReq": {"Header": H, "EVCCID": "X"}}))
    b = codec.encode_json("-20:CommonMessages",
                          json.dumps({"SessionSetupReq": {"Header": H, "EVCCID": "X", "Bogus": 1}}))
    assert a == b
    # facets are not checked (SessionID is hexBinary maxLength 8)
    codec.encode_json("-20:CommonMessages", json.dumps(
        {"SessionSetupReq": {"Header": dict(H, SessionID="00" * 9), "EVCCID": "X" * 300}}))


def test_defect_signedinfo_fragment_rewrites_algorithms(codec):
    si = {"SignedInfo": {
        "@Id": "si1",
        "CanonicalizationMethod": {"@Algorithm": "http://www.w3.org/TR/canonical-exi/"},
        "SignatureMethod": {"@Algorithm": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"},
        "Reference": [{"@URI": "#id1", "@Id": "r1",
                       "Transforms": {"Transform": [{"@Algorithm": "http://www.w3.org/TR/canonical-exi/"}]},
                       "DigestMethod": {"@Algorithm": "http://www.w3.org/2001/04/xmlenc#sha512"},
                       "DigestValue": bytes(64)}]}}
    exi = codec.encode("xmldsig", si)
    assert exi[0] == 0x80  # EXI header byte present, fragment body follows
    back = codec.decode("xmldsig", exi)["SignedInfo"]
    assert back["SignatureMethod"]["@Algorithm"].endswith("ecdsa-sha256")
    assert back["Reference"][0]["DigestMethod"]["@Algorithm"].endswith("sha256")
    assert "@Id" not in back and "@Id" not in back["Reference"][0]
    assert back["Reference"][0]["DigestValue"] == bytes(64)


def test_defect_cm_fragments_encode_but_do_not_decode(codec):
    oem = {"OEMProvisioningCertificateChain": {"@Id": "id2", "Certificate": b"\x30\x01\x00"}}
    exi = codec.encode("-20:CommonMessages", oem)
    # header 0x80, then SE(OEMProvisioningCertificateChain) = event 128 of 283, 9 bits
    assert exi[:3] == bytes.fromhex("804001")
    # decoding runs in document mode: garbage or an error, never the fragment
    try:
        root = next(iter(json.loads(codec.decode_json("-20:CommonMessages", exi))))
    except JosevError:
        root = None
    assert root != "OEMProvisioningCertificateChain"


def test_defect_x509data_crashes(codec):
    msg = {"SessionSetupRes": {"Header": dict(H, Signature={
        "SignedInfo": {"CanonicalizationMethod": {"Algorithm": "a"}, "SignatureMethod": {"Algorithm": "b"},
                       "Reference": [{"URI": "#x", "DigestMethod": {"Algorithm": "d"}, "DigestValue": "AAAA"}]},
        "SignatureValue": {"value": "AAAA"},
        "KeyInfo": {"X509Data": [{"X509Certificate": ["AAAA"]}]}}),
        "ResponseCode": "OK", "EVSEID": "E"}}
    with pytest.raises(JosevError):
        codec.encode_json("-20:CommonMessages", json.dumps(msg))
    # and the JVM is still usable afterwards
    codec.decode_json(*_vec("SessionSetupReq"))
