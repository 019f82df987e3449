# EXI codec tests that run on CPython and under MicroPython (tests/mprun.py).
import binascii

from micro15118 import exi

import vector_dicts


def test_every_vector_encodes_byte_exact():
    bad = []
    for v in vector_dicts.load():
        if exi.encode(v["schema"], v["msg"], **v["args"]) != v["exi"]:
            bad.append(v["name"])
    assert not bad, bad


def test_every_vector_decodes_to_the_reference_message():
    bad = []
    vectors = vector_dicts.load()
    for v in vectors:
        if exi.decode(v["schema"], v["exi"], **v["args"]) != v["msg"]:
            bad.append(v["name"])
    assert not bad, bad
    assert len(vectors) == 66 + 12


def test_string_table_vectors_need_the_string_table():
    # With the V2G profile (no string table) a table hit is an ExiError.
    n = 0
    for v in vector_dicts.load():
        if v["args"].get("capacity") != 0 and "strtab" in v["name"]:
            expect_error(exi.decode, v["schema"], v["exi"], v["args"]["fragment"])
            n += 1
    assert n >= 5


def expect_error(fn, *args):
    try:
        fn(*args)
    except exi.ExiError as e:
        return e
    raise AssertionError("no ExiError from %r" % (args,))


def test_truncated_streams_raise_exi_error_with_a_position():
    for v in vector_dicts.load():
        if v["args"]:
            continue
        data = v["exi"]
        for cut in range(0, len(data), max(1, len(data) // 16)):
            e = expect_error(exi.decode, v["schema"], data[:cut])
            assert cut == 0 or e.pos is not None, (v["name"], cut)


def test_wrong_schema_raises_exi_error():
    seen = 0
    for v in vector_dicts.load():
        if v["args"]:
            continue
        for other in ("appProtocol", "-20:AC", "-20:DC"):
            if other == v["schema"]:
                continue
            try:
                msg = exi.decode(other, v["exi"])
            except exi.ExiError:
                seen += 1
                continue
            # A stream can be valid in another grammar by accident; it must
            # then re-encode to the same bytes there.
            assert exi.encode(other, msg) == v["exi"], (v["name"], other)
    assert seen > 100


def test_header_must_be_plain_exi():
    expect_error(exi.decode, "-20:DC", b"\x00\x00")
    expect_error(exi.decode, "-20:DC", b"$EXI\x80")
    expect_error(exi.decode, "-20:DC", b"\xa0\x00")     # options present


def header():
    return {"SessionID": b"\x00" * 8, "TimeStamp": 1}


def test_values_out_of_range_are_rejected():
    ok = {"SessionSetupReq": {"Header": header(), "EVCCID": "X"}}
    exi.encode("-20:CommonMessages", ok)
    bad_values = [
        {"SessionID": b"\x00" * 8, "TimeStamp": -1},            # unsignedLong
        {"SessionID": b"\x00" * 8, "TimeStamp": 1 << 64},
        {"SessionID": "zz", "TimeStamp": 1},                   # not hex
        {"SessionID": b"\x00" * 8, "TimeStamp": "soon"},
        {"SessionID": b"\x00" * 8, "TimeStamp": 1.5},
    ]
    for h in bad_values:
        expect_error(exi.encode, "-20:CommonMessages", {"SessionSetupReq": {"Header": h, "EVCCID": "X"}})
    # percentValueType is 0..100 (a 7-bit n-bit integer)
    msg = {"AC_ChargeLoopReq": {"Header": header(), "DisplayParameters": {"PresentSOC": 101},
                                "MeterInfoRequested": False,
                                "Scheduled_AC_CLReqControlMode": {}}}
    e = expect_error(exi.encode, "-20:AC", msg)
    assert "PresentSOC" in str(e)


def test_enumerations_and_structure_are_checked():
    cases = [
        {"SessionSetupReq": {"Header": header()}},                                   # missing EVCCID
        {"SessionSetupReq": {"Header": header(), "EVCCID": "X", "Foo": 1}},          # unknown element
        {"SessionSetupRes": {"Header": header(), "ResponseCode": "Great", "EVSEID": "E"}},
        {"NoSuchMessage": {}},
        {"SessionSetupReq": {}, "SessionSetupRes": {}},
    ]
    for msg in cases:
        expect_error(exi.encode, "-20:CommonMessages", msg)


def test_arrays_longer_than_the_schema_allows_are_rejected():
    # supportedAppProtocolReq allows 1..20 AppProtocol entries
    proto = {"ProtocolNamespace": "urn:iso:std:iso:15118:-20:DC", "VersionNumberMajor": 1,
             "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}
    for n in (1, 20):
        msg = {"supportedAppProtocolReq": {"AppProtocol": [proto] * n}}
        assert exi.decode("appProtocol", exi.encode("appProtocol", msg)) == msg
    e = expect_error(exi.encode, "appProtocol", {"supportedAppProtocolReq": {"AppProtocol": [proto] * 21}})
    assert "too many" in str(e)
    expect_error(exi.encode, "appProtocol", {"supportedAppProtocolReq": {"AppProtocol": []}})


def test_strings_and_binaries_longer_than_the_schema_allows_are_rejected():
    # EVCCID is identifierType (maxLength 255); SessionID is 8 bytes
    ok = {"SessionSetupReq": {"Header": header(), "EVCCID": "E" * 255}}
    data = exi.encode("-20:CommonMessages", ok)
    assert exi.decode("-20:CommonMessages", data) == ok
    long_id = {"SessionSetupReq": {"Header": header(), "EVCCID": "E" * 256}}
    assert "maximum" in str(expect_error(exi.encode, "-20:CommonMessages", long_id))
    long_session = {"SessionSetupReq": {"Header": {"SessionID": bytes(9), "TimeStamp": 1}, "EVCCID": "E"}}
    expect_error(exi.encode, "-20:CommonMessages", long_session)
    # an over-long string or binary in a stream is refused by the decoder too
    from micro15118.exi.bitstream import BitReader, BitWriter
    from micro15118.exi.decoder import Decoder
    g = exi.grammar("-20:CommonMessages")
    for dt in (g.datatype(i) for i in range(g.n_datatypes)):
        if dt[0] in (4, 5, 6) and dt[2]:        # DT_STRING, DT_HEX, DT_B64 with a maximum
            for n, ok in ((dt[2], True), (dt[2] + 1, False)):
                w = BitWriter()
                w.uint(n + 2 if dt[0] == 4 else n)
                w.write_bytes(b"E" * n)
                try:
                    Decoder(g).value(BitReader(w.getvalue()), dt, 0)
                    assert ok, dt
                except exi.ExiError:
                    assert not ok, dt


def test_unbounded_integers_are_limited_alike_in_both_directions():
    # ds:HMACOutputLength is xs:integer: the encoder refuses what the decoder would
    def msg(n):
        return {"SignedInfo": {"CanonicalizationMethod": {"@Algorithm": "a"},
                               "SignatureMethod": {"@Algorithm": "b", "HMACOutputLength": n},
                               "Reference": [{"DigestMethod": {"@Algorithm": "c"}, "DigestValue": b""}]}}
    # (the limit, 24 groups of 7 bits, holds a 20-octet X509SerialNumber)
    for n in ((1 << 168) - 1, -(1 << 168)):
        assert exi.decode("xmldsig", exi.encode("xmldsig", msg(n), True), True) == msg(n)
    for n in (1 << 168, -(1 << 168) - 1):
        expect_error(exi.encode, "xmldsig", msg(n), True)


def test_mixed_content_text_round_trips():
    # found by atheris: ds:Object is mixed content; its text must re-encode
    data = binascii.unhexlify("804e82088cad")
    msg = exi.decode("-20:CommonMessages", data)
    assert msg == {"Object": {"#text": "\x11\x19"}}
    assert exi.decode("-20:CommonMessages", exi.encode("-20:CommonMessages", msg)) == msg
    # text alongside an attribute: the attribute is written first
    obj = {"Object": {"@Id": "o1", "#text": "hello"}}
    assert exi.decode("xmldsig", exi.encode("xmldsig", obj)) == obj


def test_unknown_schema_is_an_exi_error():
    expect_error(exi.decode, "-21:Future", b"\x80")
