"""Load the compact grammar tables that tools/gen_grammars.py writes to schemas/.

Records are decoded on demand, from a bytes object in RAM (or flash) or from
the open file, so the heap holds only what the codec is using right now.

Layout (little endian):
  header        "EXG2", u16 stamp (names this table's bytes), u16 stamp of the
                base table, 9 x u16: the numbers of the table's first string,
                qname, datatype and family (0 unless it extends a base), then
                the byte offsets of the string pool, qname table, datatype
                table, family table and first state (how many records each
                holds follows from these); u8 length and the ASCII name of
                the base table (empty: none)
  string pool   u16 offsets (relative to the pool) then UTF-8 bytes
  qnames        u16 uri string, u16 local-name string
  datatypes     u8 kind, u8 bit width, u16 count, i32 arg (count: values of an
                enumeration or n-bit range, maximum length of a string or binary;
                arg: the first value's string of an enumeration, the lower
                bound of an n-bit range)
  families      u16 minOccurs, u16 maxOccurs (0xFFFF unbounded), u16 x3 states
  states        u16 #productions, u8 event-code width, u8 width of the
                second-level event code, then per production
                u8 kind|flags, u16 qname, u16 type, u16 target
  trailer       u16 document state, u16 fragment state (0, 0 in a base table)
A state is named by its byte offset.  `type` is a datatype index (simple
content) or the start state of the child's grammar; `target` is the next state,
or a family index when the production has F_FAMILY.

A table may extend a base table, which holds grammars that several tables
share (the -20 ones share iso20_CommonTypes).  It is then laid out as if
appended to the base: its byte offsets (in the header too) count from the
base's first byte, and its strings, qnames, datatypes and families are
numbered on from the base's.  Records below those bounds are read from the
base, in place; the two are never joined into one copy.  A base extends no
other table.
"""
import struct
import sys

from .error import ExiError

from ..compat import const

MAGIC = b"EXG2"

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
    A table that extends a base table gets it from base(name), a Grammar
    (the tables sharing a base share that one object).
    """

    # At most 17 instance attributes: MicroPython's attribute table of 17
    # slots then suffices; an 18th grows it to 23 (48 bytes more per table,
    # and a larger block to find while the tables load).
    def __init__(self, source, name="?", base=None):
        self.name = name
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._mem = source
            self._file = None
            size = len(source)
        else:
            self._mem = None
            self._file = source
            size = source.seek(0, 2)
        # Until the base is known, offsets are this table's own.
        self._split = 0
        self.base = None
        if self.read(0, 4) != MAGIC:
            raise ExiError("%s: not a grammar table" % name)
        # n_*0: the numbers of this table's first records; lower ones are the base's
        (base_stamp, self.n_str0, self.n_qn0, self.n_dt0, self.n_fam0, self.str_off, self.qn_off,
         dt_off, self.fam_off, _, n) = struct.unpack("<H9HB", self.read(6, 21))
        self.doc, self.frag = struct.unpack("<HH", self.read(size - 4, 4))
        if n:
            base_name = str(self.read(27, n), "ascii")
            b = base(base_name) if base else None
            if b is None or b.base is not None or struct.unpack("<H", b.read(4, 2))[0] != base_stamp:
                raise ExiError("%s: needs base table %s%s" % (
                    name, base_name, "" if b is None else " of this build"))
            self.base = b
            # the string pool follows the header, so the offset of the pool
            # tells where this table starts: right after the base
            self._split = self.str_off - 27 - n
        # The datatypes are read in place (in flash when the table is
        # frozen), from a file once into RAM.
        if self._file is None:
            self._dt_raw = memoryview(self._mem)[dt_off - self._split:self.fam_off - self._split]
        else:
            self._dt_raw = self.read(dt_off, self.fam_off - dt_off)
        # CPython caches decoded states (keyed by offset) and enumerations
        # (by datatype); MicroPython has no room for them.
        self._cache = {} if CACHE_STATES else None
        # Local names are looked up for every production; keep the ones in
        # use, so decoded messages share their key strings.
        self._locals = {}

    def read(self, off, n):
        """n bytes of this table at byte offset off (counted from the base's
        start, so a table extending a base starts at the base's end)."""
        off -= self._split
        if self._file is None:
            return self._mem[off:off + n]
        self._file.seek(off)
        return self._file.read(n)

    def _unpack(self, fmt, off, n):
        # read(), unpacked; from memory in place (the hot path: no copy)
        if self._file is None:
            return struct.unpack_from(fmt, self._mem, off - self._split)
        return struct.unpack(fmt, self.read(off, n))

    # Records below a table's first ones are its base's, whose own numbers
    # they are (a base extends no other table): read there, in place.
    def datatype(self, i):
        """(kind, bit width, count, arg) of datatype i (see the layout above)."""
        j = i - self.n_dt0
        if j < 0:
            return struct.unpack_from("<BBHi", self.base._dt_raw, 8 * i)
        return struct.unpack_from("<BBHi", self._dt_raw, 8 * j)

    def string(self, i):
        g = self
        j = i - self.n_str0
        if j < 0:
            g = self.base
            j = i
        off = g.str_off
        a, e = g._unpack("<HH", off + 2 * j, 4)
        return str(g.read(off + a, e - a), "utf-8")

    def _qname(self, qn):
        # the record of qname qn
        j = qn - self.n_qn0
        if j < 0:
            g = self.base
            return g._unpack("<HH", g.qn_off + 4 * qn, 4)
        return self._unpack("<HH", self.qn_off + 4 * j, 4)

    def qname(self, qn):
        """(namespace URI, local name) of a qname index."""
        uri, local = self._qname(qn)
        return self.string(uri), self.string(local)

    def local(self, qn):
        cache = self._locals
        name = cache.get(qn)
        if name is None:
            name = self.string(self._qname(qn)[1])
            if len(cache) >= MAX_NAMES and not CACHE_STATES:
                cache.clear()
            cache[qn] = name
        return name

    @property
    def n_datatypes(self):
        """How many datatypes there are (the base's included)."""
        return self.n_dt0 + len(self._dt_raw) // 8

    def enum(self, dt):
        """The values of an enumeration datatype, in schema order."""
        cache = self._cache
        values = cache.get(dt) if cache is not None else None
        if values is None:
            values = tuple(self.string(dt[3] + i) for i in range(dt[2]))
            if cache is not None:
                cache[dt] = values
        return values

    def family(self, f):
        """(minOccurs, maxOccurs, state below min, state in range, state at max)."""
        j = f - self.n_fam0
        if j < 0:
            g = self.base
            return g._unpack("<5H", g.fam_off + 10 * f, 10)
        return self._unpack("<5H", self.fam_off + 10 * j, 10)

    def state(self, off):
        """((n, width, width2), productions) of the state at byte offset off.

        n productions have event codes 0..n-1 of `width` bits; code n escapes
        to second-level events, whose codes take `width2` bits.  A production
        is (kind, flags, key, type, target, qname): key is the dict key of its
        value ("Name", "@Name" or "#text"); type is a datatype tuple for
        simple values or the start state of the child's grammar.
        """
        g = self
        if off < self._split:
            g = self.base     # a state of the base: read (and cached) there, with its names
        cache = g._cache
        if cache is None:
            return g._unpack("<HBB", off, 4), _Productions(g, off)
        s = cache.get(off)
        if s is None:
            head = struct.unpack("<HBB", g.read(off, 4))
            prods = tuple(g._production(off + 4 + 7 * i) for i in range(head[0]))
            s = cache[off] = (head, prods)
        return s

    def _production(self, p):
        kf, qn, typ, target = self._unpack("<BHHH", p, 7)
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
