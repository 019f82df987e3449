"""XML front end of the EXI codec (host side): XML text <-> EXI bytes.

The firmware codec speaks plain dicts.  XML -> dict is schema-free (the
encoder converts text values by their datatype); dict -> XML re-walks the
grammar with the encoder's event listener, which knows every element's
namespace and datatype.
"""
import base64
import xml.etree.ElementTree as ET

from micro15118 import exi
from micro15118.exi.grammar import DT_BOOL, DT_HEX, DT_B64

PREFIXES = {
    "urn:iso:15118:2:2010:AppProtocol": "app",
    "urn:iso:std:iso:15118:-20:CommonMessages": "cm",
    "urn:iso:std:iso:15118:-20:CommonTypes": "ct",
    "urn:iso:std:iso:15118:-20:AC": "ac",
    "urn:iso:std:iso:15118:-20:DC": "dc",
    "urn:iso:std:iso:15118:-20:ACDP": "acdp",
    "urn:iso:std:iso:15118:-20:WPT": "wpt",
    "http://www.w3.org/2000/09/xmldsig#": "ds",
    "urn:iso:15118:2:2013:MsgDef": "v2gci_d",
    "urn:iso:15118:2:2013:MsgHeader": "v2gci_h",
    "urn:iso:15118:2:2013:MsgBody": "v2gci_b",
    "urn:iso:15118:2:2013:MsgDataTypes": "v2gci_t",
    "urn:din:70121:2012:MsgDef": "din_d",
    "urn:din:70121:2012:MsgHeader": "din_h",
    "urn:din:70121:2012:MsgBody": "din_b",
    "urn:din:70121:2012:MsgDataTypes": "din_t",
}


def local_name(tag):
    return tag.rsplit("}", 1)[-1]


def element_to_value(elem):
    """An XML element as the codec's dict value (text stays text)."""
    children = list(elem)
    if not children and not elem.attrib:
        return elem.text or ""
    out = {}
    for name, value in elem.attrib.items():
        out["@" + local_name(name)] = value
    for child in children:
        key = local_name(child.tag)
        value = element_to_value(child)
        if key in out:
            if type(out[key]) is not list:
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    if elem.text and elem.text.strip():
        out["#text"] = elem.text
    return out


def xml_to_message(xml_text):
    """The codec's dict for an XML document (text values stay text)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise exi.ExiError("XML is not well-formed: %s" % e)
    return {local_name(root.tag): element_to_value(root)}


def value_text(dt, value):
    kind = dt[0]
    if kind == DT_BOOL:
        return "true" if value else "false"
    if kind == DT_HEX:
        return bytes(value).hex().upper()
    if kind == DT_B64:
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def message_to_tree(schema, msg, fragment=False):
    """Build an ElementTree element for a decoded message (via the encoder walk)."""
    g = exi.grammar(schema)
    stack = []
    roots = []

    def on_event(event, qn, dt, value):
        if event == "SE":
            uri, local = g.qname(qn)
            tag = "{%s}%s" % (uri, local) if uri else local
            e = ET.Element(tag) if not stack else ET.SubElement(stack[-1], tag)
            if not stack:
                roots.append(e)
            stack.append(e)
        elif event == "EE":
            stack.pop()
        elif event == "AT":
            uri, local = g.qname(qn)
            stack[-1].set("{%s}%s" % (uri, local) if uri else local, value_text(dt, value))
        elif event == "CH":
            stack[-1].text = value_text(dt, value)

    exi.Encoder(g, on_event).encode(msg, fragment)
    return roots


def tree_to_xml(elem, pretty=True):
    for uri, prefix in PREFIXES.items():
        ET.register_namespace(prefix, uri)
    if pretty:
        ET.indent(elem)
    return ET.tostring(elem, encoding="unicode")


def decode_to_xml(schema, data, pretty=True):
    msg = exi.decode(schema, data)
    return tree_to_xml(message_to_tree(schema, msg)[0], pretty)


def encode_from_xml(schema, xml_text, fragment=False):
    """EXI of an XML document.  The dict the codec takes has no namespaces
    and no sibling order, so the elements the encoder wrote are compared with
    the document's: a wrong namespace or order is an error, not a fix-up."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise exi.ExiError("XML is not well-formed: %s" % e)
    g = exi.grammar(schema)
    written = []

    def on_event(event, qn, dt, value):
        if event == "SE":
            uri, local = g.qname(qn)
            written.append("{%s}%s" % (uri, local) if uri else local)

    msg = {local_name(root.tag): element_to_value(root)}
    data = exi.Encoder(g, on_event).encode(msg, fragment)
    for tag, want in zip(written, (e.tag for e in root.iter())):
        if tag != want:
            raise exi.ExiError("element %s is not where the schema puts it (expected %s)" % (want, tag))
    return data
