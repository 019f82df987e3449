"""Build a MicroPython image with one role's manifest frozen
(boards/manifests/<role>.py), check it, print its size.

    python tools/build_image.py charger|vehicle|link [--micropython DIR]
        [--bits 32|64] [--bare] [--manifest FILE] [--jobs N] [--no-check]

The MicroPython source (v1.28.0, the version of the unix-port wheel the
tests run on) comes from, in this order:
  --micropython DIR or $MICROPYTHON_SRC    a source tree (kept as it is, but
                                           for an empty lib/micropython-lib/README.md
                                           the freeze step insists on);
  $MICROPYTHON_TARBALL                     a source tarball (.tar.gz/.tar.xz);
  micropython-1.28.0-trimmed.tar.gz        in $MICROPYTHON_SHARED, or in
                                           shared/micropython/ beside the checkout;
  the upstream release tarball             downloaded once.
A tarball is unpacked into build/micropython/ (or $MICRO15118_BUILD_CACHE).

Builds mpy-cross, then the unix port with FROZEN_MANIFEST: 32-bit (needs
gcc-multilib) when the compiler can link -m32, else 64-bit; ffi, ssl and
btree are left out (they need submodules a release tarball lacks).  The
image lands in build/images/micropython-<role>-unix<bits>.

The check runs the image with MICROPYPATH=.frozen from an empty directory,
so only frozen modules can import: the role's app must import,
micro15118.sim must not.  --bare also builds the port with an empty manifest
and prints what the frozen code adds.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFESTS = os.path.join(REPO, "boards", "manifests")
VERSION = "1.28.0"
UPSTREAM = ("https://github.com/micropython/micropython/releases/download/"
            "v%s/micropython-%s.tar.xz" % (VERSION, VERSION))
TRIMMED = "micropython-%s-trimmed.tar.gz" % VERSION
APPS = {"charger": "micro15118.secc_main", "vehicle": "micro15118.evcc_main",
        "link": "micro15118.link_main"}


def log(*a):
    print("build_image:", *a, flush=True)


def cache_dir():
    return os.environ.get("MICRO15118_BUILD_CACHE") or os.path.join(REPO, "build", "micropython")


def local_tarball():
    if os.environ.get("MICROPYTHON_TARBALL"):
        return os.environ["MICROPYTHON_TARBALL"]
    shared = os.environ.get("MICROPYTHON_SHARED") or os.path.join(
        os.path.dirname(REPO), "shared", "micropython")
    path = os.path.join(shared, TRIMMED)
    return path if os.path.isfile(path) else None


def unpack(tarball, dest):
    log("unpacking", tarball)
    tmp = tempfile.mkdtemp(dir=dest)
    with tarfile.open(tarball) as t:
        t.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(tmp)
    (top,) = os.listdir(tmp)    # micropython-<version>/
    return os.path.join(tmp, top)


def source_tree(arg):
    src = arg or os.environ.get("MICROPYTHON_SRC")
    if src:
        if not os.path.isfile(os.path.join(src, "py", "mpconfig.h")):
            sys.exit("build_image: %s is no MicroPython source tree" % src)
        return os.path.abspath(src)
    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    tarball = local_tarball()
    name = os.path.basename(tarball) if tarball else "micropython-%s.tar.xz" % VERSION
    tree = os.path.join(cache, name.split(".tar")[0])
    if os.path.isfile(os.path.join(tree, "py", "mpconfig.h")):
        return tree
    if not tarball:
        tarball = os.path.join(cache, name)
        if not os.path.isfile(tarball):
            log("downloading", UPSTREAM)
            urllib.request.urlretrieve(UPSTREAM, tarball + ".part")
            os.replace(tarball + ".part", tarball)
    top = unpack(tarball, cache)
    os.replace(top, tree)
    shutil.rmtree(os.path.dirname(top))
    return tree


def can_link_m32():
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "t.c")
        with open(c, "w") as f:
            f.write("int main(void) { return 0; }\n")
        r = subprocess.run(["cc", "-m32", c, "-o", os.path.join(d, "t")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0


def make(args, jobs):
    cmd = ["make", "-j%d" % jobs] + args
    log(" ".join(cmd))
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        sys.stdout.write(r.stdout[-6000:])
        sys.exit("build_image: make failed (%d)" % r.returncode)
    return time.monotonic() - t


def build_unix(tree, manifest, build, bits, jobs):
    args = ["-C", os.path.join(tree, "ports", "unix"), "BUILD=" + build,
            "MICROPY_PY_FFI=0", "MICROPY_PY_SSL=0", "MICROPY_PY_BTREE=0",
            "FROZEN_MANIFEST=" + manifest]
    if bits == 32:
        args += ["CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32"]
    secs = make(args, jobs)
    return os.path.join(tree, "ports", "unix", build, "micropython"), secs


def size(binary):
    """(text, data, bss) of an ELF."""
    out = subprocess.run(["size", binary], stdout=subprocess.PIPE, text=True,
                         check=True).stdout.splitlines()[1].split()
    return int(out[0]), int(out[1]), int(out[2])


def run_frozen(binary, code, cwd):
    # MICROPYPATH=.frozen: the frozen modules and nothing else.
    env = dict(os.environ, MICROPYPATH=".frozen")
    return subprocess.run([binary, "-c", code], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)


def check(binary, role):
    """The role's app imports from the frozen modules; the simulation is
    not in the image."""
    app = APPS[role]
    ok = True
    with tempfile.TemporaryDirectory() as empty:
        r = run_frozen(binary, "import %s; print(%s.__file__)" % (app, app), empty)
        log("import %s (frozen only): %s" % (app, "OK" if r.returncode == 0 else "FAILED"),
            r.stdout.strip())
        ok &= r.returncode == 0
        r = run_frozen(binary, "import micro15118\nimport micro15118.sim", empty)
        refused = r.returncode != 0 and "ImportError: no module named 'micro15118.sim'" in r.stdout
        log("import micro15118.sim: %s" % ("ImportError, as it should" if refused else
                                             "NOT REFUSED"), r.stdout.strip().splitlines()[-1:])
        ok &= refused
        if role in ("charger", "vehicle"):
            # The grammar tables are files, not frozen: the frozen codec reads
            # them from a directory (on a board /schemas), here the checkout's.
            r = run_frozen(binary, ROUND_TRIP % os.path.join(REPO, "schemas"), empty)
            log("EXI round trip, frozen codec, tables from the file system: %s"
                % ("OK" if r.returncode == 0 else "FAILED"), r.stdout.strip())
            ok &= r.returncode == 0
    return ok


ROUND_TRIP = """
from micro15118 import exi
print("codec looks in", exi.SCHEMA_DIRS)
exi.SCHEMA_DIRS.insert(0, %r)
m = {"supportedAppProtocolReq": {"AppProtocol": [{
    "ProtocolNamespace": "urn:iso:std:iso:15118:-20:DC", "VersionNumberMajor": 1,
    "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}]}}
data = exi.encode("appProtocol", m)
assert exi.decode("appProtocol", data) == m
print(len(data), "bytes")
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("role", choices=sorted(APPS))
    ap.add_argument("--micropython", help="MicroPython source tree (default $MICROPYTHON_SRC)")
    ap.add_argument("--bits", type=int, choices=(32, 64),
                    help="unix port word size (default 32 when cc -m32 links)")
    ap.add_argument("--bare", action="store_true",
                    help="also build with nothing frozen, to size what the manifest adds")
    ap.add_argument("--manifest", help="freeze this manifest instead of boards/manifests/<role>.py "
                    "(a board's own, which may include ours); the check still imports the role's app")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()

    manifest = os.path.abspath(args.manifest or os.path.join(MANIFESTS, args.role + ".py"))
    tree = source_tree(args.micropython)
    log("MicroPython source:", tree)
    # the freeze step insists on it even when nothing from micropython-lib is frozen
    readme = os.path.join(tree, "lib", "micropython-lib", "README.md")
    if not os.path.exists(readme):
        os.makedirs(os.path.dirname(readme), exist_ok=True)
        open(readme, "w").close()
    bits = args.bits or (32 if can_link_m32() else 64)
    if bits == 32 and not can_link_m32():
        sys.exit("build_image: cc cannot link -m32 (Debian: apt-get install gcc-multilib)")
    if not args.bits and bits == 64:
        log("cc cannot link -m32 (gcc-multilib missing): building 64-bit")

    secs = make(["-C", os.path.join(tree, "mpy-cross")], args.jobs)
    log("mpy-cross: %.0f s" % secs)
    binary, secs = build_unix(tree, manifest, "build-%s-%d" % (args.role, bits), bits, args.jobs)
    log("unix port, %d-bit, %s frozen: %.0f s" % (bits, os.path.relpath(manifest, REPO), secs))
    out = os.path.join(REPO, "build", "images", "micropython-%s-unix%d" % (args.role, bits))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copy2(binary, out)

    text, data, bss = size(out)
    log("image %s: file %d bytes; text %d, data %d, bss %d"
        % (os.path.relpath(out, REPO), os.path.getsize(out), text, data, bss))
    if args.bare:
        with tempfile.TemporaryDirectory() as d:
            empty = os.path.join(d, "empty_manifest.py")
            open(empty, "w").close()
            bare, _ = build_unix(tree, empty, "build-bare-%d" % bits, bits, args.jobs)
            btext, bdata, _ = size(bare)
        log("bare image (nothing frozen): text %d, data %d; the manifest adds text %d, data %d"
            % (btext, bdata, text - btext, data - bdata))
    if not args.no_check and not check(out, args.role):
        sys.exit("build_image: the image failed its check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
