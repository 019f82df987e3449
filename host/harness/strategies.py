"""Random VALID ISO 15118-20, ISO 15118-2 and DIN SPEC 70121 messages,
generated straight from the official XSDs.

    from host.harness.strategies import message, message_types, random_message

    @given(message("-20:DC"))                 # any DC request or response
    @given(message("-20:AC", "AC_ChargeLoopReq"))
    @given(message("-2", "ChargeParameterDiscoveryReq"))
    random_message("-20:CommonMessages", None, random.Random(1))   # no hypothesis

Messages are in the codec's dict format (firmware/micro15118/exi): {root local name: value};
a complex value is a dict keyed by child local names, "@Name" for attributes
and "#text" for simple content; an element that may repeat (maxOccurs > 1, or
inside a repeating group) is always a list; absent optional elements are absent
keys; int for every integer type, bool, str (strings, anyURI, ID,
enumerations), bytes (hexBinary/base64Binary); an empty complex element is {}.
Where the XSD refers to the head of a substitution group, the key is the local
name of the chosen (non-abstract) member.

Message types.  In -20 and SupportedAppProtocol a message is a global *Req/*Res
element: message_types() lists those and a message is {name: {...}}.  In -2
and DIN every message is one V2G_Message whose Body holds one member of the
abstract BodyElement substitution group; message_types() lists the members
(every non-abstract one whose type is not abstract) and a message of type
"SessionSetupReq" is {"V2G_Message": {"Header": {...}, "Body": {"SessionSetupReq":
{...}}}} (`body_element(msg)` gives the name back).  The Body is never empty
(the XSD allows that, but it is no message type).

Abstract element declarations (-2: EVChargeParameter, SASchedules, EVSEStatus,
TimeInterval, ...) and elements whose type is abstract (DIN declares most of
those heads non-abstract, but with an abstract type) are never generated: only
xsi:type could make them valid, and the dict format cannot say that.

IDs are unique, and every xs:IDREF (DIN's Id attributes) names an xs:ID of the
same message, as XML Schema validity requires.  An IDREF drawn before any ID
exists gets a new ID, which is then put on the header's ds:Signature (a
minimal one is added if the message has none): in DIN only xmldsig declares
IDs, so a DIN message with an IDREF always carries a Signature.

The generator reads the XSDs with host/harness/xsd_model.py only; it does not use the
codec's grammar tables (tools/gen_grammars.py), so it is an independent oracle
for them.  Wildcards (xs:any) and mixed-content text are never generated.

One walker drives both front ends: `message()` draws every decision from
Hypothesis (so examples shrink: index/count 0 is always the simplest choice)
and `random_message()` from a random.Random (for benchmarks and fuzzers; the
module imports without hypothesis).

Run it directly for a quick check against the codec and a speed figure:

    .venv/bin/python -m host.harness.strategies [N]
"""
import importlib.util
import os
import random
import sys

from .xsd_model import SCHEMAS, UNBOUNDED, SchemaError, SchemaSet

try:
    from hypothesis import strategies as st
except ImportError:     # random_message() still works
    st = None

__all__ = ["SCHEMAS", "body_element", "message", "message_types", "random_message",
           "xsd_dir", "SchemaError"]


# -2/DIN: the document root, its body element and the substitution group head
# whose members are the message types.
ENVELOPE, BODY, BODY_HEAD = "V2G_Message", "Body", "BodyElement"

# Defaults for the sizes of generated content.
MAX_ITEMS = 5           # repetitions drawn for large or unbounded maxOccurs
MAX_LEN = 32            # characters/bytes drawn for long or unbounded lengths
EXACT_MAX_OCCURS = 32   # maxOccurs up to this is sometimes hit exactly
RARE = 10               # 1 in RARE: exact maxima, non-ASCII text, realistic URIs
SOFT_DEPTH = 16         # below this only required content is generated
HARD_DEPTH = 48         # and below this, generation gives up (recursive schema)

