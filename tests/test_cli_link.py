"""`micro15118 link`: the simulated plug-in to V2GTP run, as a user runs it."""
import subprocess
import sys

from host.capture.pcap import read_pcap


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "host.cli", "link", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_link_runs_a_session_under_micropython_and_writes_a_pcap(tmp_path):
    pcap = tmp_path / "wire.pcap"
    proc = run("--count", "5", "--size", "300", "--pcap", str(pcap))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for step in ("cable plugged in", "slac_matched", "secc", "connected", "RESULT ok messages=5"):
        assert step in out, (step, out)
    assert out.rstrip().splitlines()[-1].startswith("micro15118: link ok:")
    assert len(read_pcap(str(pcap))) > 20


def test_link_under_cpython_on_a_lossy_wire():
    proc = run("--runtime", "cpython", "--count", "30", "--loss", "0.05")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lost 0)" not in proc.stdout.splitlines()[-1]


def test_link_failure_is_one_line_and_exit_1():
    proc = run("--count", "100000", "--timeout", "1")
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("micro15118: error: vehicle: no 'RESULT'"), proc.stderr


def test_link_rejects_bad_arguments():
    assert run("--count", "0").returncode == 1
    assert run("--runtime", "java").returncode == 2
