"""micro15118 exi decode/encode with the real codec, run as a user would."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from host.harness import exi_vectors as vectors
from test_exi_vectors import infoset

MICRO15118 = os.path.join(os.path.dirname(sys.executable), "micro15118")
VECTORS = {v["name"]: v for v in vectors.load()}


def run(*args, stdin=None):
    return subprocess.run([MICRO15118, *args], input=stdin, capture_output=True, text=True)


@pytest.mark.parametrize("name", ["supportedAppProtocolReq", "SessionSetupReq", "AuthorizationReq_PnC",
                                  "AC_ChargeLoopRes_Scheduled", "DC_ChargeLoopReq_BPT_Dynamic"])
def test_decode_then_encode_round_trips(tmp_path, name):
    v = VECTORS[name]
    p = run("exi", "decode", "--schema", v["ours"], v["exi_hex"])
    assert p.returncode == 0, p.stderr
    assert infoset(ET.fromstring(p.stdout)) == infoset(ET.fromstring(v["xml"]))
    xml_file = tmp_path / "msg.xml"
    xml_file.write_text(p.stdout)
    p = run("exi", "encode", "--schema=" + v["ours"], str(xml_file))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == v["exi_hex"]
    p = run("exi", "encode", "--schema", v["ours"], "-", stdin=v["xml"])
    assert p.stdout.strip() == v["exi_hex"]


def test_decode_reads_binary_and_hex_files(tmp_path):
    v = VECTORS["SessionSetupRes"]
    (tmp_path / "m.exi").write_bytes(bytes.fromhex(v["exi_hex"]))
    (tmp_path / "m.hex").write_text(v["exi_hex"] + "\n")
    for f in ("m.exi", "m.hex"):
        p = run("exi", "decode", "--schema", "-20:CommonMessages", "@" + str(tmp_path / f))
        assert p.returncode == 0 and "SessionSetupRes" in p.stdout, p.stderr


@pytest.mark.parametrize("args, stdin, words", [
    (("exi", "decode", "--schema", "-20:CommonMessages", VECTORS["SessionSetupReq"]["exi_hex"][:20]), None,
     ["end of stream", "bit"]),
    (("exi", "decode", "--schema", "-20:DC", "80ffffffff"), None, ["bit"]),
    (("exi", "decode", "--schema", "-20:DC", "zz"), None, ["hex"]),
    (("exi", "encode", "--schema", "-20:CommonMessages", "-"), "<not-xml", ["XML"]),
    (("exi", "encode", "--schema", "-20:CommonMessages", "-"),
     VECTORS["SessionSetupReq"]["xml"].replace("urn:iso:std:iso:15118:-20:CommonTypes", "urn:wrong"), ["Header"]),
    (("exi", "encode", "--schema", "-20:CommonMessages", "-"),
     VECTORS["SessionSetupReq"]["xml"].replace("1735732800", "-5"), ["TimeStamp"]),
    (("exi", "encode", "--schema", "-20:CommonMessages", "-"),     # children out of order
     '<cm:SessionSetupReq xmlns:cm="urn:iso:std:iso:15118:-20:CommonMessages" '
     'xmlns:ct="urn:iso:std:iso:15118:-20:CommonTypes"><cm:EVCCID>X</cm:EVCCID><ct:Header>'
     '<ct:SessionID>00</ct:SessionID><ct:TimeStamp>1</ct:TimeStamp></ct:Header></cm:SessionSetupReq>',
     ["not where the schema puts it"]),
])
def test_bad_input_is_one_line_and_exit_1(args, stdin, words):
    p = run(*args, stdin=stdin)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("micro15118: error:"), p.stderr
    for w in words:
        assert w in lines[0], lines[0]


# --- V2GTP frames, schema choice, stdin ----------------------------------------------

def frame(ptype, payload):
    return bytes([0x01, 0xFE]) + ptype.to_bytes(2, "big") + len(payload).to_bytes(4, "big") + payload


@pytest.mark.parametrize("name, ptype", [
    ("supportedAppProtocolReq", 0x8001), ("SessionSetupReq", 0x8002),
    ("AC_ChargeLoopReq_Dynamic", 0x8003), ("DC_PreChargeReq", 0x8004),
    ("MeteringConfirmationReq", 0x8102),
])
def test_decode_v2gtp_frame_without_schema(name, ptype):
    v = VECTORS[name]
    p = run("exi", "decode", frame(ptype, bytes.fromhex(v["exi_hex"])).hex())
    assert p.returncode == 0, p.stderr
    assert infoset(ET.fromstring(p.stdout)) == infoset(ET.fromstring(v["xml"]))
    assert p.stderr == "micro15118: schema %s, from V2GTP payload type 0x%04x\n" % (v["ours"], ptype)


@pytest.mark.parametrize("schema, msg, note", [
    ("-2", {"V2G_Message": {"Header": {"SessionID": bytes(8)},
                            "Body": {"SessionStopReq": {"ChargingSession": "Terminate"}}}},
     " (not appProtocol)"),
    ("din", {"V2G_Message": {"Header": {"SessionID": bytes(8)}, "Body": {"SessionStopReq": {}}}},
     " (not appProtocol nor -2)"),
])
def test_decode_iso2_and_din_frames_with_payload_type_8001(schema, msg, note):
    from micro15118 import exi
    data = frame(0x8001, exi.encode(schema, msg))
    p = run("exi", "decode", "-", stdin=data.hex())
    assert p.returncode == 0, p.stderr
    assert "SessionStopReq" in p.stdout
    assert p.stderr == "micro15118: schema %s, from V2GTP payload type 0x8001%s\n" % (schema, note)


def test_decode_raw_binary_frame_on_stdin():
    v = VECTORS["DC_PreChargeReq"]
    p = subprocess.run([MICRO15118, "exi", "decode", "-q", "-"], capture_output=True,
                       input=frame(0x8004, bytes.fromhex(v["exi_hex"])))
    assert p.returncode == 0 and p.stderr == b"", p.stderr
    assert infoset(ET.fromstring(p.stdout)) == infoset(ET.fromstring(v["xml"]))


def test_wrong_schema_names_the_schema_that_decodes():
    p = run("exi", "decode", "--schema", "-20:CommonMessages", VECTORS["DC_PreChargeReq"]["exi_hex"])
    assert p.returncode == 1 and p.stdout == ""
    line, = p.stderr.splitlines()
    assert line.startswith("micro15118: error: does not decode as -20:CommonMessages: ")
    assert " at bit " in line and line.endswith("; it decodes as -20:DC"), line


@pytest.mark.parametrize("arg, message", [
    ("80 8c zz 00", "invalid hex at character 7: 'zz'"),
    ("808", "odd number of hex digits (3)"),
    ("01fe80040000000a8080", "V2GTP header: payload length 10, but 2 bytes follow the header"),
    ("01ff800400000002" + "8080", "V2GTP header: inverse protocol version 0xff, expected 0xfe"),
])
def test_bad_input_messages_say_what_and_where(arg, message):
    p = run("exi", "decode", arg)
    assert p.returncode == 1
    assert p.stderr == "micro15118: error: " + message + "\n"


def _signature_xml():
    root = ET.fromstring(VECTORS["AuthorizationReq_PnC"]["xml"])
    sig = root.find(".//{http://www.w3.org/2000/09/xmldsig#}Signature")
    return ET.tostring(sig, encoding="unicode")


@pytest.mark.parametrize("schema, xml", [
    ("-20:ACDP", '<acdp:ACDP_ConnectReq xmlns:acdp="urn:iso:std:iso:15118:-20:ACDP" '
                 'xmlns:ct="urn:iso:std:iso:15118:-20:CommonTypes"><ct:Header><ct:SessionID>'
                 '0102030405060708</ct:SessionID><ct:TimeStamp>1</ct:TimeStamp></ct:Header>'
                 '<acdp:EVElectricalChargingDeviceStatus>State_B</acdp:EVElectricalChargingDeviceStatus>'
                 '</acdp:ACDP_ConnectReq>'),
    ("-20:WPT", '<wpt:WPT_AlignmentCheckReq xmlns:wpt="urn:iso:std:iso:15118:-20:WPT" '
                'xmlns:ct="urn:iso:std:iso:15118:-20:CommonTypes"><ct:Header><ct:SessionID>'
                '0102030405060708</ct:SessionID><ct:TimeStamp>1</ct:TimeStamp></ct:Header>'
                '<wpt:EVProcessing>Finished</wpt:EVProcessing>'
                '<wpt:EVResultCode>EVResultSuccess</wpt:EVResultCode></wpt:WPT_AlignmentCheckReq>'),
    ("xmldsig", None),
])
def test_acdp_wpt_xmldsig_round_trip(schema, xml):
    xml = xml or _signature_xml()
    p = run("exi", "encode", "--schema", schema, "-", stdin=xml)
    assert p.returncode == 0, p.stderr
    hex_ = p.stdout.strip()
    p = run("exi", "decode", "--schema", schema, hex_)
    assert p.returncode == 0, p.stderr
    assert infoset(ET.fromstring(p.stdout)) == infoset(ET.fromstring(xml))
    if schema != "xmldsig":          # with a V2GTP header: 0x8005 ACDP, 0x8006 WPT
        p = run("exi", "decode", frame({"-20:ACDP": 0x8005, "-20:WPT": 0x8006}[schema],
                                       bytes.fromhex(hex_)).hex())
        assert p.returncode == 0 and ("schema " + schema) in p.stderr, p.stderr


# --- a reader that goes away (| head) ------------------------------------------------

@pytest.mark.parametrize("args", [
    ("exi", "decode", "--schema", "-20:CommonMessages", VECTORS["CertificateInstallationRes"]["exi_hex"]),
    ("exi", "encode", "--schema", "-20:CommonMessages", "-"),
    ("exi", "decode", "--help"),
    ("--help",),
    ("sim", "--help"),
])
def test_closed_stdout_is_quiet(args):
    # The reading end is closed before the command writes: every write fails
    # with EPIPE, as when `head` has exited.
    p = subprocess.Popen([MICRO15118, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()
    _, err = p.communicate(VECTORS["CertificateInstallationRes"]["xml"].encode(), timeout=60)
    assert p.returncode == 0, err
    assert b"Traceback" not in err and b"rror" not in err, err


def test_piped_into_head_is_quiet():
    v = VECTORS["CertificateInstallationRes"]
    p = subprocess.run("%s exi decode --schema -20:CommonMessages %s | head -n 1; "
                       "echo \"status=${PIPESTATUS[0]}\"" % (MICRO15118, v["exi_hex"]),
                       shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert p.stdout.splitlines()[-1] == "status=0", p
    assert p.stderr == "micro15118: schema -20:CommonMessages, from --schema\n", p.stderr
