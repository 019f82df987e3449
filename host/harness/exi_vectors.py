"""The EXI reference vectors (tests/data/exi-vectors, see its README.md) for
host tests, the EXI fuzzer and benchmarks."""
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# In the repository, so a clone alone runs the tests; $MICRO15118_EXI_VECTORS
# points at another set (same format) for a one-off run.
VECTORS = os.environ.get("MICRO15118_EXI_VECTORS") or os.path.join(
    REPO, "tests", "data", "exi-vectors", "vectors.jsonl")
FIXTURE = os.path.join(REPO, "build", "test-data", "vector_dicts.json")
# Encoded by bare EXIficient (tools/exificient.py) with other EXI options:
# string tables on (capacity -1 = unbounded), bounded capacity, fragments.
EXTRA = os.path.join(REPO, "tests", "data", "exificient_extra.jsonl")

# the vectors' schema field -> our schema names
SCHEMA_NAMES = {
    "appProtocol": "appProtocol",
    "urn:iso:std:iso:15118:-20:CommonMessages": "-20:CommonMessages",
    "urn:iso:std:iso:15118:-20:AC": "-20:AC",
    "urn:iso:std:iso:15118:-20:DC": "-20:DC",
}


def load():
    with open(VECTORS) as f:
        vectors = [json.loads(line) for line in f if line.strip()]
    for v in vectors:
        v["ours"] = SCHEMA_NAMES[v["schema"]]
    return vectors


def load_extra():
    """The extra vectors, with their options as codec arguments."""
    with open(EXTRA) as f:
        extra = [json.loads(line) for line in f if line.strip()]
    for v in extra:
        o = v.pop("options")
        v["ours"] = v["schema"]
        v["args"] = {"fragment": o["fragment"],
                     "capacity": None if o["capacity"] == -1 else o["capacity"],
                     "max_length": None if o["maxlen"] == -1 else o["maxlen"]}
    return extra


def to_json(value):
    """Decoded message -> JSON-able (bytes become {"$hex": ...})."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$hex": bytes(value).hex()}
    return value


def write_fixture():
    """Typed dicts of every vector, decoded here on CPython, for the
    MicroPython run of tests/firmware/test_exi_codec.py."""
    from micro15118 import exi
    out = []
    for v in load():
        msg = exi.decode(v["ours"], bytes.fromhex(v["exi_hex"]))
        out.append({"name": v["name"], "schema": v["ours"], "exi_hex": v["exi_hex"], "msg": to_json(msg),
                    "args": {}})
    for v in load_extra():
        msg = exi.decode(v["ours"], bytes.fromhex(v["exi_hex"]), **v["args"])
        out.append({"name": v["name"], "schema": v["ours"], "exi_hex": v["exi_hex"], "msg": to_json(msg),
                    "args": v["args"]})
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as f:
        json.dump(out, f)
