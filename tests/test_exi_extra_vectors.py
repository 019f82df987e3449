"""Vectors encoded by bare EXIficient with other EXI options (tests/data/exificient_extra.jsonl):
string tables with local and global hits, a bounded table that evicts, valueMaxLength, and fragments."""
import xml.etree.ElementTree as ET

import pytest

from micro15118 import exi
from host.harness import exi_vectors as vectors
from host.capture import exi_xml
from test_exi_vectors import infoset

EXTRA = vectors.load_extra()


@pytest.mark.parametrize("v", EXTRA, ids=[v["name"] for v in EXTRA])
def test_encode_is_byte_exact(v):
    msg = exi_xml.xml_to_message(v["xml"])
    assert exi.encode(v["ours"], msg, **v["args"]).hex() == v["exi_hex"]


@pytest.mark.parametrize("v", EXTRA, ids=[v["name"] for v in EXTRA])
def test_decode_gives_same_xml_infoset(v):
    msg = exi.decode(v["ours"], bytes.fromhex(v["exi_hex"]), **v["args"])
    tree = exi_xml.message_to_tree(v["ours"], msg, v["args"]["fragment"])[0]
    assert infoset(ET.fromstring(exi_xml.tree_to_xml(tree))) == infoset(ET.fromstring(v["xml"]))


def test_extra_vectors_cover_string_tables_eviction_and_fragments():
    args = [v["args"] for v in EXTRA]
    assert any(a["capacity"] is None for a in args)
    assert any(a["capacity"] == 3 for a in args)
    assert any(a["max_length"] == 10 for a in args)
    assert sum(a["fragment"] for a in args) >= 3
