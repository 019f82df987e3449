"""Generate the EXI grammar tables in schemas/ from the official V2G XSDs.

    python tools/gen_grammars.py [--xsd-dir DIR] [--out DIR] [--py-out DIR] [--check]

The XSDs ship in the `iso15118` PyPI package (iso15118/shared/schemas/); they
are read from there by default and never committed.  The output is one binary
table per schema set (see firmware/micro15118/exi/grammar.py for the layout), built the
way EXI 1.0 (Second Edition) section 8.5 builds schema-informed grammars in
non-strict mode, with the V2G profile (no DTD, comments, PIs or prefixes).

Bounded repetitions (maxOccurs="1024") are not unrolled into 1024 grammar
states: a repeated element gets a "family" of at most three states (below
minOccurs, between, at maxOccurs) and the runtime keeps the count.  That is
equivalent to the spec's unrolled grammar and keeps the tables small.

The -20 message schemas all import V2G_CI_CommonTypes.xsd (and through it
xmldsig), so their tables would each repeat those grammars.  Instead the
grammars of the CommonTypes schema set are built first, in an order that does
not depend on the importing schema, and written once as the base table
iso20_CommonTypes; each -20 table holds only what follows and extends that
base (its indices continue the base's, its byte offsets count from the
base's start).  The generator checks that every table sharing a base derives
exactly the same base bytes, and fails otherwise.

Each table is written twice, with the same bytes: as schemas/<name>.exig
(read from a file system) and as the Python module
firmware/micro15118/grammars/<name>.py holding one bytes constant, which a
board image freezes so that the table stays in flash (the codec takes a
frozen table first; see firmware/micro15118/grammars/__init__.py).
"""
import argparse
import os
import struct
import sys
import zlib

from host.harness.xsd_model import UNBOUNDED, SchemaError, SchemaSet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Base tables: name -> the XSD whose schema set (it and what it imports) the
# base holds.  A base has no document grammar; the tables that name it
# extend it.
BASES = {
    "iso20_CommonTypes": "iso15118_20/V2G_CI_CommonTypes.xsd",
}

# Schema sets: (table name, root XSD relative to the schema directory, the
# base table it extends or None).
SCHEMA_SETS = [
    ("appProtocol", "V2G_CI_AppProtocol.xsd", None),
    ("iso20_CommonMessages", "iso15118_20/V2G_CI_CommonMessages.xsd", "iso20_CommonTypes"),
    ("iso20_AC", "iso15118_20/V2G_CI_AC.xsd", "iso20_CommonTypes"),
    ("iso20_DC", "iso15118_20/V2G_CI_DC.xsd", "iso20_CommonTypes"),
    ("iso20_ACDP", "iso15118_20/V2G_CI_ACDP.xsd", "iso20_CommonTypes"),
    ("iso20_WPT", "iso15118_20/V2G_CI_WPT.xsd", "iso20_CommonTypes"),
    ("iso2", "iso15118_2/V2G_CI_MsgDef.xsd", None),
    ("din", "din_spec/V2G_CI_MsgDef.xsd", None),
    # xmldsig alone: python-iso15118 encodes SignedInfo fragments with this grammar
    ("xmldsig", "xmldsig-core-schema.xsd", None),
]

# The tables every -20 board (charger or vehicle) uses: SupportedAppProtocol
# and the -20 messages the V2GTP payload types 0x8002-0x8004 carry
# (micro15118/iso20/msg.py), with the base the -20 ones extend.
# grammars/__init__.py imports these by name, so that they are in the apps'
# import closure and boards/manifests/iso20.py freezes them
# (tests/test_manifests.py); other tables load only by name.
BOARD_TABLES = ("appProtocol", "iso20_CommonTypes", "iso20_CommonMessages", "iso20_AC", "iso20_DC")

