"""The committed grammar tables are exactly what the generator makes from the XSDs."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_regenerating_the_tables_changes_nothing():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_grammars.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generator_output_is_deterministic(tmp_path):
    for out in (tmp_path / "a", tmp_path / "b"):
        subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_grammars.py"), "--out", str(out)],
                       check=True, capture_output=True)
    for name in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
