"""Every reference vector: XML -> EXI is byte-exact, EXI -> XML is the same infoset."""
import xml.etree.ElementTree as ET

import pytest

from host.harness import exi_vectors as vectors
from host.capture import exi_xml

VECTORS = vectors.load()


def infoset(elem):
    return (elem.tag, sorted(elem.attrib.items()), (elem.text or "").strip(),
            [infoset(child) for child in elem])


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_encode_is_byte_exact(v):
    assert exi_xml.encode_from_xml(v["ours"], v["xml"]).hex() == v["exi_hex"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decode_gives_same_xml_infoset(v):
    xml = exi_xml.decode_to_xml(v["ours"], bytes.fromhex(v["exi_hex"]))
    assert infoset(ET.fromstring(xml)) == infoset(ET.fromstring(v["xml"]))


def test_vectors_cover_every_schema_and_are_all_here():
    assert len(VECTORS) == 66
    assert {v["ours"] for v in VECTORS} == {"appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC"}
