"""Classic libpcap files (LINKTYPE_ETHERNET, microsecond timestamps).

    w = PcapWriter("wire.pcap")      # or an open binary file object
    w.write(frame, ts=None)          # ts: float seconds (default: wall clock)
    w.close()
    read_pcap("wire.pcap") -> [(ts, frame), ...]

Every record is flushed as it is written, so tshark can follow a running
capture and nothing is lost if the process dies.
"""
import struct
import time

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535

_HDR = struct.Struct("<IHHiIII")
_REC = struct.Struct("<IIII")


class PcapWriter:
    def __init__(self, path_or_file, snaplen=SNAPLEN, linktype=LINKTYPE_ETHERNET):
        if hasattr(path_or_file, "write"):
            self._f = path_or_file
            self._own = False
        else:
            self._f = open(path_or_file, "wb")
            self._own = True
        self.snaplen = snaplen
        self.count = 0
        self._f.write(_HDR.pack(MAGIC_US, 2, 4, 0, 0, snaplen, linktype))
        self._f.flush()

    def write(self, frame, ts=None):
        if self._f is None:
            raise ValueError("pcap writer is closed")
        if ts is None:
            ts = time.time()
        frame = bytes(frame)
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1000000:             # rounding carried into the next second
            sec += 1
            usec -= 1000000
        data = frame[: self.snaplen]
        self._f.write(_REC.pack(sec, usec, len(data), len(frame)) + data)
        self._f.flush()
        self.count += 1

    def flush(self):
        if self._f is not None:
            self._f.flush()

    def close(self):
        if self._f is None:
            return
        self._f.flush()
        if self._own:
            self._f.close()
        self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_pcap(path_or_file):
    """Return [(ts, frame)] from a classic pcap (either byte order, us or ns)."""
    if hasattr(path_or_file, "read"):
        data = path_or_file.read()
    else:
        with open(path_or_file, "rb") as f:
            data = f.read()
    if len(data) < 24:
        raise ValueError("not a pcap file (short header)")
    for endian in ("<", ">"):
        (magic,) = struct.unpack(endian + "I", data[:4])
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise ValueError("not a classic pcap file (magic %s)" % data[:4].hex())
    scale = 1e-6 if magic == MAGIC_US else 1e-9
    rec = struct.Struct(endian + "IIII")
    out = []
    pos = 24
    while pos + rec.size <= len(data):
        sec, frac, incl, _orig = rec.unpack_from(data, pos)
        pos += rec.size
        if pos + incl > len(data):
            raise ValueError("truncated pcap record at offset %d" % (pos - rec.size))
        out.append((sec + frac * scale, data[pos:pos + incl]))
        pos += incl
    return out
