"""Read W3C XML Schemas into a small model that the EXI grammar builder walks.

Only what the V2G schemas (ISO 15118-2/-20, DIN SPEC 70121, xmldsig) use is
modelled: global and local elements, substitution groups, named and anonymous
complex/simple types, extension and restriction, sequence/choice/any particles
and attributes.  Anything else raises SchemaError, so a new schema feature
cannot be mis-encoded silently.
"""
import os
import xml.etree.ElementTree as ET

XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
UNBOUNDED = -1


# Our schema names -> root XSD, relative to the iso15118 package's schema directory.
SCHEMAS = {
    "appProtocol": "V2G_CI_AppProtocol.xsd",
    "-20:CommonMessages": "iso15118_20/V2G_CI_CommonMessages.xsd",
    "-20:AC": "iso15118_20/V2G_CI_AC.xsd",
    "-20:DC": "iso15118_20/V2G_CI_DC.xsd",
    "-2": "iso15118_2/V2G_CI_MsgDef.xsd",
    "din": "din_spec/V2G_CI_MsgDef.xsd",
}


class SchemaError(Exception):
    pass


def _tag(local):
    return "{%s}%s" % (XS, local)


class Particle:
    """An element, sequence, choice or any term with its occurrence range."""

    def __init__(self, kind, min_occurs=1, max_occurs=1, element=None, children=None, wildcard=None):
        self.kind = kind            # 'element' | 'sequence' | 'choice' | 'any'
        self.min = min_occurs
        self.max = max_occurs
        self.element = element      # ElementDecl for kind 'element'
        self.children = children or []
        self.wildcard = wildcard    # namespace constraint for kind 'any'


class ElementDecl:
    def __init__(self, qname, type_ref=None, abstract=False, subst_head=None, is_global=False):
        self.qname = qname          # (uri, local)
        self.type_ref = type_ref    # qname of a type, or a TypeDef for anonymous types
        self.abstract = abstract
        self.subst_head = subst_head
        self.is_global = is_global


class TypeDef:
    """A simple or complex type; complex types keep their raw derivation data."""

    def __init__(self, qname, simple):
        self.qname = qname
        self.simple = simple
        # simple types
        self.base = None            # qname or TypeDef
        self.facets = {}            # facet name -> list of values
        # complex types
        self.mixed = False
        self.abstract = False
        self.derivation = None      # None | 'extension' | 'restriction'
        self.content = None         # Particle or None (empty)
        self.simple_content = None  # base type for simpleContent
        self.attributes = []        # list of (qname, type_ref, required)


