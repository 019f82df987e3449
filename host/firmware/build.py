"""Build one image: mpy-cross, then a port with a manifest frozen, copied to
build/images/ of the checkout with its size.

Each (role, port) keeps its own build directory inside the MicroPython tree
(ports/<port>/build-<role>-<port>), so a rebuild compiles only what changed:
the frozen modules when the firmware changed, nothing else.
"""
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass


class BuildError(RuntimeError):
    pass


@dataclass
class Image:
    path: str
    text: int
    data: int
    bss: int
    seconds: float          # the port's make, mpy-cross not counted

    @property
    def flash(self):
        """Bytes a board keeps in flash: code and read-only data plus the initial data."""
        return self.text + self.data


def make(args, jobs, log):
    """Run make; its time in seconds.  BuildError with the output's tail on failure."""
    cmd = ["make", "-j%d" % jobs] + list(args)
    log(" ".join(cmd))
    start = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        raise BuildError("make failed (%d):\n%s" % (r.returncode, r.stdout[-6000:]))
    return time.monotonic() - start


def mpy_cross(tree, jobs, log):
    return make(["-C", os.path.join(tree, "mpy-cross")], jobs, log)


def size(tool, binary):
    """(text, data, bss) of an ELF."""
    line = subprocess.run([tool, binary], stdout=subprocess.PIPE, text=True,
                          check=True).stdout.splitlines()[1].split()
    return int(line[0]), int(line[1]), int(line[2])


def build_port(tree, port, manifest, build_dir, jobs, log, root=None):
    """Make the port with manifest frozen; the path of what it built and the seconds it took.
    root: the checkout, for a port that builds files of it (Port.c_modules)."""
    args = ["-C", os.path.join(tree, port.directory), "BUILD=" + build_dir,
            "FROZEN_MANIFEST=" + os.path.abspath(manifest)] + list(port.make_args)
    if port.c_modules:
        from host.firmware import checkout
        args += port.checkout_make_args(root or checkout.find_checkout())
    # MicroPython's makemanifest regenerates the frozen code only when a frozen
    # file is newer than it: a file dropped from a manifest would stay frozen
    frozen = os.path.join(tree, port.directory, build_dir, "frozen_content.c")
    if os.path.exists(frozen):
        os.remove(frozen)
    seconds = make(args, jobs, log)
    name = "firmware.elf" if port.emulated else "micropython"
    return os.path.join(tree, port.directory, build_dir, name), seconds


def build_image(tree, port, manifest, role, root, jobs, log):
    """The role's image of port, built and copied to build/images/."""
    built, seconds = build_port(tree, port, manifest, port.build_dir(role), jobs, log, root)
    out = port.image(root, role)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # dated now: the image is as new as its build.  Copied beside and renamed
    # over, so that a process still running the old image keeps its file
    # (writing into a running executable fails with ETXTBSY).
    shutil.copy(built, out + ".new")
    os.replace(out + ".new", out)
    return Image(out, *size(port.size_tool(), out), seconds)


def build_bare(tree, port, jobs, log):
    """The port with nothing frozen, to size what a manifest adds: (text, data, bss)."""
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty_manifest.py")
        open(empty, "w").close()
        built, _ = build_port(tree, port, empty, "build-bare-%s" % port.name, jobs, log)
        return size(port.size_tool(), built)


def newest_mtime(paths, skip=()):
    """The newest modification time of the .py files under paths (files or folders)."""
    newest = 0.0
    for path in paths:
        files = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, _, names in os.walk(path) for f in names if f.endswith(".py")]
        for f in files:
            if not any(os.path.commonpath([f, s]) == s for s in skip):
                newest = max(newest, os.path.getmtime(f))
    return newest


def current_image(root, port, role, manifest, sources, log, jobs=2):
    """The image of (port, role) with manifest frozen, built first when it is
    missing or older than any .py under sources."""
    from host.firmware import source         # the MicroPython tree, only when building
    path = port.image(root, role)
    if os.path.isfile(path) and os.path.getmtime(path) >= newest_mtime(sources + [manifest]):
        return path
    tree = source.source_tree(root, None, log)
    mpy_cross(tree, jobs, log)
    return build_image(tree, port, manifest, role, root, jobs, log).path
