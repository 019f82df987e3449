"""The micro15118 CLI, with the EXI codec replaced by a recording fake."""

import os
import subprocess
import sys
import types

import pytest

import host.capture
import host.cli.sim
from host import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION_SETUP_REQ = "808c00800c0dcd4bb06209aba6a4ab1899199a1a9b1b9c1c9820a12180"


class FakeExiError(Exception):
    pass


@pytest.fixture
def codec(monkeypatch):
    """Fake host.capture.exi_xml and micro15118.exi.ExiError; records calls in codec.calls."""
    fake = types.ModuleType("host.capture.exi_xml")
    fake.calls = []
    fake.fail = None

    fake.decodes = None     # set of schemas that decode (None: all)

    def decode_to_xml(schema, data):
        fake.calls.append(("decode", schema, data))
        if fake.fail:
            raise fake.fail
        if fake.decodes is not None and schema not in fake.decodes:
            raise FakeExiError("bad event code at bit 37 (byte 4)")
        return "<xml/>"

    def encode_from_xml(schema, xml_text):
        fake.calls.append(("encode", schema, xml_text))
        if fake.fail:
            raise fake.fail
        return b"\x80\x8c"

    fake.decode_to_xml = decode_to_xml
    fake.encode_from_xml = encode_from_xml
    monkeypatch.setitem(sys.modules, "host.capture.exi_xml", fake)
    monkeypatch.setattr(host.capture, "exi_xml", fake, raising=False)
    from micro15118 import exi
    monkeypatch.setattr(exi, "ExiError", FakeExiError)
    return fake


@pytest.mark.parametrize("schema", cli.EXI_SCHEMAS)
@pytest.mark.parametrize("form", ["joined", "separate", "after"])
def test_decode_schema_forms(codec, capsys, schema, form):
    argv = {
        "joined": ["exi", "decode", "--schema=" + schema, SESSION_SETUP_REQ],
        "separate": ["exi", "decode", "--schema", schema, SESSION_SETUP_REQ],
        "after": ["exi", "decode", SESSION_SETUP_REQ, "--schema", schema],
    }[form]
    assert cli.main(argv) == 0
    assert codec.calls == [("decode", schema, bytes.fromhex(SESSION_SETUP_REQ))]
    assert capsys.readouterr().out == "<xml/>\n"


def test_decode_hex_with_whitespace(codec):
    assert cli.main(["exi", "decode", "--schema", "-20:AC", " 80 8c\n00 8\t0 "]) == 0
    assert codec.calls == [("decode", "-20:AC", b"\x80\x8c\x00\x80")]


def test_decode_file_hex_text(codec, tmp_path):
    f = tmp_path / "msg.hex"
    f.write_text("808c 0080\n0c0d\n")
    assert cli.main(["exi", "decode", "--schema", "-20:DC", "@" + str(f)]) == 0
    assert codec.calls == [("decode", "-20:DC", bytes.fromhex("808c00800c0d"))]


def test_decode_file_raw_binary(codec, tmp_path):
    f = tmp_path / "msg.exi"
    raw = bytes.fromhex(SESSION_SETUP_REQ)
    f.write_bytes(raw)
    assert cli.main(["exi", "decode", "--schema=-2", "@" + str(f)]) == 0
    assert codec.calls == [("decode", "-2", raw)]


def test_encode_file_and_stdin(codec, capsys, tmp_path, monkeypatch):
    f = tmp_path / "msg.xml"
    f.write_text("<a/>")
    assert cli.main(["exi", "encode", "--schema", "din", str(f)]) == 0
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(read=lambda: "<b/>"))
    assert cli.main(["exi", "encode", "--schema", "-20:CommonMessages", "-"]) == 0
    assert codec.calls == [("encode", "din", "<a/>"), ("encode", "-20:CommonMessages", "<b/>")]
    assert capsys.readouterr().out == "808c\n808c\n"


def _one_error_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("micro15118: error: "), err
    return err


@pytest.mark.parametrize("arg, message", [
    ("80x8", "invalid hex at character 3: 'x'"),
    ("80 8c\n0g00", "invalid hex at character 8: 'g'"),
    ("8080 0x80", "invalid hex at character 7: 'x'"),
    ("80zz80", "invalid hex at character 3: 'zz'"),
    ("808", "odd number of hex digits (3)"),
    ("80 8c 0", "odd number of hex digits (5)"),
    ("", "empty hex input"),
    ("   ", "empty hex input"),
])
def test_bad_hex_exits_1(codec, capsys, arg, message):
    assert cli.main(["exi", "decode", "--schema", "din", arg]) == 1
    assert _one_error_line(capsys) == "micro15118: error: " + message + "\n"
    assert codec.calls == []


