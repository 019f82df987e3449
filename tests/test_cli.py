"""The micro15118 CLI, with the EXI codec replaced by a recording fake."""

import os
import subprocess
import sys
import types

import pytest

import host
from host import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION_SETUP_REQ = "808c00800c0dcd4bb06209aba6a4ab1899199a1a9b1b9c1c9820a12180"


class FakeExiError(Exception):
    pass


@pytest.fixture
def codec(monkeypatch):
    """Fake host.exi_xml and exi.ExiError; records calls in codec.calls."""
    fake = types.ModuleType("host.exi_xml")
    fake.calls = []
    fake.fail = None

    def decode_to_xml(schema, data):
        fake.calls.append(("decode", schema, data))
        if fake.fail:
            raise fake.fail
        return "<xml/>"

    def encode_from_xml(schema, xml_text):
        fake.calls.append(("encode", schema, xml_text))
        if fake.fail:
            raise fake.fail
        return b"\x80\x8c"

    fake.decode_to_xml = decode_to_xml
    fake.encode_from_xml = encode_from_xml
    monkeypatch.setitem(sys.modules, "host.exi_xml", fake)
    monkeypatch.setattr(host, "exi_xml", fake, raising=False)
    exi = types.ModuleType("exi")
    exi.ExiError = FakeExiError
    monkeypatch.setitem(sys.modules, "exi", exi)
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


@pytest.mark.parametrize("arg", ["80x8", "808", "", "   "])
def test_bad_hex_exits_1(codec, capsys, arg):
    assert cli.main(["exi", "decode", "--schema", "din", arg]) == 1
    assert "hex" in _one_error_line(capsys)
    assert codec.calls == []


def test_missing_file_exits_1(codec, capsys, tmp_path):
    assert cli.main(["exi", "decode", "--schema", "din", "@" + str(tmp_path / "nope")]) == 1
    assert "nope" in _one_error_line(capsys)


def test_codec_errors_exit_1(codec, capsys):
    codec.fail = FakeExiError("bad event code\nat bit 12")
    assert cli.main(["exi", "decode", "--schema", "din", "8080"]) == 1
    assert _one_error_line(capsys) == "micro15118: error: bad event code at bit 12\n"
    codec.fail = ValueError("no such element")
    assert cli.main(["exi", "decode", "--schema", "din", "8080"]) == 1
    assert _one_error_line(capsys) == "micro15118: error: no such element\n"


def test_other_exceptions_propagate(codec):
    codec.fail = KeyError("bug")
    with pytest.raises(KeyError):
        cli.main(["exi", "decode", "--schema", "din", "8080"])


@pytest.mark.parametrize("argv", [
    ["exi", "decode", "--schema", "-20:XX", "8080"],
    ["exi", "decode", "--schema=-3", "8080"],
    ["exi", "decode", "8080"],
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
