# Proves the firmware test runner: these run under pytest (CPython) and under
# the MicroPython unix port via tests/mprun.py.  Firmware tests are plain
# `def test_*():` functions using `assert` -- no pytest imports, no fixtures.
import hashlib
import struct


def test_struct_v2gtp_header_round_trip():
    # V2GTP header (ISO 15118-2/-20): version, inverted version,
    # payload type (0x8001 = EXI-encoded V2G message), payload length.
    header = struct.pack(">BBHI", 0x01, 0xFE, 0x8001, 23)
    assert header == b"\x01\xfe\x80\x01\x00\x00\x00\x17"
    assert struct.unpack(">BBHI", header) == (0x01, 0xFE, 0x8001, 23)


def test_sha256_known_answer():
    # FIPS 180-2 test vector; message signatures in -20 use SHA-256.
    digest = hashlib.sha256(b"abc").digest()
    assert digest == bytes.fromhex(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