# Built-in integer types: (min, max); None = unbounded.
INT_RANGES = {
    "byte": (-128, 127), "short": (-2**15, 2**15 - 1), "int": (-2**31, 2**31 - 1),
    "long": (-2**63, 2**63 - 1), "integer": (None, None),
    "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "unsignedByte": (0, 255), "unsignedShort": (0, 2**16 - 1),
    "unsignedInt": (0, 2**32 - 1), "unsignedLong": (0, 2**64 - 1),
}
UNBOUNDED_INT = 2**70   # stand-in bound for xs:integer and friends

# Built-in string-like types -> how their values are generated.
STRING_KINDS = {
    "string": "string", "anySimpleType": "string",
    "normalizedString": "token", "token": "token",   # no leading/trailing/double blanks
    "anyURI": "uri",
    "ID": "id",                                      # NCName, unique in the message
    "IDREF": "idref",                                # names an ID of the message
    "NCName": "ncname", "Name": "ncname", "NMTOKEN": "ncname", "QName": "ncname",
    "language": "language",
}

# Alphabets.  "Characters XML can hold", minus every control character.
PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
# anyURI: an optional scheme/fragment prefix, then characters that are valid
# anywhere in a path (no ':', so a relative reference never looks like a scheme;
# no '%', '#', '[', ']', '@', which need more structure).
URI_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
             "-._~!$&'()*+,;=/")
URI_PREFIXES = ["", "urn:x:", "http://example.org/", "#"]
NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
NAME_CHARS = NAME_START + "0123456789.-"
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Non-ASCII BMP code points: no C1 controls, surrogates or noncharacters.
BMP_RANGES = [(0xA0, 0xD7FF), (0xE000, 0xFDCF), (0xFDF0, 0xFFFD)]
NONCHARACTERS = "".join(chr(c) for c in range(0xFDD0, 0xFDF0))
REALISTIC_URIS = [
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2007/05/xmldsig-more#sha3-512",
    "urn:iso:std:iso:15118:-20:CommonMessages",
    "urn:iso:std:iso:15118:-20:DC",
    "urn:iso:std:iso:15118:-20:AC",
    "urn:din:70121:2012:MsgDef",
    "urn:iso:15118:2:2013:MsgDef",
    "#id1",
    "",
]


