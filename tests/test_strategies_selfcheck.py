"""The XSD-driven message strategies (host/harness/strategies.py) against our EXI codec:
every generated message must survive encode -> decode unchanged."""
import random

import pytest
from hypothesis import HealthCheck, given, settings

from micro15118 import exi
from host.harness import strategies

SCHEMAS = list(strategies.SCHEMAS)
LEGACY = ["-2", "din"]      # V2G_Message with one BodyElement member in its Body


def test_every_schema_is_covered():
    assert set(LEGACY) < set(SCHEMAS)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_round_trip(schema):
    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.message(schema))
    def check(msg):
        assert exi.decode(schema, exi.encode(schema, msg)) == msg

    check()


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_message_type_is_generated(schema):
    roots = strategies.message_types(schema)
    assert roots and all(r.endswith(("Req", "Res")) for r in roots)
    rnd = random.Random(0)
    for root in roots:
        msg = strategies.random_message(schema, root, rnd)
        if schema in LEGACY:
            assert list(msg) == ["V2G_Message"]
            assert list(msg["V2G_Message"]) == ["Header", "Body"]
            assert list(msg["V2G_Message"]["Body"]) == [root]
        else:
            assert list(msg) == [root]
        assert strategies.body_element(msg) == root
        assert exi.decode(schema, exi.encode(schema, msg)) == msg


@pytest.mark.parametrize("schema", LEGACY)
def test_legacy_message_types_are_the_body_elements(schema):
    roots = strategies.message_types(schema)
    assert len(roots) == 34 and len(set(roots)) == 34
    assert {"SessionSetupReq", "ChargeParameterDiscoveryRes", "CurrentDemandReq",
            "SessionStopRes"} <= set(roots)
    assert "BodyElement" not in roots       # abstract (-2) or of an abstract type (DIN)
    assert ("PaymentServiceSelectionReq" in roots) == (schema == "-2")
    assert ("ServicePaymentSelectionReq" in roots) == (schema == "din")


LEGACY_ROOTS = [(s, r) for s in LEGACY
                for r in ("ChargeParameterDiscoveryReq", "ChargeParameterDiscoveryRes",
                          "PowerDeliveryReq", "ChargingStatusRes", "CurrentDemandRes")
                if r in strategies.message_types(s)]     # DIN has no ChargingStatusRes


@pytest.mark.parametrize("schema, root", LEGACY_ROOTS)
def test_legacy_substitution_groups_only_use_concrete_members(schema, root):
    # EVChargeParameter, SASchedules, EVSEStatus, EVSEChargeParameter, Entry,
    # TimeInterval, EVPowerDeliveryParameter: heads are abstract or typed abstract
    abstract_heads = {"EVChargeParameter", "SASchedules", "EVSEStatus", "EVStatus",
                      "EVSEChargeParameter", "EVPowerDeliveryParameter", "Entry", "TimeInterval"}

    def keys(v):
        if isinstance(v, dict):
            for k, x in v.items():
                yield k
                yield from keys(x)
        elif isinstance(v, list):
            for x in v:
                yield from keys(x)

    rnd = random.Random(1)
    for _ in range(30):
        msg = strategies.random_message(schema, root, rnd)
        assert not abstract_heads & set(keys(msg))
        assert exi.decode(schema, exi.encode(schema, msg)) == msg


def test_unknown_legacy_message_type_is_refused():
    with pytest.raises(strategies.SchemaError):
        strategies.message("-2", "ContractAuthenticationReq")     # DIN only
    with pytest.raises(strategies.SchemaError):
        strategies.random_message("din", "BodyElement", random.Random(0))


def _ids(value, key="@Id"):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield v
            else:
                yield from _ids(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _ids(v, key)


def test_din_idrefs_name_an_id_of_the_message():
    # DIN's Id attributes are xs:IDREF; only xmldsig (the header's Signature)
    # declares xs:ID, so a message with an IDREF must carry a Signature
    rnd = random.Random(3)
    anchored = 0
    for root in ["CertificateInstallationRes", "CertificateUpdateRes",
                 "ContractAuthenticationReq", "ChargeParameterDiscoveryRes"]:
        for _ in range(40):
            msg = strategies.random_message("din", root, rnd)
            refs = set(_ids(msg["V2G_Message"]["Body"]))
            if not refs:
                continue
            ids = list(_ids(msg["V2G_Message"]["Header"].get("Signature", {})))
            assert len(ids) == len(set(ids)) and refs <= set(ids)
            anchored += 1
            assert exi.decode("din", exi.encode("din", msg)) == msg
    assert anchored > 40
