"""Bare EXIficient in the JVM, for CPython tests and benchmarks.

Drives ``tools/bench/ExiBench.java`` (our own small CLI over the EXIficient
core bundled in python-iso15118's ``EXICodec.jar``; no py4j, no JSON binding,
no JAXB).  It is compiled with javac into ``build/exibench/`` when the class
file is missing or older than the source.

Default options are the V2G profile used by the reference vectors:
schema-informed from the XSD, bit-packed, default (non-strict) fidelity,
valuePartitionCapacity=0, valueMaxLength=0, no built-in element grammars or
productions, not a fragment.  ``capacity=-1`` / ``maxlen=-1`` mean unbounded
(EXIficient's own default), i.e. string values enter the string tables.

    from host.harness import exificient
    xsd = exificient.xsd_for("-20:CommonMessages")
    exi = exificient.encode(xsd, xml)
    xmls = exificient.decode_many(xsd, [exi1, exi2])

As a script: ``python tools/exificient.py check [ITER] [-v]`` (or ``python -m host.harness.exificient``) runs the bench over
the EXI reference vectors (tests/data/exi-vectors) and prints exactness and geometric means.
"""
import glob
import importlib.util
import json
import math
import os
import subprocess
import sys

from .exi_vectors import SCHEMA_NAMES as VECTOR_SCHEMAS
from .exi_vectors import VECTORS
from .xsd_model import SCHEMAS as _XSDS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO, "tools", "bench", "ExiBench.java")
BUILD = os.path.join(REPO, "build", "exibench")
CLASS = os.path.join(BUILD, "ExiBench.class")


class ExificientError(Exception):
    pass


def _iso15118_shared():
    spec = importlib.util.find_spec("iso15118")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if os.path.isfile(os.path.join(loc, "shared", "EXICodec.jar")):
                return os.path.join(loc, "shared")
    # not importable from this interpreter: look in the repo's venv
    for loc in sorted(glob.glob(os.path.join(REPO, ".venv", "lib", "python3*", "site-packages",
                                             "iso15118", "shared"))):
        if os.path.isfile(os.path.join(loc, "EXICodec.jar")):
            return loc
    raise ExificientError("python-iso15118 (EXICodec.jar) not found; pip install iso15118")


def jar_path():
    return os.path.join(_iso15118_shared(), "EXICodec.jar")


def xsd_for(schema_name):
    """XSD path (in the installed iso15118 package) for one of our schema
    names: 'appProtocol', '-20:CommonMessages', '-20:AC', '-20:DC', '-2', 'din'.
    The vectors' namespace URIs are accepted too."""
    name = VECTOR_SCHEMAS.get(schema_name, schema_name)
    if name not in _XSDS:
        raise KeyError("unknown schema %r (known: %s)" % (schema_name, ", ".join(_XSDS)))
    return os.path.join(_iso15118_shared(), "schemas", _XSDS[name])


def _xsd(xsd_path):
    # a schema name is accepted wherever an XSD path is expected
    if not os.path.isfile(xsd_path) and (xsd_path in _XSDS or xsd_path in VECTOR_SCHEMAS):
        return xsd_for(xsd_path)
    return os.path.abspath(xsd_path)


def build():
    """Compile ExiBench.java if the class is missing or stale; return the classpath."""
    jar = jar_path()
    if not os.path.isfile(CLASS) or os.path.getmtime(CLASS) < os.path.getmtime(SOURCE):
        os.makedirs(BUILD, exist_ok=True)
        r = subprocess.run(["javac", "-encoding", "UTF-8", "-nowarn", "-d", BUILD, "-cp", jar, SOURCE],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ExificientError("javac failed:\n" + r.stderr)
    return BUILD + os.pathsep + jar


def _java(args, stdin=None, jit=True):
    cp = build()
    cmd = ["java"]
    if not jit:
        # short runs: C1 only starts faster
        cmd += ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    cmd += ["-cp", cp, "ExiBench"] + list(args)
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, encoding="utf-8")
    if r.returncode != 0:
        raise ExificientError(r.stderr.strip() or "java exited with %d" % r.returncode)
    return r.stdout


def _opts(fragment, capacity, maxlen):
    args = ["--capacity", str(int(capacity)), "--maxlen", str(int(maxlen))]
    if fragment:
        args.append("--fragment")
    return args


def encode(xsd_path, xml_text, fragment=False, capacity=0, maxlen=0):
    """XML text -> EXI bytes (with the 0x80 header byte)."""
    out = _java(["encode", _xsd(xsd_path), "-"] + _opts(fragment, capacity, maxlen),
                stdin=xml_text, jit=False)
    return bytes.fromhex(out.strip())


def decode(xsd_path, exi_bytes, fragment=False, capacity=0, maxlen=0):
    """EXI bytes -> XML text (EXIficient's prefixes, no XML declaration)."""
    out = _java(["decode", _xsd(xsd_path), "-"] + _opts(fragment, capacity, maxlen),
                stdin=bytes(exi_bytes).hex(), jit=False)
    return out.rstrip("\n")