def xsd_dir():
    """Directory of the official XSDs in the installed iso15118 package."""
    spec = importlib.util.find_spec("iso15118")
    if spec is None or not spec.submodule_search_locations:
        raise SchemaError("the iso15118 package (which ships the XSDs) is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "shared", "schemas")


# ---------------------------------------------------------------------------
# Compiled model: the XSDs reduced to what generation needs.

class _Simple:
    """A simple type: kind int|bool|enum|string|token|uri|id|ncname|language|hex|b64."""
    __slots__ = ("kind", "lo", "hi", "values", "minlen", "maxlen")

    def __init__(self, kind, lo=None, hi=None, values=None, minlen=0, maxlen=None):
        self.kind, self.lo, self.hi, self.values = kind, lo, hi, values
        self.minlen, self.maxlen = minlen, maxlen


class _Complex:
    __slots__ = ("name", "attrs", "simple", "content", "ok")

    def __init__(self, name):
        self.name = name
        self.attrs = []         # (key "@Name", _Simple, required)
        self.simple = None      # _Simple of simple content
        self.content = None     # particle node, or None: empty
        self.ok = True          # False: needs wildcard content, cannot be generated


class _Elem:
    __slots__ = ("name", "typ")

    def __init__(self, name, typ):
        self.name, self.typ = name, typ


class _Node:
    """A particle: kind 'E' (items: _Elem alternatives, i.e. a substitution
    group), 'S' (sequence of nodes) or 'C' (choice of nodes, None = a branch
    that produces nothing); min/max occurrences (max -1: unbounded); listy:
    the element's value is a list."""
    __slots__ = ("kind", "min", "max", "items", "listy")

    def __init__(self, kind, lo, hi, items, listy=False):
        self.kind, self.min, self.max, self.items, self.listy = kind, lo, hi, items, listy


_UNSAT = object()   # a required particle that only wildcard content could satisfy


class _Model:
    def __init__(self, schema_name):
        if schema_name not in SCHEMAS:
            raise SchemaError("unknown schema %r (one of: %s)" % (schema_name, ", ".join(SCHEMAS)))
        self.name = schema_name
        self.s = SchemaSet(os.path.join(xsd_dir(), SCHEMAS[schema_name]))
        self.tns = self.s.namespaces[0]
        self._types = {}
        self._simples = {}
        self._elems = {}
        self._root_elems = {}
        self.envelope = self.s.elements.get((self.tns, ENVELOPE))
        if self.envelope is None:
            self.bodies = None
            self.roots = sorted(
                q[1] for q, e in self.s.elements.items()
                if q[0] == self.tns and not e.abstract and q[1].endswith(("Req", "Res")))
        else:
            # -2/DIN: message types are the members of the Body's substitution group
            heads = [e for q, e in self.s.elements.items() if q[1] == BODY_HEAD]
            if len(heads) != 1:
                raise SchemaError("%s: expected one %s, found %d" % (schema_name, BODY_HEAD, len(heads)))
            self.bodies = {d.qname[1]: d for d in self.s.substitutes(heads[0])
                           if not d.abstract and not self.abstract_type(d.type_ref)}
            self.roots = sorted(self.bodies)

    def root(self, local):
        """The compiled root element of a message of type `local`."""
        e = self._root_elems.get(local)
        if e is None:
            if self.envelope is not None:
                e = self._envelope_root(local)
            else:
                decl = self.s.elements.get((self.tns, local))
                if decl is None or decl.abstract or self.abstract_type(decl.type_ref):
                    raise SchemaError("%s is not a global element of %s" % (local, self.name))
                e = self.element(decl)
            if isinstance(e.typ, _Complex) and not e.typ.ok:
                raise SchemaError("%s needs wildcard content" % local)
            self._root_elems[local] = e
        return e

    def anchor_id(self, walker, msg, value):
        """Make `value` (a new, unique ID that an IDREF refers to) an ID of msg:
        the Id of the header's ds:Signature, added with required content only
        if the message has none."""
        header = msg.get(ENVELOPE, {}).get("Header") if self.envelope is not None else None
        if header is None:
            raise SchemaError("%s: no place for the ID %r that an IDREF refers to" % (self.name, value))
        sig = header.get("Signature")
        if sig is None:
            hnode = self.element(self.envelope).typ.content.items[0].items[0].typ.content
            alts = [e for n in (hnode.items if hnode.kind == "S" else [hnode]) if n.kind == "E"
                    for e in n.items if e.name == "Signature"]
            if len(alts) != 1:
                raise SchemaError("%s: the header has no ds:Signature" % self.name)
            sig = header["Signature"] = walker.value(alts[0].typ, SOFT_DEPTH)
        if "@Id" in sig:
            raise SchemaError("%s: ds:Signature already has an Id" % self.name)
        sig["@Id"] = value

    def _envelope_root(self, local):
        """V2G_Message, its Body narrowed to exactly one `local` element."""
        decl = self.bodies.get(local)
        if decl is None:
            raise SchemaError("%s is not a %s member of %s" % (local, BODY_HEAD, self.name))
        member = self.element(decl)
        if isinstance(member.typ, _Complex) and not member.typ.ok:
            raise SchemaError("%s needs wildcard content" % local)
        env = self.element(self.envelope)
        seq = env.typ.content
        if (not isinstance(env.typ, _Complex) or seq is None or seq.kind != "S"
                or [n.items[0].name for n in seq.items] != ["Header", BODY]):
            raise SchemaError("%s: unexpected content of %s" % (self.name, ENVELOPE))
        body_typ = _Complex(seq.items[1].items[0].typ.name)
        body_typ.content = _Node("E", 1, 1, [member])
        typ = _Complex(env.typ.name)
        typ.attrs = env.typ.attrs
        typ.content = _Node("S", 1, 1, [seq.items[0], _Node("E", 1, 1, [_Elem(BODY, body_typ)])])
        return _Elem(ENVELOPE, typ)

    # -- types -------------------------------------------------------------
    def element(self, decl):
        e = self._elems.get(id(decl))
        if e is None:
            e = self._elems[id(decl)] = _Elem(decl.qname[1], None)
            e.typ = self.type_of(decl.type_ref)
        return e

    def abstract_type(self, ref):
        t = self.s.resolve_type(ref)
        return not isinstance(t, tuple) and not t.simple and t.abstract

    def is_simple(self, ref):
        t = self.s.resolve_type(ref)
        return isinstance(t, tuple) or t.simple

    def type_of(self, ref):
        if self.is_simple(ref):
            return self.simple(ref)
        return self.complex(self.s.resolve_type(ref))

    def simple(self, ref):
        """Compile a simple type (or the simple content of a complex type)."""
        key = ref if isinstance(ref, tuple) else id(ref)
        c = self._simples.get(key)
        if c is None:
            c = self._simples[key] = self._simple(ref)
        return c

    def _simple(self, ref):
        builtin, facets = self.s.simple_base(ref)
        for k in facets:
            if k not in ("enumeration", "minInclusive", "maxInclusive", "length",
                         "minLength", "maxLength", "whiteSpace"):
                raise SchemaError("facet %s (on xs:%s) is not supported" % (k, builtin))
        if builtin in INT_RANGES:
            lo, hi = INT_RANGES[builtin]
            if "minInclusive" in facets:
                v = int(facets["minInclusive"][0])
                lo = v if lo is None else max(lo, v)
            if "maxInclusive" in facets:
                v = int(facets["maxInclusive"][0])
                hi = v if hi is None else min(hi, v)
            if lo is None:
                lo = min(-UNBOUNDED_INT, hi if hi is not None else 0)
            if hi is None:
                hi = max(UNBOUNDED_INT, lo)
            if lo > hi:
                raise SchemaError("empty integer range %d..%d" % (lo, hi))
            if "enumeration" in facets:
                values = [int(v) for v in facets["enumeration"] if lo <= int(v) <= hi]
                return _Simple("enum", values=values)
            return _Simple("int", lo, hi)
        if builtin == "boolean":
            if "enumeration" in facets:
                return _Simple("enum", values=[v.strip() in ("true", "1") for v in facets["enumeration"]])
            return _Simple("bool")
        if builtin in ("hexBinary", "base64Binary") or builtin in STRING_KINDS:
            if "enumeration" in facets:
                if builtin not in STRING_KINDS:
                    raise SchemaError("enumeration of xs:%s is not supported" % builtin)
                return _Simple("enum", values=list(facets["enumeration"]))
            kind = STRING_KINDS.get(builtin, "hex" if builtin == "hexBinary" else "b64")
            lo, hi = 0, None
            if "length" in facets:
                lo = hi = int(facets["length"][0])
            if "minLength" in facets:
                lo = max(lo, int(facets["minLength"][0]))
            if "maxLength" in facets:
                v = int(facets["maxLength"][0])
                hi = v if hi is None else min(hi, v)
            if kind in ("id", "idref", "ncname", "language"):
                lo = max(lo, 1)
            if hi is not None and lo > hi:
                raise SchemaError("empty length range %d..%d for xs:%s" % (lo, hi, builtin))
            return _Simple(kind, minlen=lo, maxlen=hi)
        raise SchemaError("built-in type xs:%s is not supported" % builtin)

    def effective(self, t):
        """(content particle, simple-content ref, attributes) of a complex type:
        an extension's content is the base content followed by its own; its
        attributes are the base's plus its own (as in gen_grammars, but
        re-derived here from the XSD rules rather than imported)."""
        base = self.s.resolve_type(t.base) if t.base is not None else None
        base_complex = base is not None and not isinstance(base, tuple) and not base.simple
        if t.derivation is None or not base_complex:
            # no derivation, or simple content extending/restricting a simple type
            return t.content, t.simple_content, list(t.attributes)
        bcontent, bsimple, battrs = self.effective(base)
        attrs = {a[0]: a for a in battrs}
        attrs.update({a[0]: a for a in t.attributes})
        if t.derivation == "restriction":
            # complexContent restriction restates the content; simpleContent
            # restriction keeps the base's value type (facets are not modelled)
            if t.simple_content is not None or bsimple is not None:
                return None, bsimple, list(attrs.values())
            return t.content, None, list(attrs.values())
        # extension
        if bsimple is not None:
            if t.content is not None:
                raise SchemaError("%s extends simple content with elements" % (t.qname,))
            return None, bsimple, list(attrs.values())
        if bcontent is None:
            content = t.content
        elif t.content is None:
            content = bcontent
        else:
            from .xsd_model import Particle
            content = Particle("sequence", 1, 1, children=[bcontent, t.content])
        return content, None, list(attrs.values())

    def complex(self, t):
        c = self._types.get(id(t))
        if c is not None:
            return c        # (also while it is being built: recursion is assumed satisfiable)
        if isinstance(t, tuple):
            raise SchemaError("xs:%s elements are not supported" % t[1])
        c = self._types[id(t)] = _Complex(t.qname[1] if t.qname else "(anonymous)")
        content, simple, attrs = self.effective(t)
        for qn, tref, required in sorted(attrs, key=lambda a: (a[0][1], a[0][0])):
            c.attrs.append(("@" + qn[1], self.simple(tref), required))
        if simple is not None:
            c.simple = self.simple(simple)
        elif content is not None:
            node = self.particle(content, False)
            if node is _UNSAT:
                c.ok = False
            else:
                c.content = node
        # mixed content: its text is never generated
        return c

    def particle(self, p, in_loop):
        """A compiled node, None (contributes nothing) or _UNSAT."""
        loop = in_loop or p.max != 1
        if p.kind == "any":
            term = _UNSAT
        elif p.kind == "element":
            decl = self.s.resolve_element(p.element)
            alts = self.s.substitutes(decl) if decl.is_global else [decl]
            # abstract elements never occur; an element of an abstract type is
            # only valid with xsi:type, which the dict format has no way to
            # say: never generate either
            elems = [self.element(d) for d in alts
                     if not d.abstract and not self.abstract_type(d.type_ref)]
            elems = [e for e in elems if not isinstance(e.typ, _Complex) or e.typ.ok]
            term = _Node("E", p.min, p.max, elems, loop) if elems else _UNSAT
        elif p.kind == "sequence":
            kids = [self.particle(c, loop) for c in p.children]
            if any(k is _UNSAT for k in kids):
                term = _UNSAT
            else:
                kids = [k for k in kids if k is not None]
                term = _Node("S", p.min, p.max, kids) if kids else None
        elif p.kind == "choice":
            kids = [self.particle(c, loop) for c in p.children]
            kids = [k for k in kids if k is not _UNSAT]
            if not kids:
                term = _UNSAT
            elif all(k is None for k in kids):
                term = None
            else:
                # an empty branch (None) is kept: choosing it yields nothing
                term = _Node("C", p.min, p.max, kids)
        else:
            raise SchemaError("unsupported particle %s" % p.kind)
        if term is _UNSAT:
            return None if p.min == 0 else _UNSAT
        return term


_models = {}


def _model(schema_name):
    m = _models.get(schema_name)
    if m is None:
        m = _models[schema_name] = _Model(schema_name)
    return m


def message_types(schema_name):
    """Local names of the schema's message types: the global, non-abstract
    *Req/*Res elements, or for -2/DIN the members of BodyElement."""
    return list(_model(schema_name).roots)


def body_element(msg):
    """The message type of a message dict: its root's name, or for a -2/DIN
    V2G_Message the name of the element in its Body (None if the Body is empty)."""
    (root, value), = msg.items()
    if root != ENVELOPE:
        return root
    body = value.get(BODY) or {}
    return next(iter(body), None)


# ---------------------------------------------------------------------------
# The walker.  All decisions go through a source: src.integer(lo, hi) for
# structure (0/lo is always the simplest outcome), src.value_int for integer
# values, src.text and src.binary for content.

class _Walker:
    def __init__(self, model, src, ascii_only=False, max_items=MAX_ITEMS, max_len=MAX_LEN):
        self.m = model
        self.src = src
        self.ascii_only = ascii_only
        self.max_items = max_items
        self.max_len = max_len
        self.ids = set()        # ID values used so far (they must be unique)
        self.strings = []       # (kind, value) of every string generated so far
        self.unanchored = []    # IDs made up for an IDREF, not yet in the message

    def rare(self):
        return self.src.integer(0, RARE - 1) == RARE - 1

    def message(self, root):
        e = self.m.root(root)
        self.ids = set()
        self.strings = []
        self.unanchored = []
        msg = {e.name: self.value(e.typ, 0)}
        for v in self.unanchored:       # at most one: later IDREFs reuse it
            self.m.anchor_id(self, msg, v)
        return msg

    # -- structure ---------------------------------------------------------
    def occurs(self, lo, hi, depth):
        if depth >= SOFT_DEPTH or lo == hi:
            return lo
        top = max(lo, self.max_items) if hi == UNBOUNDED else max(lo, min(hi, self.max_items))
        if hi != UNBOUNDED and top < hi <= EXACT_MAX_OCCURS and self.rare():
            return hi
        return self.src.integer(lo, top)

    def value(self, typ, depth):
        if depth > HARD_DEPTH:
            raise SchemaError("content nested more than %d deep (recursive schema?)" % HARD_DEPTH)
        if isinstance(typ, _Simple):
            return self.simple(typ)
        out = {}
        for key, styp, required in typ.attrs:
            if required or (depth < SOFT_DEPTH and self.src.integer(0, 1)):
                out[key] = self.simple(styp)
        if typ.simple is not None:
            out["#text"] = self.simple(typ.simple)
        elif typ.content is not None:
            self.particle(typ.content, out, depth)
        return out

    def particle(self, node, out, depth):
        for _ in range(self.occurs(node.min, node.max, depth)):
            kind, items = node.kind, node.items
            if kind == "E":
                e = items[self.src.integer(0, len(items) - 1)] if len(items) > 1 else items[0]
                v = self.value(e.typ, depth + 1)
                if node.listy:
                    out.setdefault(e.name, []).append(v)
                elif e.name in out:
                    raise SchemaError("%s occurs twice without being repeatable; "
                                      "the dict format cannot hold that" % e.name)
                else:
                    out[e.name] = v
            elif kind == "S":
                for c in items:
                    self.particle(c, out, depth)
            else:
                c = items[self.src.integer(0, len(items) - 1)] if len(items) > 1 else items[0]
                if c is not None:
                    self.particle(c, out, depth)

    # -- values ------------------------------------------------------------
    def length(self, t):
        lo, hi = t.minlen, t.maxlen
        if lo == hi:
            return lo
        top = max(lo, self.max_len if hi is None else min(hi, self.max_len))
        if hi is not None and hi > top and self.rare():
            return hi
        return self.src.integer(lo, top)

    def simple(self, t):
        kind = t.kind
        src = self.src
        if kind == "int":
            return src.value_int(t.lo, t.hi)
        if kind == "bool":
            return bool(src.integer(0, 1))
        if kind == "enum":
            return t.values[src.integer(0, len(t.values) - 1)]
        if kind in ("hex", "b64"):
            return src.binary(self.length(t))
        if kind == "idref":
            return self.idref(t)
        return self.string(t)

    def idref(self, t):
        """An ID of this message; a new one (anchored later) if there is none yet."""
        ids = sorted(v for v in self.ids if t.minlen <= len(v) and (t.maxlen is None or len(v) <= t.maxlen))
        if ids:
            v = ids[self.src.integer(0, len(ids) - 1)]
        else:
            v = self.fresh_string(_Simple("id", minlen=t.minlen, maxlen=t.maxlen))
            self.unanchored.append(v)
        self.strings.append(("ncname", v))
        return v

    def string(self, t):
        """A string value: sometimes one generated earlier in this message (so
        that EXI string-table hits, local and global, get exercised), else new."""
        kind = t.kind
        src = self.src
        if self.strings and self.rare():
            ok = _REUSE[kind]
            fits = [v for k, v in self.strings
                    if k in ok and t.minlen <= len(v) and (t.maxlen is None or len(v) <= t.maxlen)]
            if fits:
                v = fits[src.integer(0, len(fits) - 1)]
                self.strings.append((kind, v))
                return v
        v = self.fresh_string(t)
        self.strings.append((kind, v))
        return v

    def fresh_string(self, t):
        kind = t.kind
        src = self.src
        if kind == "uri" and self.rare():
            fits = [u for u in REALISTIC_URIS
                    if t.minlen <= len(u) and (t.maxlen is None or len(u) <= t.maxlen)]
            if fits:
                return fits[src.integer(0, len(fits) - 1)]
        n = self.length(t)
        if kind == "string":
            if not self.ascii_only and n and self.rare():
                return src.text("unicode", n)
            return src.text("ascii", n)
        if kind == "token":
            # collapsed whitespace: no blanks at the ends, no double blanks
            s = src.text("ascii", n)
            while "  " in s:
                s = s.replace("  ", " x")
            if s.startswith(" "):
                s = "x" + s[1:]
            if s.endswith(" "):
                s = s[:-1] + "x"
            return s
        if kind == "uri":
            prefixes = [p for p in URI_PREFIXES if len(p) <= n]
            p = prefixes[src.integer(0, len(prefixes) - 1)]
            return p + src.text("uri", n - len(p))
        if kind == "language":
            return src.text("letters", min(n, 8))
        # id / ncname
        s = src.text("name_start", 1) + src.text("name", n - 1)
        if kind == "id":
            base, k = s, 1
            while s in self.ids:    # IDs are unique within a document
                suffix = str(k)
                keep = len(base) if t.maxlen is None else t.maxlen - len(suffix)
                s = base[:max(keep, 1)] + suffix
                k += 1
            self.ids.add(s)
        return s


# Which earlier strings (by kind) are valid values of a kind; IDs are never reused.
_REUSE = {
    "string": {"string", "token", "uri", "id", "ncname", "language"},
    "token": {"token", "uri", "id", "ncname", "language"},
    "uri": {"uri", "id", "ncname"},
    "ncname": {"id", "ncname"},
    "language": {"language"},
    "id": set(),
}


def _pick_root(model, root, src):
    if root is not None:
        return root
    roots = model.roots
    return roots[src.integer(0, len(roots) - 1)]


# ---------------------------------------------------------------------------
# Plain random front end.

_BMP_SIZES = [hi - lo + 1 for lo, hi in BMP_RANGES]
_ALPHABETS = {"ascii": PRINTABLE_ASCII, "uri": URI_CHARS, "name_start": NAME_START,
              "name": NAME_CHARS, "letters": LETTERS}


class _RandomSource:
    def __init__(self, rnd):
        self.r = rnd

    def integer(self, lo, hi):
        return self.r.randint(lo, hi)

    def value_int(self, lo, hi):
        r = self.r
        x = r.random()
        if x < 0.1:
            return lo
        if x < 0.2:
            return hi
        if x < 0.4:     # small values around 0, or just inside a bound
            a, b = max(lo, -16), min(hi, 16)
            if a <= b:
                return r.randint(a, b)
            return r.randint(lo, min(hi, lo + 16)) if r.random() < 0.5 else r.randint(max(lo, hi - 16), hi)
        if x < 0.7:     # random magnitude
            bits = r.randint(0, max(abs(lo), abs(hi)).bit_length())
            v = r.getrandbits(bits) if bits else 0
            if r.random() < 0.5:
                v = -v
            if lo <= v <= hi:
                return v
        return r.randint(lo, hi)

    def text(self, kind, n):
        r = self.r
        if kind == "unicode":
            out = []
            for _ in range(n):
                if r.random() < 0.5:
                    out.append(r.choice(PRINTABLE_ASCII))
                else:
                    k = r.randrange(sum(_BMP_SIZES))
                    for (lo, _hi), size in zip(BMP_RANGES, _BMP_SIZES):
                        if k < size:
                            out.append(chr(lo + k))
                            break
                        k -= size
            return "".join(out)
        return "".join(r.choices(_ALPHABETS[kind], k=n))

    def binary(self, n):
        return self.r.randbytes(n)


def random_message(schema_name, root=None, rnd=None, *, ascii_only=False,
                   max_items=MAX_ITEMS, max_len=MAX_LEN):
    """One random valid message (dict) without hypothesis; root None: any message type."""
    model = _model(schema_name)
    src = _RandomSource(rnd if rnd is not None else random.Random())
    w = _Walker(model, src, ascii_only, max_items, max_len)
    return w.message(_pick_root(model, root, src))


# ---------------------------------------------------------------------------
# Hypothesis front end.

class _HypothesisSource:
    _cache = {}

    def __init__(self, draw):
        self.draw = draw

    def _st(self, key, make):
        s = self._cache.get(key)
        if s is None:
            s = self._cache[key] = make()
        return s

    def integer(self, lo, hi):
        if lo == hi:
            return lo
        return self.draw(self._st(("i", lo, hi), lambda: st.integers(lo, hi)))

    def value_int(self, lo, hi):
        return self.draw(self._st(("v", lo, hi), lambda: st.one_of(
            st.integers(lo, hi), st.sampled_from((lo, hi)))))

    def text(self, kind, n):
        if n == 0:
            return ""
        return self.draw(self._st(("t", kind, n), lambda: st.text(
            alphabet=_hypothesis_alphabet(kind), min_size=n, max_size=n)))

    def binary(self, n):
        if n == 0:
            return b""
        return self.draw(self._st(("b", n), lambda: st.binary(min_size=n, max_size=n)))


def _hypothesis_alphabet(kind):
    if kind == "unicode":
        return st.characters(min_codepoint=0x20, max_codepoint=0xFFFD,
                             exclude_categories=("Cs", "Cc"),
                             exclude_characters=NONCHARACTERS)
    return st.sampled_from(_ALPHABETS[kind])


def message(schema_name, root=None, *, ascii_only=False, max_items=MAX_ITEMS, max_len=MAX_LEN):
    """Hypothesis strategy of valid messages; root None: any of message_types(schema_name).

    max_items caps repetitions of elements with large/unbounded maxOccurs
    (minOccurs is always honoured; maxOccurs <= 32 is sometimes hit exactly);
    max_len caps string/binary lengths (exact length facets are honoured and
    maxLength is sometimes hit exactly)."""
    if st is None:
        raise ImportError("hypothesis is not installed; use random_message()")
    model = _model(schema_name)
    if root is not None:
        model.root(root)        # fail now, not inside a test

    @st.composite
    def _message(draw):
        src = _HypothesisSource(draw)
        w = _Walker(model, src, ascii_only, max_items, max_len)
        return w.message(_pick_root(model, root, src))

    return _message()


# ---------------------------------------------------------------------------

def _selfcheck(n=300, seed=0):
    """Round-trip n random messages per schema through the codec; print speed."""
    import time
    from micro15118 import exi
    rnd = random.Random(seed)
    failures = 0
    for name in SCHEMAS:
        msgs = []
        t0 = time.perf_counter()
        for _ in range(n):
            msgs.append(random_message(name, None, rnd))
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        for msg in msgs:
            try:
                data = exi.encode(name, msg)
                back = exi.decode(name, data)
                if back != msg:
                    raise AssertionError("decoded message differs")
            except Exception as exc:   # report, keep going
                failures += 1
                if failures <= 5:
                    print("FAIL %s %s: %s\n  %r" % (name, body_element(msg), exc, msg))
        codec = time.perf_counter() - t0
        print("%-20s %d messages: generate %.2f ms/msg, codec round trip %.2f ms/msg"
              % (name, n, 1000 * gen / n, 1000 * codec / n))
    return failures


if __name__ == "__main__":
    sys.exit(1 if _selfcheck(int(sys.argv[1]) if len(sys.argv) > 1 else 300) else 0)