# Must match firmware/micro15118/exi/grammar.py.
MAGIC = b"EXG2"
EE, SE, SE_SIMPLE, AT, CH, CH_MIXED, SE_ANY, SE_AMBIGUOUS = range(8)
F_FAMILY = 0x40
F_LIST = 0x80
DT_UINT, DT_INT, DT_NBIT, DT_BOOL, DT_STRING, DT_HEX, DT_B64, DT_ENUM = range(8)
UNBOUNDED_U16 = 0xFFFF
# Where a state stands in its element grammar (EXI 8.5.4.4.1 adds different
# undeclared productions to the first state, the states up to the first
# content state, and the content states).  Default: a content state.
J_ZERO, J_ATTRS, J_CONTENT = 1, 2, 4

INT_RANGES = {
    "byte": (-128, 127), "short": (-32768, 32767), "int": (-2**31, 2**31 - 1),
    "long": (-2**63, 2**63 - 1), "integer": (None, None),
    "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "unsignedByte": (0, 255), "unsignedShort": (0, 65535),
    "unsignedInt": (0, 2**32 - 1), "unsignedLong": (0, 2**64 - 1),
}
STRING_TYPES = {"string", "anyURI", "ID", "IDREF", "NCName", "Name", "token",
                "normalizedString", "language", "NMTOKEN", "anySimpleType", "QName"}


def default_xsd_dir():
    try:
        import iso15118
    except ImportError:
        raise SystemExit("gen_grammars: the iso15118 package (which ships the XSDs) is not installed; "
                         "pip install iso15118==0.31.2 or pass --xsd-dir")
    return os.path.join(os.path.dirname(iso15118.__file__), "shared", "schemas")


class Table:
    """Interned strings, qnames and datatypes shared by one schema set's grammars."""

    def __init__(self):
        self.strings = []
        self._string_ids = {}
        self._runs = {}
        self.qnames = []
        self._qname_ids = {}
        self.datatypes = []
        self._dt_ids = {}

    def string(self, s):
        if s not in self._string_ids:
            self._string_ids[s] = len(self.strings)
            self.strings.append(s)
        return self._string_ids[s]

    def string_run(self, values):
        """Id of the first of len(values) consecutive pool strings equal to values."""
        if values not in self._runs:
            self._runs[values] = len(self.strings)
            self.strings.extend(values)
        return self._runs[values]

    def qname(self, qn):
        if qn not in self._qname_ids:
            self._qname_ids[qn] = len(self.qnames)
            self.qnames.append((self.string(qn[0]), self.string(qn[1])))
        return self._qname_ids[qn]

    def datatype(self, rec):
        if rec not in self._dt_ids:
            self._dt_ids[rec] = len(self.datatypes)
            self.datatypes.append(rec)
        return self._dt_ids[rec]


class Position:
    """One element (or wildcard) term of a content model, as in a Glushkov automaton."""

    def __init__(self, index, alternatives, min_occurs, max_occurs, wildcard):
        self.index = index
        self.alternatives = alternatives  # list of ElementDecl (empty for a wildcard)
        self.min = min_occurs
        self.max = max_occurs
        self.wildcard = wildcard
        self.follow = set()
        self.in_loop = False


