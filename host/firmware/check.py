"""What a fresh image must do, on the port it was built for.

- the role's app imports from the frozen modules alone (unix: MICROPYPATH=.frozen
  from an empty directory; qemu: the port has no file system);
- micro15118.sim does not import: the simulation is no board's;
- charger and vehicle: an EXI round trip with the frozen codec and its
  frozen grammar tables (no schemas/ on any file system it sees).
"""
import os
import subprocess
import tempfile

from host.firmware import qemu

APPS = {"charger": "micro15118.secc_main", "vehicle": "micro15118.evcc_main",
        "link": "micro15118.link_main"}

ROUND_TRIP = """
from micro15118 import exi
m = {"supportedAppProtocolReq": {"AppProtocol": [{
    "ProtocolNamespace": "urn:iso:std:iso:15118:-20:DC", "VersionNumberMajor": 1,
    "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}]}}
data = exi.encode("appProtocol", m)
assert exi.decode("appProtocol", data) == m
print(len(data), "bytes")
"""
SIM_REFUSED = "ImportError: no module named 'micro15118.sim'"


def run_unix(image, code, timeout=60):
    """(ok, output) of code on a unix image that sees only its frozen modules."""
    env = dict(os.environ, MICROPYPATH=".frozen")
    with tempfile.TemporaryDirectory() as empty:
        r = subprocess.run([image, "-c", code], cwd=empty, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return r.returncode == 0, r.stdout


def run_on(port, image, code):
    """(ok, output and traceback) of code on the image of port."""
    if port.emulated:
        r = qemu.run(image, code, machine=port.machine)
        return r.ok, r.output + r.error
    return run_unix(os.path.abspath(image), code)


def check(port, image, role, log):
    """Log one line per check; True when all pass."""
    app = APPS[role]
    ok, out = run_on(port, image, "import %s\nprint(%s.__name__)" % (app, app))
    log("import %s (frozen only): %s" % (app, "OK" if ok else "FAILED"), out.strip())
    passed = ok
    ok, out = run_on(port, image, "import micro15118\nimport micro15118.sim")
    refused = not ok and SIM_REFUSED in out
    log("import micro15118.sim: %s" % ("ImportError, as it should" if refused else "NOT REFUSED"),
        out.strip().splitlines()[-1:])
    passed &= refused
    if role in ("charger", "vehicle"):
        ok, out = run_on(port, image, ROUND_TRIP)
        log("EXI round trip with the frozen codec: %s" % ("OK" if ok else "FAILED"),
            out.strip().splitlines()[-1:])
        passed &= ok
    return passed
