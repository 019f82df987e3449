"""Hand-built HomePlug AV management frames (MMEs) for tests and fuzzers of
the modem models: any MMTYPE and MMV, padded to Ethernet's 60-byte minimum."""
import struct


def mme(dst, src, mmv, mmtype, payload=b""):
    """dst, src (MACs), MMV, MMTYPE, then the FMI (HomePlug AV 1.1 and later) and payload."""
    hdr = dst + src + b"\x88\xe1" + bytes((mmv,)) + struct.pack("<H", mmtype)
    if mmv:
        hdr += b"\x00\x00"
    return (hdr + payload).ljust(60, b"\x00")