class GrammarBuilder:
    def __init__(self, schema):
        self.s = schema
        self.t = Table()
        self.states = []         # list of production lists (None while being built)
        self.families = []       # (min, max, below, mid, full) state indices
        self._type_start = {}    # id(TypeDef) or builtin qname -> start state index
        self.position = {}       # state -> where it stands (J_*) for undeclared productions

    # -- datatypes ---------------------------------------------------------
    def simple_datatype(self, ref):
        """EXI datatype record for a simple type (qname or TypeDef)."""
        builtin, facets = self.s.simple_base(ref)
        if "pattern" in facets:
            raise SchemaError("pattern facets (restricted character sets) are not supported")
        if "enumeration" in facets:
            if builtin not in STRING_TYPES:
                raise SchemaError("enumeration of %s is not supported" % builtin)
            values = tuple(facets["enumeration"])
            return self.t.datatype((DT_ENUM, max(len(values) - 1, 0).bit_length(), len(values),
                                    self.t.string_run(values)))
        if builtin == "boolean":
            return self.t.datatype((DT_BOOL, 1, 0, 0))
        # Strings and binaries keep their maximum length (0: unbounded) so that
        # over-long values are refused; EXI itself does not encode lengths facets.
        max_len = int((facets.get("maxLength") or facets.get("length") or ["0"])[0])
        if builtin == "hexBinary":
            return self.t.datatype((DT_HEX, 0, max_len, 0))
        if builtin == "base64Binary":
            return self.t.datatype((DT_B64, 0, max_len, 0))
        if builtin in STRING_TYPES:
            return self.t.datatype((DT_STRING, 0, max_len, 0))
        if builtin in INT_RANGES:
            lo, hi = INT_RANGES[builtin]
            if "minInclusive" in facets:
                lo = int(facets["minInclusive"][0]) if lo is None else max(lo, int(facets["minInclusive"][0]))
            if "maxInclusive" in facets:
                hi = int(facets["maxInclusive"][0]) if hi is None else min(hi, int(facets["maxInclusive"][0]))
            if "minExclusive" in facets or "maxExclusive" in facets:
                raise SchemaError("exclusive bounds are not supported")
            # EXI 7.1.5: n-bit offsets for ranges up to 4096 values, unsigned
            # integers for non-negative types, signed integers otherwise.
            # The width field bounds the magnitude so that out-of-range values
            # are rejected (0: unbounded).
            if lo is not None and hi is not None and hi - lo < 4096:
                return self.t.datatype((DT_NBIT, (hi - lo).bit_length(), hi - lo, lo))
            if lo is not None and lo >= 0:
                return self.t.datatype((DT_UINT, hi.bit_length() if hi is not None else 0, 0, 0))
            bound = 0 if lo is None or hi is None else max(hi.bit_length(), (-lo - 1).bit_length())
            return self.t.datatype((DT_INT, bound, 0, 0))
        raise SchemaError("built-in type xs:%s is not supported" % builtin)

    # -- complex types -----------------------------------------------------
    def is_simple(self, ref):
        t = self.s.resolve_type(ref)
        return isinstance(t, tuple) or t.simple

    def effective(self, t):
        """(content particle or None, simple-content base or None, attributes, mixed)."""
        if t.derivation == "extension" and not isinstance(self.s.resolve_type(t.base), tuple) \
                and not self.s.resolve_type(t.base).simple:
            base = self.s.resolve_type(t.base)
            bcontent, bsimple, battrs, bmixed = self.effective(base)
            if bsimple is not None:
                content, simple = None, bsimple
            elif bcontent is None:
                content, simple = t.content, None
            elif t.content is None:
                content, simple = bcontent, None
            else:
                from host.harness.xsd_model import Particle
                content, simple = Particle("sequence", 1, 1, children=[bcontent, t.content]), None
            attrs = {a[0]: a for a in battrs}
            attrs.update({a[0]: a for a in t.attributes})
            return content, simple, list(attrs.values()), t.mixed or bmixed
        if t.derivation == "restriction" and t.simple_content is not None:
            base = self.s.resolve_type(t.base)
            if not isinstance(base, tuple) and not base.simple:
                _, simple, battrs, _ = self.effective(base)
                attrs = {a[0]: a for a in battrs}
                attrs.update({a[0]: a for a in t.attributes})
                return None, simple, list(attrs.values()), False
        return t.content, t.simple_content, list(t.attributes), t.mixed

    def new_state(self):
        self.states.append(None)
        return len(self.states) - 1

    def type_grammar(self, ref):
        """Start state of the grammar of a complex type (built on first use)."""
        t = self.s.resolve_type(ref)
        key = id(t)
        if key in self._type_start:
            return self._type_start[key]
        if isinstance(t, tuple) and t[1] == "anyType":
            raise SchemaError("xs:anyType elements are not supported")
        content, simple, attrs, mixed = self.effective(t)
        attrs = sorted(attrs, key=lambda a: (a[0][1], a[0][0]))
        attr_states = [self.new_state() for _ in attrs]
        content_start = self.new_state()
        start = attr_states[0] if attrs else content_start
        self._type_start[key] = start
        for st in attr_states:
            self.position[st] = J_ATTRS
        self.position[content_start] = J_ATTRS | J_CONTENT
        self.position[start] |= J_ZERO

        if simple is not None:
            after = self.new_state()
            self.states[content_start] = [(CH, 0, 0, self.simple_datatype(simple), after)]
            self.states[after] = [(EE, 0, 0, 0, 0)]
        else:
            self.content_grammar(content, content_start, mixed)

        for k, (qn, tref, required) in enumerate(attrs):
            prods = []
            for j in range(k, len(attrs)):
                qn_j, tref_j, req_j = attrs[j]
                nxt = attr_states[j + 1] if j + 1 < len(attrs) else content_start
                prods.append((AT, 0, self.t.qname(qn_j), self.simple_datatype(tref_j), nxt))
                if req_j:
                    break
            else:
                prods.extend(self.states[content_start])
            self.states[attr_states[k]] = prods
        return start

    def positions(self, particle, out, in_loop=False):
        """Number the element/wildcard terms of a particle tree (schema order)."""
        if particle.kind == "element":
            decl = self.s.resolve_element(particle.element)
            if decl.is_global:
                # EXI 8.5.4.1.6: the substitution group *and the element
                # itself*, even when it is abstract (as EXIficient and
                # cbexigen do; the -2 BodyElement head takes an event code).
                alts = self.s.substitutes(decl)
                if decl.abstract:
                    alts = sorted(alts + [decl], key=lambda e: (e.qname[1], e.qname[0]))
            else:
                alts = [decl]
            p = Position(len(out), alts, particle.min, particle.max, None)
            p.in_loop = in_loop
            out.append(p)
            particle.pos = p
        elif particle.kind == "any":
            p = Position(len(out), [], particle.min, particle.max, particle.wildcard)
            p.in_loop = in_loop
            out.append(p)
            particle.pos = p
        else:
            if particle.max not in (1, UNBOUNDED) or particle.min > 1:
                raise SchemaError("group occurrence %d..%d is not supported" % (particle.min, particle.max))
            loop = in_loop or particle.max == UNBOUNDED
            for c in particle.children:
                self.positions(c, out, loop)

    def glushkov(self, particle):
        """(nullable, first, last) of a particle; fills Position.follow."""
        if particle.kind in ("element", "any"):
            p = particle.pos
            return particle.min == 0, [p], [p]
        parts = [self.glushkov(c) for c in particle.children]
        if particle.kind == "sequence":
            nullable = all(n for n, _, _ in parts)
            first, last = [], []
            for n, f, _ in parts:
                first += f
                if not n:
                    break
            for n, _, l in reversed(parts):
                last += l
                if not n:
                    break
            for i, (_, _, l) in enumerate(parts):
                for j in range(i + 1, len(parts)):
                    for p in l:
                        p.follow.update(parts[j][1])
                    if not parts[j][0]:
                        break
        else:  # choice
            nullable = any(n for n, _, _ in parts)
            first = [p for _, f, _ in parts for p in f]
            last = [p for _, _, l in parts for p in l]
        if particle.max == UNBOUNDED:
            for p in last:
                p.follow.update(first)
        return nullable or particle.min == 0, first, last

    def content_grammar(self, content, start, mixed):
        if content is None:
            prods = [(EE, 0, 0, 0, 0)]
            if mixed:
                prods.append((CH_MIXED, 0, 0, 0, start))
            self.states[start] = prods
            return
        positions = []
        self.positions(content, positions)
        nullable, first, last = self.glushkov(content)
        last = set(last)
        targets = {}
        for p in positions:
            if p.max != 1:
                if p.in_loop or p in p.follow:
                    raise SchemaError("a repeated element inside a repeated group is not supported")
                fam = len(self.families)
                self.families.append(None)
                targets[p] = (F_FAMILY, fam)
            else:
                targets[p] = (0, self.new_state())

        def se_prods(p):
            flags, target = targets[p]
            if p.max != 1 or p.in_loop:
                flags |= F_LIST
            if p.wildcard is not None:
                return [(SE_ANY, flags, 0, 0, target)]
            prods = []
            for decl in p.alternatives:
                qn = self.t.qname(decl.qname)
                if self.is_simple(decl.type_ref):
                    prods.append((SE_SIMPLE, flags, qn, self.simple_datatype(decl.type_ref), target))
                else:
                    prods.append((SE, flags, qn, self.type_grammar(decl.type_ref), target))
            return prods

        def exits(p, ee):
            ps = sorted(p, key=lambda q: (q.wildcard is not None, q.index))
            prods = [x for q in ps for x in se_prods(q)]
            if ee:
                prods.append((EE, 0, 0, 0, 0))
            return prods

        def finish(state, prods):
            seen = set()
            for kind, _, qn, _, _ in prods:
                if kind in (SE, SE_SIMPLE):
                    if qn in seen:
                        raise SchemaError("ambiguous content: %s twice in one state" % (self.t.qnames[qn],))
                    seen.add(qn)
            if mixed:
                prods = prods + [(CH_MIXED, 0, 0, 0, state)]
            self.states[state] = prods

        finish(start, exits(first, nullable))
        for p in positions:
            out = exits(p.follow, p in last)
            flags, target = targets[p]
            if flags & F_FAMILY:
                below, mid, full = self.new_state(), self.new_state(), self.new_state()
                finish(below, se_prods(p))
                finish(mid, se_prods(p) + out)
                finish(full, out)
                hi = UNBOUNDED_U16 if p.max == UNBOUNDED else p.max
                self.families[target] = (p.min, hi, below, mid, full)
            else:
                finish(target, out)

    # -- document and fragment grammars -------------------------------------
    def element_production(self, decl, flags=0):
        qn = self.t.qname(decl.qname)
        if self.is_simple(decl.type_ref):
            return (SE_SIMPLE, flags, qn, self.simple_datatype(decl.type_ref), 0)
        return (SE, flags, qn, self.type_grammar(decl.type_ref), 0)

    def build(self):
        globals_ = sorted(self.s.elements.values(), key=lambda e: (e.qname[1], e.qname[0]))
        doc = self.new_state()
        prods = [self.element_production(e) for e in globals_]
        prods.append((SE_ANY, 0, 0, 0, 0))
        self.states[doc] = prods
        # Fragment grammar (EXI 8.5.2): every element qname declared anywhere.
        by_qname = {}
        for e in self.s.all_elements:
            by_qname.setdefault(e.qname, []).append(e)
        frag = self.new_state()
        fprods = []
        for qn in sorted(by_qname, key=lambda q: (q[1], q[0])):
            decls = by_qname[qn]
            types = {id(self.s.resolve_type(d.type_ref)) for d in decls}
            if len(types) == 1:
                fprods.append(self.element_production(decls[0]))
            else:
                fprods.append((SE_AMBIGUOUS, 0, self.t.qname(qn), 0, 0))
        fprods.append((SE_ANY, 0, 0, 0, 0))
        fprods.append((EE, 0, 0, 0, 0))  # ED ends the fragment
        self.states[frag] = fprods
        # Grammars of every named complex type, so that all are reachable for tests.
        return doc, frag

    def second_level_width(self, state, prods):
        """Bits of the second-level event code of a state (EXI 8.5.4.4.1,
        non-strict, no comments/PIs/DTD/prefixes): EE if not declared, then
        xsi:type and xsi:nil, AT(*) and an untyped AT per
        declared attribute up to the first content state, SE(*) and untyped
        CH in content states."""
        where = self.position.get(state, J_CONTENT)
        count = 0
        if (where & (J_ZERO | J_CONTENT)) and not any(p[0] == EE for p in prods):
            count += 1
        if where & (J_ZERO | J_ATTRS):
            # xsi:type and xsi:nil: the spec adds them to the first state;
            # EXIficient offers them up to the first content state (with an
            # attribute read, an empty SignatureValue's EE takes 3 bits there)
            count += 2
        if where & J_ATTRS:
            count += 1 + sum(1 for p in prods if p[0] == AT)
        if where & J_CONTENT:
            count += 2
        return (count - 1).bit_length()

    # -- base (shared) grammars ----------------------------------------------
    def prelude(self, namespaces):
        """Build first what a base table holds: the grammars of every element
        declared in `namespaces` (in declaration order), then of every named
        type there but the abstract complex ones (by name), so that the
        records come out the same whichever schema imports them."""
        for decl in self.s.all_elements:
            if decl.qname[0] in namespaces:
                self.element_production(decl)
        named = sorted((q for q in self.s.types if q[0] in namespaces), key=lambda q: (q[1], q[0]))
        for qn in named:
            t = self.s.types[qn]
            if t.simple:
                self.simple_datatype(qn)
            elif not t.abstract:
                self.type_grammar(qn)

    def mark(self):
        """Counts of (strings, qnames, datatypes, families, states) so far."""
        return (len(self.t.strings), len(self.t.qnames), len(self.t.datatypes),
                len(self.families), len(self.states))

    # -- serialisation -----------------------------------------------------
    def serialise(self, lo, hi, offsets, trailer=None, base_name="", base=b""):
        """The table of the records from mark lo up to mark hi.

        A table extending `base` (named base_name) is laid out as if
        appended to it: its byte offsets count from the base's start, its
        indices continue the base's.  offsets maps state index -> byte
        offset; this fills it for the states lo..hi.  trailer: the document
        and fragment states (None for a base table)."""
        s0, q0, d0, f0, st0 = lo
        s1, q1, d1, f1, st1 = hi
        origin = len(base)
        name = base_name.encode("ascii")
        header_len = 4 + 2 * 2 + 2 * 9 + 1 + len(name)
        strings = [x.encode("utf-8") for x in self.t.strings[s0:s1]]
        str_off = origin + header_len
        str_len = 2 * (len(strings) + 1) + sum(len(x) for x in strings)
        qn_off = str_off + str_len
        dt_off = qn_off + 4 * (q1 - q0)
        fam_off = dt_off + 8 * (d1 - d0)
        st_off = fam_off + 10 * (f1 - f0)
        pos = st_off
        for i in range(st0, st1):
            offsets[i] = pos
            pos += 4 + 7 * len(self.states[i])
        total = pos + 4
        if total > 0xFFFF:
            raise SchemaError("table too large for 16-bit offsets (%d bytes)" % total)

        def check(what, i, end):
            # a base must not refer to what only an importing schema adds
            if i >= end:
                raise SchemaError("%s %d lies past the table's end (%d)" % (what, i, end))
            return i

        out = bytearray()
        out += MAGIC
        out += struct.pack("<HH", 0, stamp(base) if base else 0)   # stamp filled in below
        # the numbers of the first string, qname, datatype and family (how
        # many there are follows from the offsets)
        out += struct.pack("<9H", s0, q0, d0, f0, str_off, qn_off, dt_off, fam_off, st_off)
        out += struct.pack("<B", len(name)) + name
        # string pool: offset table then UTF-8 bytes
        acc = 2 * (len(strings) + 1)
        for x in strings:
            out += struct.pack("<H", acc)
            acc += len(x)
        out += struct.pack("<H", acc)
        for x in strings:
            out += x
        for uri, local in self.t.qnames[q0:q1]:
            out += struct.pack("<HH", check("string", uri, s1), check("string", local, s1))
        for kind, width, count, arg in self.t.datatypes[d0:d1]:
            if kind == DT_ENUM:
                check("string", arg + count - 1, s1)
            out += struct.pack("<BBHi", kind, width, count, arg)
        for lo_, hi_, below, mid, full in self.families[f0:f1]:
            out += struct.pack("<HHHHH", lo_, hi_, *(offsets[check("state", x, st1)]
                                                    for x in (below, mid, full)))
        doc, frag = trailer or (None, None)
        for i in range(st0, st1):
            prods = self.states[i]
            n = len(prods)
            if i in (doc, frag):
                width = (n - 1).bit_length()          # no escape: DT/CM/PI are pruned
                width2 = 0
            else:
                width = n.bit_length()                # + one escape to second-level events
                width2 = self.second_level_width(i, prods)
            out += struct.pack("<HBB", n, width, width2)
            for kind, flags, qn, typ, target in prods:
                if kind in (SE, SE_SIMPLE, AT, SE_AMBIGUOUS):
                    check("qname", qn, q1)
                if kind == SE:
                    typ = offsets[check("state", typ, st1)]
                elif kind in (SE_SIMPLE, AT, CH):
                    check("datatype", typ, d1)
                if i in (doc, frag) or kind in (EE, SE_AMBIGUOUS):
                    target = 0
                elif flags & F_FAMILY:
                    check("family", target, f1)
                else:
                    target = offsets[check("state", target, st1)]
                out += struct.pack("<BHHH", kind | flags, qn, typ, target)
        assert origin + len(out) == total - 4, (origin + len(out), total)
        # doc and frag state offsets go in a small trailer read by the loader
        # (0, 0 in a base table: it has no document grammar)
        out += struct.pack("<HH", offsets[doc] if trailer else 0, offsets[frag] if trailer else 0)
        struct.pack_into("<H", out, 4, stamp(out))
        return bytes(out)


