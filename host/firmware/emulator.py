"""An emulated board to deploy to: MicroPython's qemu port (a board of kind
"emulated", boards/qemu-m3) under qemu-system-arm, its UART on a pty.

    elf = emulator.image(root, board, log)        # built when missing or stale
    with emulator.Emulator(elf, emulator.port_of(board).machine) as emu:
        emu.port                                  # /dev/pts/N: deploy, console
        ...                                       # qemu is killed on the way out

The image is stock MicroPython (none of our firmware frozen) with littlefs
and the board's RAM-disk driver (boards/<name>/manifest.py, port
board["port"] in host/firmware/ports.py).

qemu drops what the board prints while no one has the pty open (and notices
an opener only up to a second late), so Emulator keeps the pty open for as
long as the board runs, reading nothing after boot: output waits in the pty
until mpremote or `micro15118 console watch` reads it, as on a UART with
flow control.
"""
import os
import re
import select
import subprocess
import tempfile
import time

from host.firmware import build
from host.firmware.ports import PORTS

ROLE = "stock"      # the image's name: build/images/micropython-stock-<port>.elf
PTY = re.compile(rb"char device redirected to (/dev/pts/\d+)")


def port_of(board):
    name = board.get("port")
    if board.get("kind") != "emulated" or name not in PORTS or not PORTS[name].emulated:
        raise ValueError("board %s is no emulated board (kind \"emulated\" with a qemu \"port\")"
                         % board.get("name"))
    return PORTS[name]


def sources(root, board):
    """What the image is built from, ours: the board's folder and the port list."""
    d = os.path.join(root, "boards", board["name"])
    files = [os.path.join(dirpath, n) for dirpath, _, names in os.walk(d) for n in names
             if n != "board.json"]
    return files + [os.path.join(root, "host", "firmware", "ports.py")]


def image(root, board, log, jobs=2):
    """The emulated board's image, built first when missing or older than its sources."""
    port = port_of(board)
    missing = port.missing_tools()
    if missing:
        raise RuntimeError("the %s image needs Debian packages: apt-get install %s"
                           % (port.name, " ".join(missing)))
    manifest = os.path.join(root, "boards", board["name"], "manifest.py")
    return build.current_image(root, port, ROLE, manifest, sources(root, board), log, jobs)


class EmulatorError(RuntimeError):
    pass


class Emulator:
    def __init__(self, elf, machine, boot_timeout=30.0):
        self.elf = elf
        self.machine = machine
        self.boot_timeout = boot_timeout
        self.proc = None
        self.port = None
        self._fd = None
        self._log = None

    def command(self):
        return ["qemu-system-arm", "-machine", self.machine, "-nographic", "-monitor", "null",
                "-semihosting", "-serial", "pty", "-kernel", self.elf]

    def start(self):
        if not os.path.isfile(self.elf):
            raise FileNotFoundError("no image at %s" % self.elf)
        # qemu's own output to a file, not a pipe nobody drains
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + self.boot_timeout
            self.port = self._pty(deadline)
            self._fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            self._await_prompt(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _qemu_said(self):
        self._log.seek(0)
        return self._log.read()

    def _pty(self, deadline):
        while time.monotonic() < deadline:
            m = PTY.search(self._qemu_said())
            if m:
                return m.group(1).decode()
            if self.proc.poll() is not None:
                raise EmulatorError("qemu-system-arm exited (%d): %s"
                                    % (self.proc.returncode, self._qemu_said()[-400:].decode(errors="replace")))
            time.sleep(0.05)
        raise EmulatorError("qemu-system-arm named no pty in time")

    def _await_prompt(self, deadline):
        """The boot banner went out before the pty was open: ask for a prompt."""
        seen = b""
        next_ask = 0
        while b">>> " not in seen:
            now = time.monotonic()
            if now >= deadline:
                raise EmulatorError("the emulated board gave no REPL prompt; it said %r" % seen[-300:])
            if now >= next_ask:
                os.write(self._fd, b"\r")
                next_ask = now + 1.0
            r, _, _ = select.select([self._fd], [], [], 0.2)
            if r:
                try:
                    seen += os.read(self._fd, 1024)
                except BlockingIOError:
                    pass

    def stop(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
