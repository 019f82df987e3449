"""micro15118 exi decode/encode with the real codec, run as a user would."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import vectors
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