def stamp(table):
    """16 bits naming a table's content (its stamp field read as 0): a table
    records its base's, so that the loader refuses a base of another build."""
    blob = bytearray(table)
    blob[4:6] = b"\0\0"
    return zlib.crc32(blob) & 0xFFFF


NOTHING = (0, 0, 0, 0, 0)


def generate(xsd_dir, rel, base_namespaces=None, base_name=""):
    """(builder, table bytes, base table bytes) of the schema set of `rel`;
    with base_namespaces, the grammars of those namespaces go to the base
    table (else the base is b"" and the table stands alone)."""
    schema = SchemaSet(os.path.join(xsd_dir, rel))
    b = GrammarBuilder(schema)
    if base_namespaces:
        b.prelude(base_namespaces)
    split = b.mark()
    doc, frag = b.build()
    offsets = [None] * len(b.states)
    base = b.serialise(NOTHING, split, offsets) if base_namespaces else b""
    return b, b.serialise(split, b.mark(), offsets, (doc, frag), base_name, base), base


def agree(base_name, derived):
    """The bytes of base table base_name, given {table: the base bytes it
    derived} of the tables extending it.  They must all be the same bytes:
    SchemaError otherwise (such a table cannot share the base)."""
    if not derived:
        raise SchemaError("base table %s: no table extends it" % base_name)
    first, blob = next(iter(derived.items()))
    for name, other in derived.items():
        if other != blob:
            raise SchemaError("base table %s: %s derives it differently from %s (%d vs %d bytes); "
                              "its grammars depend on the importing schema, so they cannot be shared"
                              % (base_name, name, first, len(other), len(blob)))
    return blob


