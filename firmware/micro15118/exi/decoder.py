"""Schema-informed EXI decoder: bytes in, plain dicts out (see README.md)."""
from .bitstream import BitReader
from .error import ExiError
from .grammar import (EE, SE, SE_SIMPLE, AT, CH, CH_MIXED, F_FAMILY, F_LIST,
                         DT_UINT, DT_INT, DT_NBIT, DT_BOOL, DT_STRING, DT_HEX, DT_B64, DT_ENUM)


def read_header(r):
    """The EXI header the V2G profile uses: no cookie, no options, version 1."""
    if r.bits(2) != 2:
        raise ExiError("not an EXI stream (bad distinguishing bits)", 0)
    if r.bits(1):
        raise ExiError("EXI options in the header are not supported", 2)
    if r.bits(5):
        raise ExiError("unsupported EXI version", 3)


class Decoder:
    def __init__(self, grammar, values=None):
        self.g = grammar
        self.values = values    # a strings.ValueTable, or None (V2G profile)

    def decode(self, data, fragment=False):
        """Decode a whole EXI stream (a document, or a fragment) into a dict."""
        r = BitReader(data)
        read_header(r)
        g = self.g
        (n, width, _), prods = g.state(g.frag if fragment else g.doc)
        out = {}
        while True:
            code = r.bits(width)
            if code >= n:
                raise ExiError("undeclared event code %d at document level" % code, r.pos)
            kind, flags, key, typ, _, qn = prods[code]
            if kind == EE and fragment:
                break
            if kind == SE:
                value = self.element(r, typ, qn)
            elif kind == SE_SIMPLE:
                value = self.simple_element(r, typ, qn)
            else:
                raise ExiError("element %s cannot be decoded here" % (key or "*"), r.pos)
            if key in out:      # a fragment may hold an element more than once
                if type(out[key]) is not list:
                    out[key] = [out[key]]
                out[key].append(value)
            else:
                out[key] = value
            if not fragment:
                break
        if r.end - r.i > 0:
            raise ExiError("%d bytes of trailing data" % (r.end - r.i), r.pos)
        return out

    def element(self, r, state, eqn):
        g = self.g
        out = {}
        fam = -1
        count = 0
        while True:
            (n, width, width2), prods = g.state(state)
            code = r.bits(width)
            if code >= n:
                return self.second_level(r, prods, n, width2, code, out)
            kind, flags, key, typ, target, qn = prods[code]
            if kind == EE:
                return out
            if kind == SE:
                value = self.element(r, typ, qn)
            elif kind == SE_SIMPLE:
                value = self.simple_element(r, typ, qn)
            elif kind == AT:
                value = self.value(r, typ, qn)
            elif kind == CH:
                value = self.value(r, typ, eqn)
            elif kind == CH_MIXED:
                value = out.get(key, "") + self.string(r, eqn)
            else:
                raise ExiError("wildcard content is not supported", r.pos)
            if flags & F_LIST:
                items = out.get(key)
                if items is None:
                    out[key] = [value]
                else:
                    items.append(value)
            else:
                out[key] = value
            if flags & F_FAMILY:
                state, fam, count = g.enter(target, fam, count)
            else:
                state = target
                fam = -1

    def second_level(self, r, prods, n, width2, code, out):
        # The one undeclared event EXIficient writes for valid input: EE
        # (code 0) where typed text was expected but the element is empty.
        if code == n and r.bits(width2) == 0:
            for i in range(n):
                kind, _, key, dt, _, _ = prods[i]
                if kind == CH and dt[0] in (DT_STRING, DT_HEX, DT_B64):
                    out[key] = "" if dt[0] == DT_STRING else b""
                    return out
        raise ExiError("undeclared event (code %d of %d)" % (code, n), r.pos)

    def simple_element(self, r, dt, qn):
        # A simple type's grammar: CH then EE, each with a 1-bit event code
        # (the other value of the bit escapes to undeclared events).
        kind = dt[0]
        if kind == DT_NBIT or kind == DT_BOOL or kind == DT_ENUM:
            # fixed width: read CH, the value and EE at once
            v = r.bits(dt[1] + 2)
            if v >> (dt[1] + 1) or v & 1:
                raise ExiError("undeclared event in simple element", r.pos)
            return self.fixed(r, dt, v >> 1)
        if r.bits(1):
            # EXIficient writes an element with no text as the second-level
            # EE (code 0 of 3 bits: EE, xsi:type, xsi:nil, AT(*), SE(*), CH).
            if r.bits(3) == 0 and dt[0] in (DT_STRING, DT_HEX, DT_B64):
                return "" if dt[0] == DT_STRING else b""
            raise ExiError("undeclared event in simple element", r.pos)
        value = self.value(r, dt, qn)
        if r.bits(1):
            raise ExiError("undeclared event after simple value", r.pos)
        return value

    def value(self, r, dt, qn):
        kind = dt[0]
        if kind == DT_NBIT or kind == DT_BOOL or kind == DT_ENUM:
            return self.fixed(r, dt, r.bits(dt[1]))
        if kind == DT_UINT:
            return check_width(r.uint(), dt[1], r)
        if kind == DT_INT:
            neg = r.bits(1)
            v = check_width(r.uint(), dt[1], r)
            return -v - 1 if neg else v
        if kind == DT_STRING:
            s = self.string(r, qn)
            if dt[2] and len(s) > dt[2]:
                raise ExiError("string longer than its maximum of %d" % dt[2], r.pos)
            return s
        if kind == DT_HEX or kind == DT_B64:
            n = r.uint()
            if dt[2] and n > dt[2]:
                raise ExiError("%d bytes, more than the maximum of %d" % (n, dt[2]), r.pos)
            return r.read_bytes(n)
        raise ExiError("unknown datatype %d" % kind, r.pos)

    def fixed(self, r, dt, v):
        """The value of the bits v of an n-bit integer, boolean or enumeration."""
        kind = dt[0]
        if kind == DT_BOOL:
            return v == 1
        if v > dt[2] or (kind == DT_ENUM and v == dt[2]):
            raise ExiError("value %d out of range" % v, r.pos)
        if kind == DT_NBIT:
            return v + dt[3]
        return self.g.enum(dt)[v]

    def string(self, r, qn):
        n = r.uint()
        if n < 2:
            return self.string_hit(r, qn, n)
        n -= 2
        if n << 3 > r.remaining():
            raise ExiError("string length %d runs past the end" % n, r.pos)
        mark = r.mark()
        raw = r.read_bytes(n)
        if not n or max(raw) < 0x80:
            return self.seen(qn, str(raw, "ascii"))     # every character was one 8-bit group
        r.reset(mark)
        chars = []
        for _ in range(n):
            c = r.uint()
            if c > 0x10FFFF or 0xD800 <= c <= 0xDFFF:
                raise ExiError("invalid character code %d" % c, r.pos)
            chars.append(chr(c))
        return self.seen(qn, "".join(chars))

    def seen(self, qn, s):
        if self.values is not None:
            self.values.add(qn, s)
        return s

    def string_hit(self, r, qn, n):
        # 0: local hit (index among this name's values), 1: global hit.
        t = self.values
        if t is None:
            # The V2G profile (valuePartitionCapacity=0) never fills the table.
            raise ExiError("string table hit, but the string table is empty", r.pos)
        if n == 0:
            part = t.local.get(qn, ())
            i = r.bits(t.local_width(qn))
            s = part[i] if i < len(part) else None
        else:
            i = r.bits(t.global_width())
            s = t.values[i][0] if i < len(t.values) else None
        if s is None:
            raise ExiError("string table index %d out of range" % i, r.pos)
        return s


def check_width(v, width, r):
    if width and v >> width:
        raise ExiError("integer out of range", r.pos)
    return v
