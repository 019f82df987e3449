"""EXI test oracle: the EXIficient-based ``EXICodec.jar`` shipped with python-iso15118.

python-iso15118 0.31.2 ("Josev") bundles ``iso15118/shared/EXICodec.jar`` (codec
version 1.55, EXIficient + EclipseLink MOXy/JAXB) and drives it over py4j
(``iso15118/shared/exificient_exi_codec.py``).  The lowest-level calls are the two
methods of the Java object ``com.siemens.ct.exi.main.cmd.EXICodec``::

    byte[] encode(String json, String namespace)   # null on error -> get_last_encoding_error()
    String decode(byte[] exi, String namespace)    # null on error -> get_last_decoding_error()

Josev's ``EXI.to_exi/from_exi`` only wrap these with its (lossy) pydantic models;
this module skips the models and talks JSON to the jar directly.

Two representations are involved:

* **Josev JSON** -- what the jar reads/writes (MOXy JSON of the JAXB classes): a
  one-key object ``{root_local_name: {...}}``; children and attributes both keyed
  by bare local name (no ``@``); the text of a simple-content type under
  ``"value"``; hexBinary as an upper-case hex string, base64Binary as a base64
  string; integers as JSON numbers, booleans as JSON true/false; every element
  that maps to a JAXB ``List`` (maxOccurs > 1, or any child of a mixed type) is
  always a JSON array, even with one item; an empty complex element is ``{}``.
* **Our dict** -- micro15118's representation: ``{root_local_name: value}``;
  attributes under ``"@Name"``; simple content under ``"#text"``; an element that
  the XSD lets repeat is always a list; ints, bools, str, and bytes for
  hexBinary/base64Binary.

The mapping needs schema knowledge (attribute or element? hex or base64? may it
repeat?), so ``to_josev_json``/``from_josev_json`` walk the XSD type tree that is
parsed (xml.etree) from the XSDs bundled in ``iso15118/shared/schemas`` -- the
walk is context-sensitive, so name clashes between types cannot confuse it.

Usage::

    from host.harness.exi_oracle import JosevCodec
    codec = JosevCodec()
    exi = codec.encode("-20:CommonMessages", {"SessionSetupReq": {...}})
    msg = codec.decode("-20:DC", exi)

tests/oracle/DEFECTS.md lists what the oracle gets wrong.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import importlib.util
import json
import os
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from . import exi_vectors
from .exi_vectors import SCHEMA_NAMES as VECTOR_SCHEMA

__all__ = [
    "SCHEMAS",
    "JosevCodec",
    "JosevError",
    "to_josev_json",
    "from_josev_json",
    "schema_model",
    "shutdown",
]

# --------------------------------------------------------------------------
# Schemas / namespaces
# --------------------------------------------------------------------------

NS_APP = "urn:iso:15118:2:2010:AppProtocol"
NS_20_CM = "urn:iso:std:iso:15118:-20:CommonMessages"
NS_20_CT = "urn:iso:std:iso:15118:-20:CommonTypes"
NS_20_AC = "urn:iso:std:iso:15118:-20:AC"
NS_20_DC = "urn:iso:std:iso:15118:-20:DC"
NS_2_DEF = "urn:iso:15118:2:2013:MsgDef"
NS_DIN_DEF = "urn:din:70121:2012:MsgDef"
NS_DSIG = "http://www.w3.org/2000/09/xmldsig#"

#: schema key -> namespace string passed to the jar.
SCHEMAS = {
    "appProtocol": NS_APP,
    "-20:CommonMessages": NS_20_CM,
    "-20:AC": NS_20_AC,
    "-20:DC": NS_20_DC,
    "-2": NS_2_DEF,
    "din": NS_DIN_DEF,
    # Fragment mode, xmldsig-core grammar.  The jar only understands a
    # "SignedInfo" root here and rebuilds it with hard-coded algorithms
    # (see DEFECTS.md) -- do not use it as a reference for -20 signatures.
    "xmldsig": NS_DSIG,
}

# Namespaces whose *global* elements are document roots for a schema key, and
# the namespace closure (imports) searched for fragment roots / local elements.
_ROOT_NS = {
    "appProtocol": (NS_APP,),
    "-20:CommonMessages": (NS_20_CM,),
    "-20:AC": (NS_20_AC,),
    "-20:DC": (NS_20_DC,),
    "-2": (NS_2_DEF,),
    "din": (NS_DIN_DEF,),
    "xmldsig": (NS_DSIG,),
}
_CLOSURE_NS = {
    "appProtocol": (NS_APP,),
    "-20:CommonMessages": (NS_20_CM, NS_20_CT, NS_DSIG),
    "-20:AC": (NS_20_AC, NS_20_CT, NS_DSIG),
    "-20:DC": (NS_20_DC, NS_20_CT, NS_DSIG),
    "-2": (NS_2_DEF, "urn:iso:15118:2:2013:MsgHeader", "urn:iso:15118:2:2013:MsgBody",
           "urn:iso:15118:2:2013:MsgDataTypes", NS_DSIG),
    "din": (NS_DIN_DEF, "urn:din:70121:2012:MsgHeader", "urn:din:70121:2012:MsgBody",
            "urn:din:70121:2012:MsgDataTypes", NS_DSIG),
    "xmldsig": (NS_DSIG,),
}


def _schema_key(schema: str) -> str:
    """Accept a schema key or the namespace string itself."""
    if schema in SCHEMAS:
        return schema
    for k, ns in SCHEMAS.items():
        if ns == schema:
            return k
    raise ValueError(f"unknown schema {schema!r}; expected one of {sorted(SCHEMAS)}")


def _iso15118_dir() -> Path:
    spec = importlib.util.find_spec("iso15118")
    if spec is None or not spec.submodule_search_locations:
        raise JosevError("python package 'iso15118' (python-iso15118) is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def jar_path() -> Path:
    return Path(os.environ.get("JOSEV_ORACLE_JAR", _iso15118_dir() / "shared" / "EXICodec.jar"))


def xsd_dir() -> Path:
    return _iso15118_dir() / "shared" / "schemas"


class JosevError(RuntimeError):
    """The jar refused to encode/decode (message = the jar's last error)."""


# --------------------------------------------------------------------------
# XSD model (just enough XML Schema for the V2G schemas)
# --------------------------------------------------------------------------

_XS = "http://www.w3.org/2001/XMLSchema"
_INT_TYPES = {
    "byte", "short", "int", "long", "integer", "unsignedByte", "unsignedShort",
    "unsignedInt", "unsignedLong", "nonNegativeInteger", "positiveInteger",
    "negativeInteger", "nonPositiveInteger",
}


def _builtin_kind(local: str) -> str:
    if local in _INT_TYPES:
        return "int"
    if local == "boolean":
        return "bool"
    if local == "hexBinary":
        return "hex"
    if local == "base64Binary":
        return "b64"
    if local in ("decimal", "float", "double"):
        return "num"
    if local in ("anyType", "anySimpleType"):
        return "any"
    return "str"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _occurs_many(node) -> bool:
    mx = node.get("maxOccurs", "1")
    return mx == "unbounded" or int(mx) > 1


class _Doc:
    """One parsed XSD file with its prefix map."""

    def __init__(self, path: Path):
        self.path = path
        self.nsmap: dict[str, str] = {}
        for _ev, (pfx, uri) in ET.iterparse(str(path), events=("start-ns",)):
            self.nsmap.setdefault(pfx, uri)
        self.root = ET.parse(str(path)).getroot()
        self.tns = self.root.get("targetNamespace", "")
        self.qualified = self.root.get("elementFormDefault") == "qualified"

    def qname(self, s: str) -> tuple[str, str]:
        if ":" in s:
            pfx, loc = s.split(":", 1)
            return (self.nsmap[pfx], loc)
        return (self.nsmap.get("", ""), s)


class Elem:
    """An element declaration: ns, name, type (ComplexType or a kind string)."""

    __slots__ = ("ns", "name", "type", "abstract", "is_global")

    def __init__(self, ns, name, type_, abstract=False, is_global=False):
        self.ns, self.name, self.type = ns, name, type_
        self.abstract, self.is_global = abstract, is_global

    def __repr__(self):
        return f"Elem({{{self.ns}}}{self.name})"


class Child:
    __slots__ = ("elem", "repeat")

    def __init__(self, elem: Elem, repeat: bool):
        self.elem, self.repeat = elem, repeat


class ComplexType:
    """Flattened complex type: children by local name, attributes by local name."""

    def __init__(self, name: str):
        self.name = name
        self.children: dict[str, Child] = {}
        self.attrs: dict[str, str] = {}
        self.simple: str | None = None  # kind of simple content, if any
        self.mixed = False
        self.any = False  # has an xs:any wildcard
        self.clashes: list[str] = []

    def add_child(self, elem: Elem, repeat: bool):
        old = self.children.get(elem.name)
        if old is None:
            self.children[elem.name] = Child(elem, repeat)
            return
        if old.elem.type is not elem.type:
            self.clashes.append(elem.name)
        old.repeat = True  # same name twice in one content model

    def __repr__(self):
        return f"ComplexType({self.name})"


class SchemaModel:
    """All XSDs under iso15118/shared/schemas, indexed by qualified name."""

    def __init__(self, directory: Path):
        self.docs = [_Doc(p) for p in sorted(directory.rglob("*.xsd"))]
        self._elements: dict[tuple, tuple] = {}
        self._ctypes: dict[tuple, tuple] = {}
        self._stypes: dict[tuple, tuple] = {}
        self._subst: dict[tuple, list] = {}
        for d in self.docs:
            for node in d.root:
                tag, name = _local(node.tag), node.get("name")
                if not name:
                    continue
                table = {"element": self._elements, "complexType": self._ctypes,
                         "simpleType": self._stypes}.get(tag)
                if table is None:
                    continue
                key = (d.tns, name)
                if key in table and table[key][0].path != d.path:
                    raise ValueError(f"{key} defined twice ({table[key][0].path}, {d.path})")
                table[key] = (d, node)
                if tag == "element" and node.get("substitutionGroup"):
                    head = d.qname(node.get("substitutionGroup"))
                    self._subst.setdefault(head, []).append(key)
        self._memo_ct: dict = {}
        self._memo_elem: dict = {}

    # -- types ------------------------------------------------------------
    def type_by_qname(self, q):
        if q[0] == _XS:
            return _builtin_kind(q[1])
        if q in self._stypes:
            return self._simple_kind(*self._stypes[q])
        if q in self._ctypes:
            return self._complex(*self._ctypes[q], name=q[1])
        raise KeyError(f"unknown type {q}")

    def _simple_kind(self, doc, node) -> str:
        for c in node:
            tag = _local(c.tag)
            if tag == "restriction":
                if c.get("base"):
                    return self.type_by_qname(doc.qname(c.get("base")))
                for cc in c:
                    if _local(cc.tag) == "simpleType":
                        return self._simple_kind(doc, cc)
            elif tag in ("list", "union"):
                return "str"
        return "str"

    def _complex(self, doc, node, name=None) -> ComplexType:
        key = id(node)
        if key in self._memo_ct:
            return self._memo_ct[key]
        ct = ComplexType(name or "(anonymous)")
        self._memo_ct[key] = ct
        ct.mixed = node.get("mixed") == "true"
        for c in node:
            tag = _local(c.tag)
            if tag in ("sequence", "choice", "all", "element", "any"):
                self._particle(doc, c, ct, False)
            elif tag == "attribute":
                self._attribute(doc, c, ct)
            elif tag == "anyAttribute":
                pass
            elif tag in ("complexContent", "simpleContent"):
                if c.get("mixed") == "true":
                    ct.mixed = True
                for der in c:
                    dtag = _local(der.tag)
                    if dtag not in ("extension", "restriction"):
                        continue
                    base = self.type_by_qname(doc.qname(der.get("base")))
                    if isinstance(base, ComplexType):
                        ct.attrs.update(base.attrs)
                        ct.simple = base.simple
                        ct.any = ct.any or base.any
                        ct.mixed = ct.mixed or base.mixed
                        if tag == "complexContent" and dtag == "extension":
                            for n, ch in base.children.items():
                                ct.children[n] = Child(ch.elem, ch.repeat)
                    elif tag == "simpleContent":
                        ct.simple = base
                    for sub in der:
                        stag = _local(sub.tag)
                        if stag in ("sequence", "choice", "all", "element", "any"):
                            self._particle(doc, sub, ct, False)
                        elif stag == "attribute":
                            self._attribute(doc, sub, ct)
        return ct

    def _attribute(self, doc, node, ct):
        if node.get("ref"):
            name = doc.qname(node.get("ref"))[1]
            kind = "str"
        else:
            name = node.get("name")
            if node.get("type"):
                kind = self.type_by_qname(doc.qname(node.get("type")))
            else:
                inline = [c for c in node if _local(c.tag) == "simpleType"]
                kind = self._simple_kind(doc, inline[0]) if inline else "str"
        ct.attrs[name] = kind

    def _particle(self, doc, node, ct, repeat):
        tag = _local(node.tag)
        repeat = repeat or _occurs_many(node)
        if tag in ("sequence", "choice", "all"):
            for c in node:
                self._particle(doc, c, ct, repeat)
        elif tag == "element":
            if node.get("ref"):
                for e in self.substitutables(doc.qname(node.get("ref"))):
                    ct.add_child(e, repeat)
            else:
                ct.add_child(self._local_elem(doc, node), repeat)
        elif tag == "any":
            ct.any = True

    def _elem_type(self, doc, node, name):
        if node.get("type"):
            return self.type_by_qname(doc.qname(node.get("type")))
        for c in node:
            tag = _local(c.tag)
            if tag == "complexType":
                return self._complex(doc, c, name=name + "(anon)")
            if tag == "simpleType":
                return self._simple_kind(doc, c)
        return "any"

    def _local_elem(self, doc, node) -> Elem:
        key = id(node)
        if key not in self._memo_elem:
            name = node.get("name")
            form = node.get("form")
            qualified = form == "qualified" or (form is None and doc.qualified)
            e = Elem(doc.tns if qualified else "", name, None)
            self._memo_elem[key] = e
            e.type = self._elem_type(doc, node, name)
        return self._memo_elem[key]

    def global_elem(self, q) -> Elem:
        doc, node = self._elements[q]
        key = id(node)
        if key not in self._memo_elem:
            e = Elem(q[0], q[1], None, node.get("abstract") == "true", True)
            self._memo_elem[key] = e
            e.type = self._elem_type(doc, node, q[1])
        return self._memo_elem[key]

    def substitutables(self, head) -> list[Elem]:
        """The head element (unless abstract) and its substitution group, transitively."""
        out, todo, seen = [], [head], set()
        while todo:
            q = todo.pop(0)
            if q in seen:
                continue
            seen.add(q)
            e = self.global_elem(q)
            if not e.abstract:
                out.append(e)
            todo.extend(self._subst.get(q, ()))
        return out

    # -- lookups per schema key --------------------------------------------
    def global_names(self, namespaces) -> list[tuple]:
        return [q for q in self._elements if q[0] in namespaces]

    def all_element_decls(self, namespaces) -> list[Elem]:
        """Every element declaration (global and local) reachable in the namespaces."""
        out, seen_ct, seen_el = [], set(), set()

        def walk_elem(e):
            if id(e) in seen_el:
                return
            seen_el.add(id(e))
            out.append(e)
            if isinstance(e.type, ComplexType):
                walk_ct(e.type)

        def walk_ct(ct):
            if id(ct) in seen_ct:
                return
            seen_ct.add(id(ct))
            for ch in ct.children.values():
                walk_elem(ch.elem)

        for q in self._elements:
            if q[0] in namespaces:
                walk_elem(self.global_elem(q))
        for q in self._ctypes:
            if q[0] in namespaces:
                walk_ct(self.type_by_qname(q))
        return out

    def root_elem(self, schema_key: str, name: str) -> Elem:
        for ns in _ROOT_NS[schema_key]:
            if (ns, name) in self._elements:
                return self.global_elem((ns, name))
        closure = _CLOSURE_NS[schema_key]
        for ns in closure:
            if (ns, name) in self._elements:
                return self.global_elem((ns, name))
        cands = [e for e in self.all_element_decls(closure) if e.name == name]
        types = {id(e.type): e for e in cands}
        if len(types) == 1:
            return cands[0]
        if not cands:
            raise KeyError(f"no element {name!r} in schema {schema_key!r}")
        raise KeyError(f"element {name!r} is ambiguous in schema {schema_key!r}: "
                       f"{[(e.ns, e.type) for e in types.values()]}")


_MODEL: SchemaModel | None = None
_MODEL_LOCK = threading.Lock()


def schema_model() -> SchemaModel:
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            _MODEL = SchemaModel(xsd_dir())
        return _MODEL


# --------------------------------------------------------------------------
# our dict <-> Josev JSON
# --------------------------------------------------------------------------

def _scalar_to_j(v, kind, path):
    if kind == "hex":
        if not isinstance(v, (bytes, bytearray)):
            raise TypeError(f"{path}: hexBinary wants bytes, got {type(v).__name__}")
        return bytes(v).hex().upper()
    if kind == "b64":
        if not isinstance(v, (bytes, bytearray)):
            raise TypeError(f"{path}: base64Binary wants bytes, got {type(v).__name__}")
        return base64.b64encode(bytes(v)).decode("ascii")
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{path}: integer wants int, got {type(v).__name__}")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise TypeError(f"{path}: boolean wants bool, got {type(v).__name__}")
        return v
    if kind == "str":
        if not isinstance(v, str):
            raise TypeError(f"{path}: string wants str, got {type(v).__name__}")
        return v
    return v  # num / any: pass through


def _scalar_from_j(v, kind, path):
    try:
        if kind == "hex":
            return bytes.fromhex(v)
        if kind == "b64":
            return base64.b64decode(v, validate=True)
        if kind == "int":
            if isinstance(v, bool):
                raise TypeError("bool")
            return int(v)
        if kind == "bool":
            if isinstance(v, str):
                return {"true": True, "false": False, "1": True, "0": False}[v]
            if not isinstance(v, bool):
                raise TypeError(type(v).__name__)
            return v
        if kind == "str":
            if not isinstance(v, str):
                raise TypeError(type(v).__name__)
            return v
    except (TypeError, ValueError, KeyError, binascii.Error) as exc:
        raise ValueError(f"{path}: cannot read {v!r} as {kind}: {exc}") from None
    return v


def _elem_to_j(value, typ, path):
    if not isinstance(typ, ComplexType):
        return _scalar_to_j(value, typ, path)
    if not isinstance(value, dict):
        raise TypeError(f"{path}: complex type {typ.name} wants a dict, got {type(value).__name__}")
    out = {}
    for k, v in value.items():
        p = f"{path}/{k}"
        if k.startswith("@"):
            if k[1:] not in typ.attrs:
                raise KeyError(f"{p}: {typ.name} has no attribute {k[1:]!r}")
            out[k[1:]] = _scalar_to_j(v, typ.attrs[k[1:]], p)
        elif k == "#text":
            if typ.simple is None:
                raise KeyError(f"{p}: {typ.name} has no simple content")
            out["value"] = _scalar_to_j(v, typ.simple, p)
        elif k in typ.children:
            ch = typ.children[k]
            if ch.repeat:
                if not isinstance(v, list):
                    raise TypeError(f"{p}: repeatable element must be a list")
                out[k] = [_elem_to_j(x, ch.elem.type, f"{p}[{i}]") for i, x in enumerate(v)]
            else:
                if isinstance(v, list):
                    raise TypeError(f"{p}: element cannot repeat, got a list")
                j = _elem_to_j(v, ch.elem.type, p)
                out[k] = [j] if typ.mixed else j  # mixed types: JAXB List<Object>
        elif typ.any:
            out[k] = v
        else:
            raise KeyError(f"{p}: {typ.name} has no child or attribute {k!r}")
    return out


def _elem_from_j(value, typ, path):
    if not isinstance(typ, ComplexType):
        return _scalar_from_j(value, typ, path)
    if not isinstance(value, dict):
        raise TypeError(f"{path}: complex type {typ.name} wants an object, got {value!r}")
    out = {}
    for k, v in value.items():
        p = f"{path}/{k}"
        if k in typ.attrs:
            out["@" + k] = _scalar_from_j(v, typ.attrs[k], p)
        elif k == "value" and typ.simple is not None:
            out["#text"] = _scalar_from_j(v, typ.simple, p)
        elif k in typ.children:
            ch = typ.children[k]
            items = v if isinstance(v, list) else [v]
            items = [_elem_from_j(x, ch.elem.type, f"{p}[{i}]") for i, x in enumerate(items)]
            if ch.repeat:
                out[k] = items
            elif len(items) == 1:
                out[k] = items[0]
            else:
                raise ValueError(f"{p}: non-repeatable element occurs {len(items)} times")
        elif typ.any:
            out[k] = v
        else:
            raise KeyError(f"{p}: {typ.name} has no child or attribute {k!r}")
    return out


def _infer_schema(root: str) -> str:
    m = schema_model()
    hits = [k for k in ("appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC")
            if any((ns, root) in m._elements for ns in _ROOT_NS[k])]
    if len(hits) != 1:
        raise ValueError(f"cannot infer the schema of root {root!r}; pass schema=")
    return hits[0]


def to_dict_json(our_dict: dict, schema: str | None = None) -> dict:
    """our dict -> Josev JSON object (a Python dict, not yet serialised)."""
    if not isinstance(our_dict, dict) or len(our_dict) != 1:
        raise ValueError("message must be a one-key dict {root_local_name: value}")
    (root, value), = our_dict.items()
    key = _schema_key(schema) if schema else _infer_schema(root)
    elem = schema_model().root_elem(key, root)
    return {root: _elem_to_j(value, elem.type, root)}


def to_josev_json(our_dict: dict, schema: str | None = None) -> str:
    """our dict -> JSON string for ``EXICodec.encode``.

    ``schema`` (a key of SCHEMAS or a namespace) selects the XSD used to resolve
    the root element; it is inferred for -20/appProtocol document roots.
    """
    return json.dumps(to_dict_json(our_dict, schema), separators=(",", ":"))


def from_josev_json(json_str: str | dict, schema: str | None = None) -> dict:
    """JSON string from ``EXICodec.decode`` -> our dict."""
    obj = json.loads(json_str) if isinstance(json_str, (str, bytes)) else json_str
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ValueError(f"expected a one-key JSON object, got {str(obj)[:200]}")
    (root, value), = obj.items()
    key = _schema_key(schema) if schema else _infer_schema(root)
    elem = schema_model().root_elem(key, root)
    return {root: _elem_from_j(value, elem.type, root)}


# --------------------------------------------------------------------------
# The JVM (one per process, started lazily, stopped at exit)
# --------------------------------------------------------------------------

class _Jvm:
    lock = threading.RLock()
    gateway = None
    proc = None
    codec = None
    startup_seconds: float | None = None

    @classmethod
    def get(cls):
        with cls.lock:
            if cls.codec is None:
                cls._start()
            return cls.codec

    @classmethod
    def _start(cls):
        import logging

        from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway

        logging.getLogger("py4j").setLevel(logging.CRITICAL)
        jar = jar_path()
        if not jar.is_file():
            raise JosevError(f"EXICodec.jar not found at {jar}")
        t0 = time.perf_counter()
        port, proc = launch_gateway(
            classpath=str(jar),
            die_on_exit=True,  # JVM exits when our stdin pipe closes
            javaopts=["--add-opens", "java.base/java.lang=ALL-UNNAMED"],
            java_path=os.environ.get("JOSEV_ORACLE_JAVA", "java"),
            return_proc=True,
        )
        cls.proc = proc
        try:
            cls.gateway = JavaGateway(gateway_parameters=GatewayParameters(port=port))
            cls.codec = cls.gateway.jvm.com.siemens.ct.exi.main.cmd.EXICodec()
        except Exception:
            cls.shutdown()
            raise
        cls.startup_seconds = time.perf_counter() - t0
        atexit.register(cls.shutdown)

    @classmethod
    def shutdown(cls):
        with cls.lock:
            gw, proc = cls.gateway, cls.proc
            cls.gateway = cls.proc = cls.codec = None
            if gw is not None:
                try:
                    gw.shutdown()
                except Exception:
                    pass
            if proc is not None:
                try:
                    if proc.stdin:
                        proc.stdin.close()
                    proc.wait(timeout=5)
                except Exception:
                    proc.kill()
                    proc.wait(timeout=5)


def shutdown():
    """Stop the shared JVM (it is restarted lazily on next use)."""
    _Jvm.shutdown()


# --------------------------------------------------------------------------
# Public codec
# --------------------------------------------------------------------------

class JosevCodec:
    """Oracle codec; all instances share one lazily started JVM.

    ``schema``: one of SCHEMAS ('appProtocol', '-20:CommonMessages', '-20:AC',
    '-20:DC', '-2', 'din', 'xmldsig') or the namespace string itself.
    """

    SCHEMAS = SCHEMAS

    # -- raw JSON level -------------------------------------------------------
    def encode_json(self, schema: str, json_str: str) -> bytes:
        ns = SCHEMAS[_schema_key(schema)]
        from py4j.protocol import Py4JError

        with _Jvm.lock:
            codec = _Jvm.get()
            try:
                out = codec.encode(json_str, ns)
            except Py4JError as exc:  # e.g. NoClassDefFoundError inside MOXy
                raise JosevError(f"jar crashed while encoding: {exc}") from None
            if out is None:
                raise JosevError(codec.get_last_encoding_error())
        return bytes(out)

    def decode_json(self, schema: str, exi: bytes) -> str:
        ns = SCHEMAS[_schema_key(schema)]
        from py4j.protocol import Py4JError

        with _Jvm.lock:
            codec = _Jvm.get()
            try:
                out = codec.decode(bytes(exi), ns)
            except Py4JError as exc:
                raise JosevError(f"jar crashed while decoding: {exc}") from None
            if out is None:
                raise JosevError(codec.get_last_decoding_error())
        return out

    # -- our dict level ---------------------------------------------------------
    def encode(self, schema: str, our_dict: dict) -> bytes:
        return self.encode_json(schema, to_josev_json(our_dict, schema))

    def decode(self, schema: str, exi: bytes) -> dict:
        return from_josev_json(self.decode_json(schema, exi), schema)

    # -- misc -----------------------------------------------------------------
    def version(self) -> float:
        with _Jvm.lock:
            return float(_Jvm.get().get_version())

    @staticmethod
    def startup_seconds() -> float | None:
        """Wall time the JVM + gateway + EXICodec() construction took."""
        return _Jvm.startup_seconds

    @staticmethod
    def shutdown():
        _Jvm.shutdown()


# --------------------------------------------------------------------------
# Self-check / timing (python -m host.harness.exi_oracle [vectors.jsonl])
# --------------------------------------------------------------------------

def load_vectors(path: str | None = None) -> list[dict]:
    path = path or exi_vectors.VECTORS
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _main(argv):
    vectors = load_vectors(argv[1] if len(argv) > 1 else None)
    codec = JosevCodec()
    codec.version()
    print(f"JVM start-up (launch + gateway + EXICodec()): {JosevCodec.startup_seconds():.3f} s")
    bad = 0
    t_first = time.perf_counter()
    for v in vectors:  # first pass = warm-up (JIT, JAXB contexts per schema)
        schema, exi = VECTOR_SCHEMA[v["schema"]], bytes.fromhex(v["exi_hex"])
        if codec.encode(schema, codec.decode(schema, exi)) != exi:
            bad += 1
            print("MISMATCH", v["name"])
    print(f"first (cold) pass over {len(vectors)} vectors: {time.perf_counter() - t_first:.3f} s")
    rounds = 20
    td = te = tc = 0.0
    for _ in range(rounds):
        for v in vectors:
            schema, exi = VECTOR_SCHEMA[v["schema"]], bytes.fromhex(v["exi_hex"])
            t0 = time.perf_counter()
            j = codec.decode_json(schema, exi)
            t1 = time.perf_counter()
            d = from_josev_json(j, schema)
            s = to_josev_json(d, schema)
            t2 = time.perf_counter()
            codec.encode_json(schema, s)
            t3 = time.perf_counter()
            td, tc, te = td + t1 - t0, tc + t2 - t1, te + t3 - t2
    n = rounds * len(vectors)
    print(f"warm, mean over {n} calls: decode_json {1e3 * td / n:.2f} ms, "
          f"encode_json {1e3 * te / n:.2f} ms, dict<->JSON conversion {1e3 * tc / n:.3f} ms")
    print("OK" if not bad else f"{bad} MISMATCHES")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
