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
