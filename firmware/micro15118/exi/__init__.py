"""micro15118 EXI codec: schema-informed, bit-packed, byte-exact with EXIficient.

    from micro15118 import exi
    data = exi.encode("-20:CommonMessages", {"SessionSetupReq": {...}})
    msg = exi.decode("-20:CommonMessages", data)

Messages are plain dicts keyed by XSD element names; README.md in this
directory documents the representation.  Every problem with the input raises
exi.ExiError.
"""
import sys

from .error import ExiError
from .grammar import Grammar
from .decoder import Decoder
from .encoder import Encoder

# schema name -> grammar table (schemas/<name>.exig); the -20 tables extend
# the base table iso20_CommonTypes, loaded with the first of them
SCHEMAS = {
    "appProtocol": "appProtocol",
    "-20:CommonMessages": "iso20_CommonMessages",
    "-20:AC": "iso20_AC",
    "-20:DC": "iso20_DC",
    "-20:ACDP": "iso20_ACDP",
    "-20:WPT": "iso20_WPT",
    "-2": "iso2",
    "din": "din",
    "xmldsig": "xmldsig",
}

# Where the tables live: frozen into the image (micro15118.grammars, a bytes
# constant per table, in flash), or files: in the package (micro15118/schemas,
# installed as package data or copied to the board), /schemas on a board's
# file system, or the repository's schemas/ when running from a checkout
# (firmware/micro15118/exi -> ../../..).
_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
SCHEMA_DIRS = [_here + "/../schemas", "/schemas", _here + "/../../../schemas"]

# Keep tables in RAM (fast) or read them from the file system on demand (no
# heap).  On CPython RAM is plentiful; on a board set this before first use.
# A frozen table is always used in place: it is in flash, costs no heap.
TABLES_IN_RAM = sys.implementation.name != "micropython"

_grammars = {}
# Whether the codec runs frozen into the image (then so do its tables): a
# frozen module's __file__ is the path it was frozen under, not a file.
_frozen = None


def _module(table):
    """The table from its module in micro15118.grammars, or None."""
    try:
        return _import(table)
    except ImportError:     # this table's module (or the package) is absent
        return None


def _import(table):
    # Kept apart from _module's `except ImportError`: a board image needs the
    # table modules (boards/manifests/iso20.py freezes them), and an import
    # inside that try would read as optional (tests/test_manifests.py).
    from .. import grammars
    return grammars.load(table)


def grammar(schema):
    """The Grammar of a schema name (a key of SCHEMAS), loaded once: from
    the frozen table module when the image has it, else from a file in
    SCHEMA_DIRS, else from the table module (which then costs heap)."""
    g = _grammars.get(schema)
    if g is None:
        try:
            table = SCHEMAS[schema]
        except KeyError:
            raise ExiError("unknown schema %r (one of: %s)" % (schema, ", ".join(SCHEMAS)))
        g = _grammars[schema] = Grammar(_source(table), schema, _base)
    return g


def _base(table):
    """The base table a table extends, loaded once for all that extend it
    (the -20 tables share iso20_CommonTypes: one Grammar, one copy)."""
    for g in _grammars.values():
        if g.base is not None and g.base.name == table:
            return g.base
    return Grammar(_source(table), table, _base)


def _source(table):
    """A table's bytes (or its open file), from where grammar() says."""
    global _frozen
    if _frozen is None:
        try:
            open(__file__).close()
            _frozen = False
        except OSError:
            _frozen = True
    source = _module(table) if _frozen else None
    if source is None:
        for d in SCHEMA_DIRS:
            try:
                f = open(d + "/" + table + ".exig", "rb")
            except OSError:
                continue
            if TABLES_IN_RAM:
                with f:
                    source = f.read()
            else:
                source = f      # stays open: records are read on demand
            break
    if source is None and not _frozen:
        source = _module(table)
    if source is None:
        raise ExiError("grammar table %s not frozen, nor %s.exig in %s" % (table, table, SCHEMA_DIRS))
    return source


def _values(capacity, max_length):
    # The V2G profile (capacity 0) keeps no string table at all (and does
    # not even import its code).
    if capacity == 0:
        return None
    from .strings import ValueTable
    return ValueTable(capacity, max_length)


def decode(schema, data, fragment=False, capacity=0, max_length=None):
    """EXI bytes -> {root element name: value}.

    capacity and max_length are the EXI options valuePartitionCapacity and
    valueMaxLength (None: unbounded); the defaults are the V2G profile's."""
    return Decoder(grammar(schema), _values(capacity, max_length)).decode(data, fragment)


def encode(schema, msg, fragment=False, capacity=0, max_length=None):
    """{root element name: value} -> EXI bytes (with the EXI header)."""
    return Encoder(grammar(schema), None, _values(capacity, max_length)).encode(msg, fragment)


def encode_into(buf, schema, msg, fragment=False):
    """Encode into a preallocated bytearray; returns the length written."""
    return Encoder(grammar(schema)).encode(msg, fragment, buf)