class SchemaSet:
    """All schema documents reachable from one root XSD through xs:import/include."""

    def __init__(self, root_path):
        self.elements = {}          # global elements by qname
        self.types = {}             # named types by qname
        self.all_elements = []      # every element declaration, global and local
        self.loaded = set()
        self.namespaces = []        # target namespaces in load order
        self._load(os.path.abspath(root_path))

    # -- parsing -----------------------------------------------------------
    def _load(self, path):
        if path in self.loaded:
            return
        self.loaded.add(path)
        prefixes = {}
        for _, (prefix, uri) in ET.iterparse(path, events=("start-ns",)):
            prefixes.setdefault(prefix, uri)
        root = ET.parse(path).getroot()
        tns = root.get("targetNamespace", "")
        ctx = {
            "tns": tns,
            "prefixes": prefixes,
            "elem_qualified": root.get("elementFormDefault") == "qualified",
            "attr_qualified": root.get("attributeFormDefault") == "qualified",
        }
        if tns not in self.namespaces:
            self.namespaces.append(tns)
        for child in root:
            tag = child.tag
            if tag in (_tag("import"), _tag("include")):
                loc = child.get("schemaLocation")
                if loc:
                    self._load(self._locate(path, loc))
            elif tag == _tag("element"):
                decl = self._element(child, ctx, is_global=True)
                self.elements[decl.qname] = decl
            elif tag == _tag("complexType"):
                t = self._complex_type(child, ctx)
                self.types[t.qname] = t
            elif tag == _tag("simpleType"):
                t = self._simple_type(child, ctx)
                self.types[t.qname] = t
            elif tag in (_tag("annotation"),):
                pass
            elif not isinstance(tag, str):
                pass  # comments
            else:
                raise SchemaError("%s: unsupported top-level %s" % (path, tag))

    def _locate(self, importer, loc):
        """schemaLocation relative to the importer; the iso15118 package keeps
        xmldsig-core-schema.xsd one directory up, so look there as well."""
        here = os.path.join(os.path.dirname(importer), loc)
        if os.path.exists(here):
            return here
        up = os.path.join(os.path.dirname(os.path.dirname(importer)), os.path.basename(loc))
        if os.path.exists(up):
            return up
        raise SchemaError("%s: cannot find imported schema %s" % (importer, loc))

    def _qname(self, text, ctx):
        if ":" in text:
            prefix, local = text.split(":", 1)
        else:
            prefix, local = "", text
        if prefix not in ctx["prefixes"]:
            if prefix == "":
                return ("", local)
            raise SchemaError("unknown prefix in %r" % text)
        return (ctx["prefixes"][prefix], local)

    def _occurs(self, node):
        lo = int(node.get("minOccurs", "1"))
        hi = node.get("maxOccurs", "1")
        return lo, (UNBOUNDED if hi == "unbounded" else int(hi))

    def _element(self, node, ctx, is_global):
        if node.get("ref"):
            ref = self._qname(node.get("ref"), ctx)
            return ("ref", ref)
        name = node.get("name")
        uri = ctx["tns"] if (is_global or ctx["elem_qualified"] or node.get("form") == "qualified") else ""
        type_ref = None
        if node.get("type"):
            type_ref = self._qname(node.get("type"), ctx)
        for child in node:
            if child.tag == _tag("complexType"):
                type_ref = self._complex_type(child, ctx)
            elif child.tag == _tag("simpleType"):
                type_ref = self._simple_type(child, ctx)
        if type_ref is None:
            type_ref = (XS, "anyType")
        subst = self._qname(node.get("substitutionGroup"), ctx) if node.get("substitutionGroup") else None
        decl = ElementDecl((uri, name), type_ref, node.get("abstract") == "true", subst, is_global)
        self.all_elements.append(decl)
        return decl

    def _particle(self, node, ctx):
        lo, hi = self._occurs(node)
        tag = node.tag
        if tag == _tag("element"):
            decl = self._element(node, ctx, is_global=False)
            return Particle("element", lo, hi, element=decl)
        if tag in (_tag("sequence"), _tag("choice")):
            kids = [self._particle(c, ctx) for c in node
                    if isinstance(c.tag, str) and c.tag != _tag("annotation")]
            return Particle(tag.split("}")[1], lo, hi, children=kids)
        if tag == _tag("any"):
            ns = node.get("namespace", "##any").split()
            return Particle("any", lo, hi, wildcard=(ns, ctx["tns"]))
        raise SchemaError("unsupported particle %s" % tag)

    def _attributes(self, nodes, ctx, t):
        for a in nodes:
            if a.tag == _tag("attribute"):
                if a.get("ref"):
                    raise SchemaError("attribute refs are not supported")
                qualified = ctx["attr_qualified"] or a.get("form") == "qualified"
                qn = (ctx["tns"] if qualified else "", a.get("name"))
                tref = self._qname(a.get("type"), ctx) if a.get("type") else None
                for c in a:
                    if c.tag == _tag("simpleType"):
                        tref = self._simple_type(c, ctx)
                t.attributes.append((qn, tref or (XS, "anySimpleType"), a.get("use") == "required"))
            elif a.tag == _tag("anyAttribute"):
                raise SchemaError("anyAttribute is not supported")

    def _complex_type(self, node, ctx):
        name = node.get("name")
        t = TypeDef((ctx["tns"], name) if name else None, simple=False)
        t.mixed = node.get("mixed") == "true"
        t.abstract = node.get("abstract") == "true"
        for child in node:
            tag = child.tag
            if tag in (_tag("sequence"), _tag("choice")):
                t.content = self._particle(child, ctx)
            elif tag == _tag("all"):
                raise SchemaError("xs:all is not supported")
            elif tag in (_tag("attribute"), _tag("anyAttribute")):
                self._attributes([child], ctx, t)
            elif tag in (_tag("complexContent"), _tag("simpleContent")):
                if child.get("mixed") == "true":
                    t.mixed = True
                for der in child:
                    if not isinstance(der.tag, str) or der.tag == _tag("annotation"):
                        continue
                    t.derivation = der.tag.split("}")[1]
                    t.base = self._qname(der.get("base"), ctx)
                    for part in der:
                        if part.tag in (_tag("sequence"), _tag("choice")):
                            t.content = self._particle(part, ctx)
                        elif part.tag in (_tag("attribute"), _tag("anyAttribute")):
                            self._attributes([part], ctx, t)
                        elif isinstance(part.tag, str) and part.tag != _tag("annotation"):
                            raise SchemaError("unsupported %s in derivation" % part.tag)
                    if tag == _tag("simpleContent"):
                        t.simple_content = t.base
        return t

    def _simple_type(self, node, ctx):
        name = node.get("name")
        t = TypeDef((ctx["tns"], name) if name else None, simple=True)
        for child in node:
            if child.tag == _tag("restriction"):
                if child.get("base"):
                    t.base = self._qname(child.get("base"), ctx)
                for f in child:
                    if f.tag == _tag("simpleType"):
                        t.base = self._simple_type(f, ctx)
                    elif isinstance(f.tag, str) and f.tag != _tag("annotation"):
                        t.facets.setdefault(f.tag.split("}")[1], []).append(f.get("value"))
            elif child.tag in (_tag("list"), _tag("union")):
                raise SchemaError("xs:list/xs:union are not supported")
        return t

    # -- queries -----------------------------------------------------------
    def resolve_type(self, ref):
        if isinstance(ref, TypeDef):
            return ref
        if ref[0] == XS:
            return ref  # built-in: keep its qname
        try:
            return self.types[ref]
        except KeyError:
            raise SchemaError("unknown type %s" % (ref,))

    def simple_base(self, ref):
        """(built-in type local name, facets) of a simple type (qname or TypeDef),
        or of the simple content of a complex type: the derivation chain
        walked down to its built-in, the most derived facet winning."""
        facets = {}
        node = ref
        while True:
            t = self.resolve_type(node)
            if isinstance(t, tuple):
                return t[1], facets
            if not t.simple:
                if t.simple_content is None:
                    raise SchemaError("complex type %s used as a simple type" % (t.qname,))
                node = t.simple_content
                continue
            for k, v in t.facets.items():
                facets.setdefault(k, v)
            node = t.base

    def resolve_element(self, decl):
        if isinstance(decl, tuple) and decl[0] == "ref":
            try:
                return self.elements[decl[1]]
            except KeyError:
                raise SchemaError("unknown element %s" % (decl[1],))
        return decl

    def substitutes(self, head):
        """The non-abstract members of head's substitution group, head included."""
        members = []
        todo = [head]
        seen = set()
        while todo:
            e = todo.pop()
            if e.qname in seen:
                continue
            seen.add(e.qname)
            if not e.abstract:
                members.append(e)
            for other in self.elements.values():
                if other.subst_head == e.qname:
                    todo.append(other)
        members.sort(key=lambda e: (e.qname[1], e.qname[0]))
        return members
