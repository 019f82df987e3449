# iso20.msg: payload types, encode/decode of the reference vectors, RationalNumber helpers.
from micro15118.iso20 import msg

import vector_dicts


def is_plain(v):
    # default codec options, one of the -20 schemas msg knows
    return (v["args"] in ({}, {"fragment": False, "capacity": 0, "max_length": None})
            and v["schema"] in ("appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC"))


def test_vectors_round_trip_through_msg():
    vs = vector_dicts.load(is_plain)
    assert len(vs) >= 60
    for v in vs:
        vname, schema, m, data = v["name"], v["schema"], v["msg"], v["exi"]
        (name, body), = m.items()
        assert msg.schema_of(name) == schema, (vname, name)
        ptype, enc = msg.encode(name, body)
        assert enc == data, vname
        assert ptype == {"appProtocol": msg.SAP, "-20:CommonMessages": msg.COMMON,
                         "-20:AC": msg.AC, "-20:DC": msg.DC}[schema]
        assert msg.decode(ptype, data) == (name, body), vname


def test_payload_types_and_schemas():
    assert (msg.SAP, msg.COMMON, msg.AC, msg.DC) == (0x8001, 0x8002, 0x8003, 0x8004)
    assert msg.schema_of("supportedAppProtocolReq") == "appProtocol"
    assert msg.schema_of("PowerDeliveryReq") == "-20:CommonMessages"
    assert msg.schema_of("AC_ChargeLoopRes") == "-20:AC"
    assert msg.schema_of("DC_PreChargeReq") == "-20:DC"
    assert msg.ptype_of("DC_CableCheckRes") == msg.DC


def test_decode_errors_are_value_errors():
    ptype, data = msg.encode("DC_CableCheckReq", {"Header": msg.header(b"12345678", 1)})
    for bad_ptype, bad in ((ptype, data[:-1]), (ptype, b""), (0x9000, data), (msg.AC, data),
                           (ptype, data + b"\xff\xff")):
        try:
            msg.decode(bad_ptype, bad)
        except ValueError:
            continue
        assert False, (bad_ptype, bad)


def test_header():
    h = msg.header(b"\x01" * 8, 1735732800)
    assert h == {"SessionID": b"\x01" * 8, "TimeStamp": 1735732800}


def test_rational():
    assert msg.rational(0) == {"Exponent": 0, "Value": 0}
    assert msg.rational(400) == {"Exponent": 0, "Value": 400}
    assert msg.rational(-30) == {"Exponent": 0, "Value": -30}
    assert msg.rational(150000) == {"Exponent": 1, "Value": 15000}
    assert msg.rational(32767) == {"Exponent": 0, "Value": 32767}
    assert msg.rational(32768) == {"Exponent": 1, "Value": 3277}
    assert msg.rational(398.7) == {"Exponent": -1, "Value": 3987}
    assert msg.rational(1.25) == {"Exponent": -2, "Value": 125}
    assert msg.rational(400.0) == {"Exponent": 0, "Value": 400}
    assert msg.rational(-125.5) == {"Exponent": -1, "Value": -1255}
    assert msg.rational(22000000) == {"Exponent": 3, "Value": 22000}
    # a fraction too long for int16 keeps what fits
    r = msg.rational(1234.5678)
    assert r == {"Exponent": -1, "Value": 12346}
    for bad in (float("nan"), float("inf")):
        try:
            msg.rational(bad)
        except ValueError:
            continue
        assert False


def test_value():
    assert msg.value({"Exponent": -1, "Value": 3987}) == 398.7
    assert msg.value({"Exponent": 3, "Value": 150}) == 150000
    assert msg.value({"Exponent": 0, "Value": -30}) == -30
    for x in (0, 1, 11000, 150000, 398.7, -25.5, 0.001, 919.9):
        assert abs(msg.value(msg.rational(x)) - x) <= abs(x) * 1e-4 + 1e-9, x


def test_constants():
    assert (msg.SERVICE_AC, msg.SERVICE_DC, msg.SERVICE_AC_BPT, msg.SERVICE_DC_BPT) == (1, 2, 5, 6)
    assert (msg.SCHEDULED, msg.DYNAMIC) == (1, 2)
    assert msg.failed(msg.FAILED_SEQUENCE_ERROR) and msg.failed(msg.FAILED)
    assert not msg.failed(msg.WARNING_STANDBY_NOT_ALLOWED) and not msg.failed(msg.OK)
