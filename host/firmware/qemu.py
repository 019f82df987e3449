"""Run a script on a Cortex-M image under qemu-system-arm and return what it printed.

    from host.firmware import qemu
    result = qemu.run(elf, "import micro15118.exi\\nprint('ok')", machine="mps2-an385")
    result.output, result.error     # stdout, and the traceback ("" when none)

The image's REPL is on the emulated UART, wired to qemu's stdin/stdout.  The
script goes through the raw REPL (Ctrl-A, code, Ctrl-D; the board answers
"OK", the output, Ctrl-D, the exception text, Ctrl-D).  Every wait has a
deadline, and qemu is killed however the run ends.
"""
import os
import select
import subprocess
import time
from dataclasses import dataclass

RAW_REPL = b"raw REPL; CTRL-B to exit\r\n>"
CHUNK = 256     # at most PIPE_BUF: a write select() allows never blocks


class QemuError(RuntimeError):
    """The image did not boot, or did not answer in time."""


@dataclass
class Result:
    output: str     # what the script printed
    error: str      # the traceback it ended with, "" when it ran through

    @property
    def ok(self):
        return not self.error


def command(elf, machine, extra=()):
    return ["qemu-system-arm", "-machine", machine, "-nographic", "-monitor", "null",
            "-semihosting", "-serial", "stdio", "-kernel", elf] + list(extra)


class _Console:
    """The UART: bytes in through qemu's stdin, out through its stdout."""

    def __init__(self, proc, deadline):
        self.proc = proc
        self.deadline = deadline
        self.seen = b""

    def _wait(self, write=False):
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        r, w, _ = select.select([self.proc.stdout], [self.proc.stdin] if write else [], [], left)
        return r, w

    def _read_some(self, ready):
        if self.proc.stdout in ready:
            data = os.read(self.proc.stdout.fileno(), 4096)
            if not data:
                raise QemuError("qemu exited (status %s)" % self.proc.wait())
            self.seen += data

    def write(self, data, what):
        # Read while writing: qemu must not stall on a full stdout pipe.
        while data:
            ready = self._wait(write=True)
            if ready is None:
                self._timeout(what)
            self._read_some(ready[0])
            if ready[1]:
                n = os.write(self.proc.stdin.fileno(), data[:CHUNK])
                data = data[n:]

    def read_until(self, marker, what):
        """The bytes before marker; the marker is consumed."""
        while marker not in self.seen:
            ready = self._wait()
            if ready is None:
                self._timeout(what)
            self._read_some(ready[0])
        before, self.seen = self.seen.split(marker, 1)
        return before

    def _timeout(self, what):
        tail = self.seen[-400:].decode("utf-8", "replace")
        raise QemuError("no %s from the image in time; last output: %r" % (what, tail))


def _text(data):
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


def run(elf, code, machine="mps2-an385", timeout=60.0, extra=()):
    """Boot elf, run code on its raw REPL, return its Result; QemuError when
    the image does not boot or answer within timeout seconds.  extra: more
    qemu options (e.g. "-icount", "shift=0": one instruction per emulated ns)."""
    if not os.path.isfile(elf):
        raise FileNotFoundError("no image at %s" % elf)
    proc = subprocess.Popen(command(elf, machine, extra), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        console = _Console(proc, time.monotonic() + timeout)
        console.read_until(b">>> ", "REPL prompt")
        console.write(b"\r\x01", "raw REPL")
        console.read_until(RAW_REPL, "raw REPL")
        console.write(code.encode() + b"\x04", "script upload")
        console.read_until(b"OK", "script start")
        output = console.read_until(b"\x04", "script end")
        error = console.read_until(b"\x04", "error text")
        return Result(_text(output), _text(error))
    finally:
        proc.kill()
        proc.wait()
