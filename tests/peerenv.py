"""Peers that need their own environment, set up on first use.

pyslac 0.8.3 pins environs 9.5 (which breaks with marshmallow 4) and clashes
with python-iso15118's environs 14, so it gets its own venv under build/.
"""
import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
PYSLAC_VENV = REPO / "build" / "venv-slac"
PYSLAC_REQS = ["pyslac==0.8.3", "marshmallow<3.21"]


def pyslac_python():
    """The venv's python with pyslac importable; created when missing."""
    python = PYSLAC_VENV / "bin" / "python"
    ok = python.exists() and subprocess.run(
        [str(python), "-c", "import pyslac.session"], capture_output=True).returncode == 0
    if not ok:
        shutil.rmtree(PYSLAC_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(PYSLAC_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PYSLAC_REQS],
                       check=True, env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    return str(python)


def require_root():
    """Network namespaces, veths and TAPs need root; fail (not skip) without it."""
    if os.geteuid() != 0:
        raise AssertionError("this test creates network namespaces and needs root")


def require_tool(name, apt_package):
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} not found: apt-get install {apt_package}")
    return path