def test_missing_file_exits_1(codec, capsys, tmp_path):
    assert cli.main(["exi", "decode", "--schema", "din", "@" + str(tmp_path / "nope")]) == 1
    assert "nope" in _one_error_line(capsys)


def test_codec_errors_exit_1(codec, capsys):
    codec.fail = FakeExiError("bad event code\nat bit 12")
    assert cli.main(["exi", "decode", "--schema", "din", "8080"]) == 1
    assert _one_error_line(capsys) == ("micro15118: error: does not decode as din: bad event code "
                                       "at bit 12; no other schema decodes it either\n")
    codec.fail = ValueError("no such element")
    assert cli.main(["exi", "decode", "--schema", "din", "8080"]) == 1
    assert _one_error_line(capsys) == ("micro15118: error: does not decode as din: no such element; "
                                       "no other schema decodes it either\n")
    # every other schema was tried once, in order, after the one asked for
    assert [c[1] for c in codec.calls[-len(cli.EXI_SCHEMAS):]] == \
        ["din"] + [s for s in cli.EXI_SCHEMAS if s != "din"]


def test_wrong_schema_says_which_schemas_decode(codec, capsys):
    codec.decodes = {"-20:CommonMessages"}
    assert cli.main(["exi", "decode", "--schema", "-20:DC", SESSION_SETUP_REQ]) == 1
    assert _one_error_line(capsys) == (
        "micro15118: error: does not decode as -20:DC: bad event code at bit 37 (byte 4); "
        "it decodes as -20:CommonMessages\n")
    assert capsys.readouterr().out == ""
    codec.decodes = {"-20:AC", "-2"}
    assert cli.main(["exi", "decode", "--schema", "din", SESSION_SETUP_REQ]) == 1
    assert _one_error_line(capsys).endswith("; it decodes as -20:AC, -2\n")


def test_decode_says_which_schema_on_stderr_only(codec, capsys):
    assert cli.main(["exi", "decode", "--schema", "-20:AC", SESSION_SETUP_REQ]) == 0
    out, err = capsys.readouterr()
    assert out == "<xml/>\n"
    assert err == "micro15118: schema -20:AC, from --schema\n"
    assert cli.main(["exi", "decode", "-q", "--schema", "-20:AC", SESSION_SETUP_REQ]) == 0
    assert capsys.readouterr() == ("<xml/>\n", "")


# --- V2GTP frames -------------------------------------------------------------

def frame(ptype, payload, version=0x01, inverse=0xFE, length=None):
    length = len(payload) if length is None else length
    return (bytes([version, inverse]) + ptype.to_bytes(2, "big") + length.to_bytes(4, "big")
            + payload)


PAYLOAD = bytes.fromhex(SESSION_SETUP_REQ)


@pytest.mark.parametrize("ptype, schema", [
    (0x8001, "appProtocol"), (0x8002, "-20:CommonMessages"), (0x8003, "-20:AC"),
    (0x8004, "-20:DC"), (0x8005, "-20:ACDP"), (0x8006, "-20:WPT"),
    (0x8101, "-20:CommonMessages"), (0x8102, "-20:CommonMessages"), (0x8103, "-20:ACDP"),
])
def test_v2gtp_payload_type_picks_the_schema(codec, capsys, ptype, schema):
    assert cli.main(["exi", "decode", frame(ptype, PAYLOAD).hex()]) == 0
    assert codec.calls == [("decode", schema, PAYLOAD)]        # the header is stripped
    out, err = capsys.readouterr()
    assert out == "<xml/>\n"
    assert err == "micro15118: schema %s, from V2GTP payload type 0x%04x\n" % (schema, ptype)


@pytest.mark.parametrize("decodes, used, note", [
    ({"appProtocol", "-2", "din"}, "appProtocol", ""),
    ({"-2", "din"}, "-2", " (not appProtocol)"),
    ({"din"}, "din", " (not appProtocol nor -2)"),
])
def test_v2gtp_8001_tries_sap_then_iso2_then_din(codec, capsys, decodes, used, note):
    # 0x8001 is SupportedAppProtocol in -20, and every EXI message in -2 and DIN
    codec.decodes = decodes
    assert cli.main(["exi", "decode", frame(0x8001, PAYLOAD).hex()]) == 0
    tried = ["appProtocol", "-2", "din"]
    assert [c[1] for c in codec.calls] == tried[:tried.index(used) + 1]
    out, err = capsys.readouterr()
    assert out == "<xml/>\n"
    assert err == "micro15118: schema %s, from V2GTP payload type 0x8001%s\n" % (used, note)