def _many(command, key, xsd_path, items, fragment, capacity, maxlen, errors):
    out = _java([command, _xsd(xsd_path)] + _opts(fragment, capacity, maxlen),
                stdin=json.dumps(list(items)), jit=False)
    results = []
    failed = []
    for i, r in enumerate(json.loads(out)):
        if "error" in r:
            failed.append("item %d: %s" % (i, r["error"]))
            results.append(None)
        else:
            results.append(r[key])
    if failed and errors == "raise":
        raise ExificientError("\n".join(failed))
    return results


def encode_many(xsd_path, xml_texts, fragment=False, capacity=0, maxlen=0, errors="raise"):
    """Encode many XML documents with one JVM run (grammar built once).
    Returns a list of bytes; with errors='none' a failed item is None
    instead of raising."""
    hexes = _many("encode-many", "hex", xsd_path, xml_texts, fragment, capacity, maxlen, errors)
    return [None if h is None else bytes.fromhex(h) for h in hexes]


def decode_many(xsd_path, exi_list, fragment=False, capacity=0, maxlen=0, errors="raise"):
    """Decode many EXI streams with one JVM run; returns a list of XML strings."""
    return _many("decode-many", "xml", xsd_path, [bytes(b).hex() for b in exi_list],
                 fragment, capacity, maxlen, errors)


def bench(jsonl_path, schema_value, xsd_path, iterations, warmup=20000,
          fragment=False, capacity=0, maxlen=0):
    """Time bare EXIficient on each vector of a JSONL file (fields name,
    schema, xml, exi_hex) whose ``schema`` equals ``schema_value``.

    Grammars are built once; then ``warmup`` rounds (round robin over the
    vectors, each one encode + decode + XML parse) let the JIT settle.  Per
    vector, ``iterations`` encodes (XML string -> SAX parse -> EXI byte
    array), decodes (EXI bytes -> SAX events that are discarded) and, for
    reference, XML parses alone (XML string -> discarded SAX events; part of
    encode_us) and encodes of pre-recorded SAX events (the EXI encoder
    without the XML parser) are timed in 5 rounds.  ``encode_us``,
    ``decode_us``, ``xml_parse_us``, ``encode_events_us`` are the best round
    means in microseconds (robust against other load), ``*_mean_us`` the
    means over all iterations.  ``exact``: both encodings equal exi_hex.
    Returns a list of such dicts (plus name, bytes[, got_hex])."""
    out = _java(["bench", _xsd(xsd_path), os.path.abspath(jsonl_path), schema_value, str(int(iterations)),
                 "--warmup", str(int(warmup))] + _opts(fragment, capacity, maxlen))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def geomean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def check(jsonl_path=VECTORS, iterations=5000, warmup=20000, verbose=False):
    """Bench every schema in the vectors file; print and return a summary."""
    with open(jsonl_path) as f:
        schemas = sorted({json.loads(line)["schema"] for line in f if line.strip()})
    summary = {}
    for schema in schemas:
        rows = bench(jsonl_path, schema, xsd_for(schema), iterations, warmup)
        if verbose:
            for r in rows:
                print("  %-40s enc %8.2f us  dec %8.2f us  parse %8.2f us  enc-events %8.2f us  %s" % (
                    r["name"], r["encode_us"], r["decode_us"], r["xml_parse_us"], r["encode_events_us"],
                    "exact" if r["exact"] else "MISMATCH"))
        summary[schema] = {
            "vectors": len(rows),
            "exact": sum(r["exact"] for r in rows),
            "encode_us_geomean": geomean(r["encode_us"] for r in rows),
            "decode_us_geomean": geomean(r["decode_us"] for r in rows),
            "xml_parse_us_geomean": geomean(r["xml_parse_us"] for r in rows),
            "encode_events_us_geomean": geomean(r["encode_events_us"] for r in rows),
            "encode_mean_us_geomean": geomean(r["encode_mean_us"] for r in rows),
            "decode_mean_us_geomean": geomean(r["decode_mean_us"] for r in rows),
            "mismatches": [r["name"] for r in rows if not r["exact"]],
        }
        s = summary[schema]
        print("%-42s %2d/%2d exact  encode %7.2f us  decode %7.2f us  (xml parse alone %6.2f us,"
              " encode from SAX events %6.2f us; plain means: encode %7.2f us, decode %7.2f us)" % (
                  schema, s["exact"], s["vectors"], s["encode_us_geomean"], s["decode_us_geomean"],
                  s["xml_parse_us_geomean"], s["encode_events_us_geomean"],
                  s["encode_mean_us_geomean"], s["decode_mean_us_geomean"]))
    return summary


def main(argv):
    if len(argv) >= 1 and argv[0] == "check":
        numbers = [a for a in argv[1:] if a.isdigit()]
        iterations = int(numbers[0]) if numbers else 5000
        summary = check(iterations=iterations, verbose="-v" in argv)
        total = sum(s["vectors"] for s in summary.values())
        exact = sum(s["exact"] for s in summary.values())
        print("all exact" if exact == total else "%d of %d exact" % (exact, total))
        return 0 if exact == total else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