GENERATED = "# Generated by tools/gen_grammars.py from the official XSDs; do not edit.\n"
LINE = 72   # characters of bytes literal per line


def py_bytes(blob):
    """Lines of a parenthesised bytes literal of blob: printable ASCII as
    itself, every other byte as \\xNN, never an escape cut across lines
    (adjacent literals join at compile time, into one constant)."""
    lines, cur, n = [], [], 0
    for b in blob:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            piece = chr(b)
        else:
            piece = "\\x%02x" % b
        if n + len(piece) > LINE:
            lines.append('    b"%s"' % "".join(cur))
            cur, n = [], 0
        cur.append(piece)
        n += len(piece)
    if cur:
        lines.append('    b"%s"' % "".join(cur))
    return lines


def table_module(name, blob, note):
    """Source of the module grammars/<name>.py: the table as one bytes constant."""
    return "".join(line + "\n" for line in [
        GENERATED.rstrip("\n"),
        "# EXI grammar table %s (%d bytes; layout in micro15118/exi/grammar.py)," % (name, len(blob)),
        "# the same bytes as schemas/%s.exig.  Frozen into an image, it stays in flash." % name,
        "# %s" % note,
        "TABLE = (",
    ] + py_bytes(blob) + [")"])


def package_init(names):
    """Source of grammars/__init__.py: load(name) -> the table's bytes."""
    lines = [
        GENERATED.rstrip("\n"),
        '"""The EXI grammar tables as modules of bytes constants, one per table.',
        "",
        "A board image freezes the ones its app uses (boards/manifests/iso20.py);",
        "frozen, a table's bytes stay in flash and cost no heap.  The codec",
        "(micro15118.exi.grammar) takes a frozen table first; otherwise it reads",
        "schemas/<name>.exig from the file system and loads a module here only",
        "when no file is found (on a board that costs the table's size in heap).",
        '"""',
        "",
        "",
        "def load(name):",
        '    """The bytes of table `name`; ImportError if its module is absent."""',
    ]
    for i, n in enumerate(names):
        lines.append('    %s name == "%s":' % ("if" if i == 0 else "elif", n))
        lines.append("        from . import %s as m" % n)
    lines += [
        "    else:",
        "        m = __import__(__name__ + \".\" + name, None, None, (\"TABLE\",))",
        "    return m.TABLE",
    ]
    return "".join(line + "\n" for line in lines)


