"""The EXI reference vectors as the firmware tests read them, under CPython
and MicroPython (tests/mprun.py): build/test-data/vector_dicts.json (see
host/harness/exi_vectors.py) with the hex strings turned back into bytes."""
import binascii
import json

FIXTURE = "build/test-data/vector_dicts.json"


def from_json(value):
    # JSON has no bytes: they are stored as {"$hex": "..."}.
    if isinstance(value, dict):
        if len(value) == 1 and "$hex" in value:
            return binascii.unhexlify(value["$hex"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def load(accept=None):
    """The vectors accept(v) keeps (all without it), each with "msg" as
    dicts and bytes and "exi" the encoding as bytes."""
    with open(FIXTURE) as f:
        vectors = json.load(f)
    out = []
    for v in vectors:
        if accept is None or accept(v):
            v["msg"] = from_json(v["msg"])
            v["exi"] = binascii.unhexlify(v["exi_hex"])
            out.append(v)
    return out