def test_v2gtp_8001_none_decodes(codec, capsys):
    codec.decodes = {"-20:DC"}
    assert cli.main(["exi", "decode", frame(0x8001, PAYLOAD).hex()]) == 1
    assert _one_error_line(capsys) == (
        "micro15118: error: does not decode as appProtocol or -2 or din: bad event code at bit 37 "
        "(byte 4); it decodes as -20:DC\n")


def test_schema_option_overrides_the_payload_type(codec, capsys):
    assert cli.main(["exi", "decode", "--schema", "-20:AC", frame(0x8004, PAYLOAD).hex()]) == 0
    assert codec.calls == [("decode", "-20:AC", PAYLOAD)]


@pytest.mark.parametrize("data, message", [
    (frame(0x8002, PAYLOAD, version=0x02, inverse=0xFD),
     "V2GTP header: protocol version 0x02, expected 0x01"),
    (frame(0x8002, PAYLOAD, inverse=0xFF), "V2GTP header: inverse protocol version 0xff, expected 0xfe"),
    (frame(0x8002, PAYLOAD, length=len(PAYLOAD) + 1),
     "V2GTP header: payload length %d, but %d bytes follow the header" % (len(PAYLOAD) + 1, len(PAYLOAD))),
    (frame(0x8002, PAYLOAD, length=3),
     "V2GTP header: payload length 3, but %d bytes follow the header" % len(PAYLOAD)),
    (frame(0x8002, PAYLOAD)[:5], "V2GTP header cut short: 5 bytes of 8"),
    (frame(0x8002, b""), "V2GTP frame with an empty payload"),
    (frame(0x9000, b"\x10\x00"), "V2GTP payload type 0x9000 (SDP request) is not an EXI message"),
    (frame(0x1234, PAYLOAD), "V2GTP payload type 0x1234 (unknown) is not an EXI message"),
    (bytes.fromhex("42") + PAYLOAD, "neither EXI (first byte 0x80 or '$EXI') nor V2GTP"),
])
def test_bad_v2gtp_header_exits_1(codec, capsys, data, message):
    assert cli.main(["exi", "decode", data.hex()]) == 1
    assert _one_error_line(capsys).startswith("micro15118: error: " + message)
    assert codec.calls == []


def test_no_header_and_no_schema_is_a_usage_error(codec, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["exi", "decode", SESSION_SETUP_REQ])
    assert exc.value.code == 2
    assert "no V2GTP header, so give --schema" in capsys.readouterr().err
    assert codec.calls == []


# --- stdin -----------------------------------------------------------------------

def _stdin(monkeypatch, data):
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=types.SimpleNamespace(
        read=lambda: data)))


@pytest.mark.parametrize("data", [
    frame(0x8004, PAYLOAD),                            # raw binary frame
    frame(0x8004, PAYLOAD).hex().encode() + b"\n",     # hex text
    b"01fe 8004\r\n" + frame(0x8004, PAYLOAD)[4:].hex(" ").encode(),
])
def test_decode_reads_stdin(codec, capsys, monkeypatch, data):
    _stdin(monkeypatch, data)
    assert cli.main(["exi", "decode", "-"]) == 0
    assert codec.calls == [("decode", "-20:DC", PAYLOAD)]


def test_decode_reads_raw_exi_from_stdin(codec, monkeypatch):
    _stdin(monkeypatch, PAYLOAD)
    assert cli.main(["exi", "decode", "--schema", "din", "-"]) == 0
    assert codec.calls == [("decode", "din", PAYLOAD)]


@pytest.mark.parametrize("data, message", [
    (b"", "empty input on stdin"),
    (b"80 8c zz\n", "invalid hex at character 7: 'zz'"),
    (b"808c0", "odd number of hex digits (5)"),
])
def test_bad_stdin_exits_1(codec, capsys, monkeypatch, data, message):
    _stdin(monkeypatch, data)
    assert cli.main(["exi", "decode", "--schema", "din", "-"]) == 1
    assert _one_error_line(capsys) == "micro15118: error: " + message + "\n"
    assert codec.calls == []


def test_empty_file_exits_1(codec, capsys, tmp_path):
    f = tmp_path / "empty.exi"
    f.write_bytes(b"")
    assert cli.main(["exi", "decode", "--schema", "din", "@" + str(f)]) == 1
    assert _one_error_line(capsys) == "micro15118: error: empty input file: %s\n" % f


def test_decode_file_v2gtp_frame(codec, tmp_path):
    f = tmp_path / "frame.bin"
    f.write_bytes(frame(0x8003, PAYLOAD))
    assert cli.main(["exi", "decode", "@" + str(f)]) == 0
    assert codec.calls == [("decode", "-20:AC", PAYLOAD)]


