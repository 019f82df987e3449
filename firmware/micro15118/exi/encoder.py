"""Schema-informed EXI encoder: plain dicts in, bytes out (see README.md).

The grammar drives the walk: in each state the encoder takes the first
production, in event-code order, whose key still has a value waiting in the
dict; with nothing left it ends the element, and anything not consumed by then
is reported.  Values may also be given as XML text (str), which is converted
by the element's datatype; the host's XML front end relies on that.
"""
import binascii

from .bitstream import BitWriter, MAX_UINT_GROUPS
from .error import ExiError
from .grammar import (EE, SE, SE_SIMPLE, AT, CH, CH_MIXED, SE_ANY, F_FAMILY, F_LIST,
                         DT_UINT, DT_INT, DT_NBIT, DT_BOOL, DT_STRING, DT_HEX, DT_B64, DT_ENUM)

_MISSING = object()
# the datatype of untyped text (mixed content)
UNTYPED = (DT_STRING, 0, 0, 0)
# Unbounded integers (xs:integer) are limited to what the decoder accepts.
MAX_UINT_BITS = 7 * MAX_UINT_GROUPS


class Encoder:
    def __init__(self, grammar, listener=None, values=None):
        self.g = grammar
        self.values = values    # a strings.ValueTable, or None (V2G profile)
        # listener(event, qname, datatype, value) sees every event written:
        # "SE", "AT", "CH" and "EE"; the host builds XML from it.
        self.listener = listener
        self.path = []

    def encode(self, msg, fragment=False, buf=None):
        """EXI bytes of msg; with `buf` (a bytearray), write into it instead
        and return the number of bytes used."""
        if not isinstance(msg, dict) or (not fragment and len(msg) != 1):
            raise ExiError("a message is a dict with exactly one root element")
        g = self.g
        w = BitWriter(buf)
        w.bits(0x80, 8)     # header: distinguishing bits, no options, EXI 1.0
        (n, width, _), prods = g.state(g.frag if fragment else g.doc)
        for name, value in msg.items():
            items = value if fragment and type(value) is list else [value]
            for item in items:
                for code in range(n):
                    kind, _, key, typ, _, qn = prods[code]
                    if key == name and (kind == SE or kind == SE_SIMPLE):
                        break
                else:
                    raise ExiError("%s is not a root element of %s" % (name, g.name))
                w.bits(code, width)
                self.path = [name]
                if kind == SE:
                    self.element(w, typ, item, qn)
                else:
                    self.simple_element(w, typ, item, qn)
        if fragment:
            w.bits(n - 1, width)   # ED
        return w.getvalue() if buf is None else w.flush()

    def fail(self, msg):
        raise ExiError("%s: %s" % ("/".join(self.path), msg))

    def element(self, w, state, value, qn):
        listener = self.listener
        if listener:
            listener("SE", qn, None, None)
        if type(value) is not dict:
            # XML text of an empty element, or of one with simple content
            value = {} if value is None or (type(value) is str and not value) else {"#text": value}
        g = self.g
        used = {}
        fam = -1
        count = 0
        path = self.path
        while True:
            (n, width, width2), prods = g.state(state)
            code, prod, v = self.choose(prods, n, value, used)
            kind = prod[0]
            if kind == CH and is_empty_text(v, prod[3]):
                # Empty text: second-level EE instead of CH, as EXIficient does.
                w.bits(n, width)
                w.bits(0, width2)
                kind = EE
            else:
                w.bits(code, width)
            if kind == EE:
                self.check_consumed(value, used)
                if listener:
                    listener("EE", qn, None, None)
                return
            _, flags, key, typ, target, cqn = prod
            path.append(key)
            if kind == SE:
                self.element(w, typ, v, cqn)
            elif kind == SE_SIMPLE:
                self.simple_element(w, typ, v, cqn)
            elif kind == CH_MIXED:
                self.value(w, UNTYPED, v, qn)
                if listener:
                    listener("CH", qn, UNTYPED, v)
            else:   # AT, CH
                self.value(w, typ, v, cqn if kind == AT else qn)
                if listener:
                    listener("AT" if kind == AT else "CH", cqn, typ, v)
            path.pop()
            if flags & F_FAMILY:
                state, fam, count = g.enter(target, fam, count)
            else:
                state = target
                fam = -1

    def choose(self, prods, n, value, used):
        """(code, production, value) to write next: the text of mixed content
        once no attribute is pending, else the first production whose key
        still has a value waiting, else EE."""
        if prods[n - 1][0] == CH_MIXED and "#text" in value and "#text" not in used:
            for c in range(n):      # (prods is a lazy view on MicroPython: index it)
                p = prods[c]
                if p[0] == AT and p[2] in value and p[2] not in used:
                    break
            else:
                used["#text"] = 1     # the decoder joins all text into one value
                return n - 1, prods[n - 1], value["#text"]
        for code in range(n):
            prod = prods[code]
            kind = prod[0]
            if kind == EE:
                return code, prod, None
            if kind == SE_ANY or kind == CH_MIXED:
                continue
            key = prod[2]
            v = value.get(key, _MISSING)
            if v is _MISSING:
                continue
            if prod[1] & F_LIST:
                if type(v) is not list:
                    v = [v]
                i = used.get(key, 0)
                if i < len(v):
                    used[key] = i + 1
                    return code, prod, v[i]
            elif key not in used:
                used[key] = 1
                return code, prod, v
        self.fail("missing %s" % " or ".join(p[2] for p in (prods[c] for c in range(n))
                                              if p[2] and p[0] != CH_MIXED))

    def check_consumed(self, value, used):
        for key, v in value.items():
            n = used.get(key, 0)
            if n == 0:
                self.fail("%s is not allowed here (unknown, out of order, or excluded by a choice)" % key)
            if type(v) is list and n < len(v):
                self.fail("too many %s (%d given, %d allowed here)" % (key, len(v), n))

    def simple_element(self, w, dt, v, qn):
        kind = dt[0]
        if kind == DT_NBIT or kind == DT_BOOL or kind == DT_ENUM:
            if type(v) is str and kind != DT_ENUM:
                v = from_text(kind, v, self)
            w.bits(self.fixed(dt, v) << 1, dt[1] + 2)     # CH (0), the value, EE (0)
        elif is_empty_text(v, dt):
            # Empty text: no CH at all, but EE from the second level (escape,
            # then code 0 of 3 bits), as EXIficient writes it.
            w.bits(0b1000, 4)
        else:
            w.bits(0, 1)    # CH
            self.value(w, dt, v, qn)
            w.bits(0, 1)    # EE
        if self.listener:
            self.listener("SE", qn, None, None)
            self.listener("CH", qn, dt, v)
            self.listener("EE", qn, None, None)

    def fixed(self, dt, v):
        """The bits of a fixed-width value: n-bit integer, boolean, enumeration."""
        kind = dt[0]
        if kind == DT_NBIT:
            if type(v) is not int or not 0 <= v - dt[3] <= dt[2]:
                self.fail("%r is outside %d..%d" % (v, dt[3], dt[3] + dt[2]))
            return v - dt[3]
        if kind == DT_BOOL:
            if type(v) is not bool:
                self.fail("%r is not a boolean" % (v,))
            return 1 if v else 0
        values = self.g.enum(dt)
        for i in range(len(values)):
            if values[i] == v:
                return i
        self.fail("%r is not one of the enumerated values" % (v,))

    def value(self, w, dt, v, qn):
        kind = dt[0]
        if type(v) is str and kind != DT_STRING and kind != DT_ENUM:
            v = from_text(kind, v, self)
        if kind == DT_NBIT or kind == DT_BOOL or kind == DT_ENUM:
            w.bits(self.fixed(dt, v), dt[1])
        elif kind == DT_UINT:
            if type(v) is not int or v < 0 or v >> (dt[1] or MAX_UINT_BITS):
                self.fail("%r is not an unsigned integer of %d bits" % (v, dt[1] or MAX_UINT_BITS))
            w.uint(v)
        elif kind == DT_INT:
            if type(v) is not int:
                self.fail("%r is not an integer" % (v,))
            m = -v - 1 if v < 0 else v
            if m >> (dt[1] or MAX_UINT_BITS):
                self.fail("%d is out of range" % v)
            w.bits(1 if v < 0 else 0, 1)
            w.uint(m)
        elif kind == DT_STRING:
            if type(v) is not str:
                self.fail("%r is not a string" % (v,))
            if dt[2] and len(v) > dt[2]:
                self.fail("%d characters, more than the maximum of %d" % (len(v), dt[2]))
            t = self.values
            if t is not None:
                lid = t.local_ids.get((qn, v))
                if lid is not None:
                    w.uint(0)                           # local hit
                    w.bits(lid, t.local_width(qn))
                    return
                gid = t.global_ids.get(v)
                if gid is not None:
                    w.uint(1)                           # global hit
                    w.bits(gid, t.global_width())
                    return
                t.add(qn, v)
            raw = v.encode()
            w.uint(len(v) + 2)
            if len(raw) == len(v):
                w.write_bytes(raw)      # ASCII: each character is one 8-bit group
            else:
                for c in v:
                    w.uint(ord(c))
        elif kind == DT_HEX or kind == DT_B64:
            if type(v) is not bytes and type(v) is not bytearray:
                self.fail("%r is not bytes" % (v,))
            if dt[2] and len(v) > dt[2]:
                self.fail("%d bytes, more than the maximum of %d" % (len(v), dt[2]))
            w.uint(len(v))
            w.write_bytes(v)
        else:
            self.fail("unknown datatype %d" % kind)


def is_empty_text(v, dt):
    """An empty string or byte string: EXIficient writes no CH event for it."""
    t = type(v)
    return not v and (t is str or t is bytes or t is bytearray) and dt[0] in (DT_STRING, DT_HEX, DT_B64)


def from_text(kind, text, enc):
    """Convert the XML text of a value to the Python value the encoder takes."""
    t = text.strip()
    try:
        if kind == DT_BOOL:
            if t in ("true", "1"):
                return True
            if t in ("false", "0"):
                return False
        elif kind == DT_HEX:
            return binascii.unhexlify(t)
        elif kind == DT_B64:
            return binascii.a2b_base64(t)
        else:
            return int(t)
    except (ValueError, TypeError):
        pass
    enc.fail("%r is not a valid value of this type" % text)
