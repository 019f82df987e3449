"""The committed grammar tables (schemas/*.exig and their modules in
firmware/micro15118/grammars/) are exactly what the generator makes from the XSDs."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(REPO, "tools", "gen_grammars.py")
SCHEMAS = os.path.join(REPO, "schemas")
MODULES = os.path.join(REPO, "firmware", "micro15118", "grammars")


def test_regenerating_the_tables_changes_nothing():
    proc = subprocess.run([sys.executable, GEN, "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_sees_a_changed_module(tmp_path):
    # --check covers the modules, not only the .exig files
    out = tmp_path / "t"
    subprocess.run([sys.executable, GEN, "--out", str(out)], check=True, capture_output=True)
    mod = out / "grammars" / "iso20_DC.py"
    mod.write_text(mod.read_text().replace("TABLE = (", "TABLE = (\n    b\"\"", 1))
    proc = subprocess.run([sys.executable, GEN, "--out", str(out), "--check"], capture_output=True, text=True)
    assert proc.returncode == 1 and "grammars/iso20_DC.py" in proc.stderr, proc.stderr


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith((".exig", ".py")):
                full = os.path.join(dirpath, n)
                out[os.path.relpath(full, root)] = full
    return out


def test_generator_output_is_deterministic(tmp_path):
    for out in (tmp_path / "a", tmp_path / "b"):
        subprocess.run([sys.executable, GEN, "--out", str(out)], check=True, capture_output=True)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(a) == sorted(b) and len(a) == 2 * len(os.listdir(SCHEMAS)) + 1
    for name in a:
        assert open(a[name], "rb").read() == open(b[name], "rb").read(), name


def test_each_module_holds_the_bytes_of_its_exig():
    # the module a board freezes and the file a file system holds are one table
    import micro15118.grammars as grammars
    names = sorted(n[:-5] for n in os.listdir(SCHEMAS) if n.endswith(".exig"))
    assert sorted(n[:-3] for n in os.listdir(MODULES) if n.endswith(".py") and n != "__init__.py") == names
    for name in names:
        with open(os.path.join(SCHEMAS, name + ".exig"), "rb") as f:
            assert grammars.load(name) == f.read(), name


def _gen_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_grammars", GEN)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, REPO)    # the generator imports host.harness
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(REPO)
    return mod


def _header(blob):
    """(stamp, base stamp, base table name) of a table."""
    import struct
    stamp, base_stamp = struct.unpack_from("<HH", blob, 4)
    n = blob[26]
    return stamp, base_stamp, blob[27:27 + n].decode()


def test_the_iso20_tables_extend_one_base():
    gen = _gen_module()
    tables = {}
    for name in os.listdir(SCHEMAS):
        with open(os.path.join(SCHEMAS, name), "rb") as f:
            tables[name[:-5]] = f.read()
    for name, _, base in gen.SCHEMA_SETS:
        stamp, base_stamp, base_name = _header(tables[name])
        assert base_name == (base or ""), name
        if base:
            assert base_stamp == _header(tables[base])[0] == gen.stamp(tables[base]), name
    assert {b for _, _, b in gen.SCHEMA_SETS if b} == set(gen.BASES)
    # every board table's base is frozen with it
    assert set(gen.BASES) <= set(gen.BOARD_TABLES)


BASE_XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:b="urn:b"
  targetNamespace="urn:b" elementFormDefault="qualified">
  <xs:complexType name="HeadType"/>
  <xs:element name="Head" type="b:HeadType" abstract="true"/>
  <xs:complexType name="BoxType"><xs:sequence><xs:element ref="b:Head"/></xs:sequence></xs:complexType>
  <xs:element name="Box" type="b:BoxType"/>
</xs:schema>
"""

USER_XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:b="urn:b" xmlns:u="urn:%(ns)s"
  targetNamespace="urn:%(ns)s" elementFormDefault="qualified">
  <xs:import namespace="urn:b" schemaLocation="base.xsd"/>
  <xs:element name="Root" type="b:BoxType"/>
  %(extra)s
</xs:schema>
"""


def test_a_base_that_depends_on_the_importing_schema_is_refused(tmp_path):
    # A substitution group member added by one importer changes the base's
    # BoxType grammar: that table cannot share the base and the generator says so.
    from host.harness.xsd_model import SchemaError, SchemaSet
    gen = _gen_module()
    (tmp_path / "base.xsd").write_text(BASE_XSD)
    (tmp_path / "a.xsd").write_text(USER_XSD % {"ns": "a", "extra": ""})
    (tmp_path / "b.xsd").write_text(USER_XSD % {"ns": "b2", "extra": ""})
    (tmp_path / "c.xsd").write_text(USER_XSD % {
        "ns": "c", "extra": '<xs:element name="Mine" type="b:HeadType" substitutionGroup="b:Head"/>'})
    ns = set(SchemaSet(str(tmp_path / "base.xsd")).namespaces)
    derived = {name: gen.generate(str(tmp_path), name + ".xsd", ns, "base")[2] for name in "abc"}
    assert gen.agree("base", {k: derived[k] for k in "ab"}) == derived["a"]
    try:
        gen.agree("base", derived)
    except SchemaError as e:
        assert "c derives it differently from a" in str(e), str(e)
    else:
        assert False, "no SchemaError"