def write_if_changed(path, data, check, changed, label):
    old = open(path, "rb").read() if os.path.exists(path) else None
    if old != data:
        changed.append(label)
        if not check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xsd-dir", help="directory with the official XSDs (default: from the iso15118 package)")
    ap.add_argument("--out", default=os.path.join(REPO, "schemas"), help="output directory")
    ap.add_argument("--py-out", help="output directory of the table modules (default "
                    "firmware/micro15118/grammars, or OUT/grammars with --out)")
    ap.add_argument("--check", action="store_true", help="fail if regenerating would change the tables")
    args = ap.parse_args(argv)
    xsd_dir = args.xsd_dir or default_xsd_dir()
    py_out = args.py_out or (os.path.join(REPO, "firmware", "micro15118", "grammars")
                             if os.path.abspath(args.out) == os.path.join(REPO, "schemas")
                             else os.path.join(args.out, "grammars"))
    changed = []
    names = [name for name, _, _ in SCHEMA_SETS] + list(BASES)
    assert set(BOARD_TABLES) <= set(names)
    assert all(base in BOARD_TABLES for name, _, base in SCHEMA_SETS if base and name in BOARD_TABLES)
    write_if_changed(os.path.join(py_out, "__init__.py"), package_init(BOARD_TABLES).encode(),
                     args.check, changed, "grammars/__init__.py")

    def write(name, blob, note):
        write_if_changed(os.path.join(args.out, name + ".exig"), blob, args.check, changed, name + ".exig")
        write_if_changed(os.path.join(py_out, name + ".py"), table_module(name, blob, note).encode(),
                         args.check, changed, "grammars/%s.py" % name)

    namespaces = {base: set(SchemaSet(os.path.join(xsd_dir, rel)).namespaces) for base, rel in BASES.items()}
    derived = {base: {} for base in BASES}
    tables = []
    for name, rel, base in SCHEMA_SETS:
        b, blob, base_blob = generate(xsd_dir, rel, namespaces.get(base), base or "")
        if base:
            derived[base][name] = base_blob
        tables.append((name, blob, "Extends the base table %s." % base if base else "A table of its own (no base)."))
        print("%-22s %6d bytes  %4d states  %3d families  %4d qnames  %3d datatypes%s" % (
            name, len(blob), len(b.states), len(b.families), len(b.t.qnames), len(b.t.datatypes),
            "  (after the %d bytes of %s)" % (len(base_blob), base) if base else ""))
    # every base is checked before anything is written
    for base in BASES:
        users = sorted(derived[base])
        blob = agree(base, derived[base])
        tables.append((base, blob, "The base table of %s: the grammars they share, no document grammar."
                       % ", ".join(users)))
        print("%-22s %6d bytes  (the base of %d tables)" % (base, len(blob), len(users)))
    for name, blob, note in tables:
        write(name, blob, note)
    if args.check and changed:
        print("gen_grammars: out of date: %s" % ", ".join(changed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
