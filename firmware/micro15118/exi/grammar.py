"""Load the compact grammar tables that tools/gen_grammars.py writes to schemas/.

Records are decoded on demand, from a bytes object in RAM (or flash) or from
the open file, so the heap holds only what the codec is using right now.

Layout (little endian):
  "EXG1", 9 x u16: #strings #qnames #datatypes #families and the byte offsets of
  the string pool, qname table, datatype table, family table and first state;
  string pool   u16 offsets (relative to the pool) then UTF-8 bytes
  qnames        u16 uri string, u16 local-name string
  datatypes     u8 kind, u8 bit width, u16 count, i32 arg (count: values of an
                enumeration or n-bit range, maximum length of a string or binary)
  families      u16 minOccurs, u16 maxOccurs (0xFFFF unbounded), u16 x3 states
  states        u16 #productions, u8 event-code width, u8 width of the
                second-level event code, then per production
                u8 kind|flags, u16 qname, u16 type, u16 target
  trailer       u16 document state, u16 fragment state
A state is named by its byte offset.  `type` is a datatype index (simple
content) or the start state of the child's grammar; `target` is the next state,
or a family index when the production has F_FAMILY.
"""
import struct
import sys

from .error import ExiError

from ..compat import const

MAGIC = b"EXG1"

# production kinds
EE = const(0)           # end element (or end of fragment)
SE = const(1)           # child element with a complex type
SE_SIMPLE = const(2)    # child element with a simple type
AT = const(3)           # attribute
CH = const(4)           # typed character data (simple content)
CH_MIXED = const(5)     # untyped character data in mixed content
SE_ANY = const(6)       # element wildcard
SE_AMBIGUOUS = const(7)  # fragment element declared with several types
# production flags
F_FAMILY = const(0x40)  # target is a repetition family, not a state
F_LIST = const(0x80)    # the element may repeat: its value is a list

# datatype kinds
DT_UINT = const(0)
DT_INT = const(1)
DT_NBIT = const(2)
DT_BOOL = const(3)
DT_STRING = const(4)
DT_HEX = const(5)
DT_B64 = const(6)
DT_ENUM = const(7)

UNBOUNDED = const(0xFFFF)

# CPython keeps decoded states (it has memory to spare and wants speed);
# MicroPython decodes them from the table each time to keep the heap small.
CACHE_STATES = sys.implementation.name != "micropython"
# Without the state cache, at most this many local names are kept.
MAX_NAMES = const(128)


class Grammar:
    """One schema set's grammar table.

    `source` is the table as a bytes-like object (kept in memory: fastest, and
    free of heap when it is frozen into flash) or an open binary file, from
    which records are read on demand so that the table costs no heap at all.
    """

    def __init__(self, source, name="?"):
        self.name = name
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._mem = source
            self._file = None
            size = len(source)
        else:
            self._mem = None
            self._file = source
            size = source.seek(0, 2)
        if self.read(0, 4) != MAGIC:
            raise ExiError("%s: not a grammar table" % name)
        (_, _, n_dt, _, self.str_off, self.qn_off, dt_off, self.fam_off,
         _) = struct.unpack("<9H", self.read(4, 18))
        self.doc, self.frag = struct.unpack("<HH", self.read(size - 4, 4))
        self.n_datatypes = n_dt
        self._dt_raw = bytes(self.read(dt_off, 8 * n_dt))
        self._states = {} if CACHE_STATES else None
        self._enums = {} if CACHE_STATES else None
        # Local names are looked up for every production; keep the ones in
        # use, so decoded messages share their key strings.
        self._locals = {}

    def read(self, off, n):
        if self._file is None:
            return self._mem[off:off + n]
        self._file.seek(off)
        return self._file.read(n)

    def datatype(self, i):
        """(kind, bit width, count, arg) of datatype i (see the layout above)."""
        return struct.unpack_from("<BBHi", self._dt_raw, 8 * i)

    def string(self, i):
        a, e = struct.unpack("<HH", self.read(self.str_off + 2 * i, 4))
        return str(self.read(self.str_off + a, e - a), "utf-8")

    def qname(self, qn):
        """(namespace URI, local name) of a qname index."""
        uri, local = struct.unpack("<HH", self.read(self.qn_off + 4 * qn, 4))
        return self.string(uri), self.string(local)

    def local(self, qn):
        cache = self._locals
        name = cache.get(qn)
        if name is None:
            name = self.string(struct.unpack("<H", self.read(self.qn_off + 4 * qn + 2, 2))[0])
            if len(cache) >= MAX_NAMES and not CACHE_STATES:
                cache.clear()
            cache[qn] = name
        return name

    def enum(self, dt):
        """The values of an enumeration datatype, in schema order."""
        values = self._enums.get(dt[3]) if self._enums is not None else None
        if values is None:
            values = tuple(self.string(dt[3] + i) for i in range(dt[2]))
            if self._enums is not None:
                self._enums[dt[3]] = values
        return values

    def family(self, f):
        """(minOccurs, maxOccurs, state below min, state in range, state at max)."""
        return struct.unpack("<5H", self.read(self.fam_off + 10 * f, 10))

    def state(self, off):
        """((n, width, width2), productions) of the state at byte offset off.

        n productions have event codes 0..n-1 of `width` bits; code n escapes
        to second-level events, whose codes take `width2` bits.  A production
        is (kind, flags, key, type, target, qname): key is the dict key of its
        value ("Name", "@Name" or "#text"); type is a datatype tuple for
        simple values or the start state of the child's grammar.
        """
        cache = self._states
        if cache is None:
            return struct.unpack("<HBB", self.read(off, 4)), _Productions(self, off)
        s = cache.get(off)
        if s is None:
            head = struct.unpack("<HBB", self.read(off, 4))
            prods = tuple(self._production(off + 4 + 7 * i) for i in range(head[0]))
            s = cache[off] = (head, prods)
        return s

    def _production(self, p):
        kf, qn, typ, target = struct.unpack("<BHHH", self.read(p, 7))
        kind = kf & 0x3F
        key = None
        if kind == SE or kind == SE_SIMPLE or kind == SE_AMBIGUOUS:
            key = self.local(qn)
        elif kind == AT:
            key = "@" + self.local(qn)
        elif kind == CH or kind == CH_MIXED:
            key = "#text"
        if kind == SE_SIMPLE or kind == AT or kind == CH:
            typ = self.datatype(typ)
        return (kind, kf & 0xC0, key, typ, target, qn)

    def enter(self, f, fam, count):
        """Take a production into repetition family f from family fam after
        `count` occurrences there; returns (state, family, count)."""
        count = count + 1 if f == fam else 1
        lo, hi, below, mid, full = self.family(f)
        if count < lo:
            return below, f, count
        if hi == UNBOUNDED or count < hi:
            return mid, f, count
        return full, f, count


class _Productions:
    """A state's productions, read from the table one at a time (MicroPython)."""

    def __init__(self, g, off):
        self.g = g
        self.off = off + 4

    def __getitem__(self, code):
        return self.g._production(self.off + 7 * code)