# --- a reader that goes away ---------------------------------------------------

class _ClosedPipe:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


@pytest.mark.parametrize("argv", [
    ["exi", "decode", "--schema", "din", "8080"],
    ["exi", "decode", "--help"],
    ["sim", "--help"],
])
def test_broken_pipe_is_quiet(codec, capsys, monkeypatch, argv):
    with capsys.disabled():
        monkeypatch.setattr(sys, "stdout", _ClosedPipe())
        errors = []
        monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(write=errors.append, flush=lambda: None))
        try:
            status = cli.main(argv)
        except SystemExit as exc:       # --help: argparse itself ignores the failed write
            status = exc.code
    assert status == 0
    assert not any("rror" in e or "Traceback" in e for e in errors), errors


def test_broken_pipe_in_the_codec_is_quiet(codec, capsys):
    codec.fail = BrokenPipeError(32, "Broken pipe")
    assert cli.main(["exi", "decode", "--schema", "din", "8080"]) == 0
    assert capsys.readouterr().err == ""


def test_other_exceptions_propagate(codec):
    codec.fail = KeyError("bug")
    with pytest.raises(KeyError):
        cli.main(["exi", "decode", "--schema", "din", "8080"])


@pytest.mark.parametrize("argv", [
    ["exi", "decode", "--schema", "-20:XX", "8080"],
    ["exi", "decode", "--schema=-3", "8080"],
    ["exi", "decode", "8080"],                      # bare EXI needs --schema
    ["exi", "encode", "-"],                         # encode always needs it
    ["exi", "decode", "--schema"],
    ["exi", "decode", "--sch", "din", "8080"],
    ["exi", "frobnicate"],
    ["nope"],
])
def test_usage_errors_exit_2(codec, capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert codec.calls == []


@pytest.mark.parametrize("argv", [[], ["exi"]])
def test_no_subcommand_prints_help(capsys, argv):
    assert cli.main(argv) == 2
    assert "usage: micro15118" in capsys.readouterr().err


def test_join_option_values_stops_at_double_dash():
    assert cli._join_option_values(["--schema", "-2", "--", "--schema", "x"]) == [
        "--schema=-2", "--", "--schema", "x"]


@pytest.mark.parametrize("args, expect", [
    (["--help"], "exi"),
    (["exi", "--help"], "decode"),
    (["exi", "decode", "--help"], "-20:CommonMessages"),
    (["exi", "encode", "--help"], "FILE.xml"),
    (["--version"], "micro15118 " + host.__version__),
])
def test_help_and_version_subprocess(args, expect):
    proc = subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    assert expect in proc.stdout


def test_every_schema_the_readme_lists_is_accepted():
    from micro15118 import exi
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme.split("## EXI codec", 1)[1].split("\n## ", 1)[0]
    listed = section.split("Schemas:", 1)[1].split(".", 1)[0]
    names = [w.strip("`") for w in listed.replace("(", " ").replace(")", " ").replace(",", " ").split()
             if w.startswith("`")]
    assert len(names) == 9, names
    assert sorted(names) == sorted(cli.EXI_SCHEMAS) == sorted(exi.SCHEMAS)


# --- sim options ---------------------------------------------------------------

@pytest.mark.parametrize("option, value, message", [
    ("--soc", "101", "argument --soc: must be from 0 to 100, not 101"),
    ("--soc", "-0.5", "argument --soc: must be from 0 to 100, not -0.5"),
    ("--soc", "nan", "argument --soc: not a number: 'nan'"),
    ("--soc", "half", "argument --soc: not a number: 'half'"),
    ("--loops", "0", "argument --loops: must be at least 1, not 0"),
    ("--loops", "2.5", "argument --loops: not a whole number: '2.5'"),
    ("--timeout", "0", "argument --timeout: must be more than 0, not 0"),
    ("--timeout", "-3", "argument --timeout: must be more than 0, not -3"),
])
def test_sim_options_are_checked_up_front(capsys, monkeypatch, option, value, message):
    ran = []
    monkeypatch.setattr(host.cli.sim, "sim_run", lambda args: ran.append(args))
    with pytest.raises(SystemExit) as exc:
        cli.main(["sim", option + "=" + value])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "micro15118 sim: error: " + message
    assert ran == []


def test_sim_option_limits_are_accepted():
    args = cli.build_parser().parse_args(["sim", "--soc", "0", "--loops", "1", "--timeout", "0.5"])
    assert (args.soc, args.loops, args.timeout) == (0.0, 1, 0.5)
    args = cli.build_parser().parse_args(["sim", "--soc", "100"])
    assert (args.soc, args.loops, args.timeout) == (100.0, 20, 120.0)
