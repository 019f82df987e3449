"""The MicroPython v1.28.0 source tree (the version of the unix-port wheel
the tests run on).  It comes from, in this order:

- ``--micropython DIR`` or ``$MICROPYTHON_SRC``: a source tree, used where it is;
- ``$MICROPYTHON_TARBALL``: a source tarball (.tar.gz/.tar.xz);
- ``micropython-1.28.0-trimmed.tar.gz`` in ``$MICROPYTHON_SHARED``, or in
  ``shared/micropython/`` beside the checkout when that exists;
- the upstream release tarball, downloaded once.

A tarball is unpacked once into the cache, ``build/micropython/`` of the
checkout (or ``$MICRO15118_BUILD_CACHE``); the ports build inside that tree,
so a second build only recompiles what changed.
"""
import os
import shutil
import tarfile
import tempfile
import urllib.request

VERSION = "1.28.0"
UPSTREAM = ("https://github.com/micropython/micropython/releases/download/"
            "v%s/micropython-%s.tar.xz" % (VERSION, VERSION))
TRIMMED = "micropython-%s-trimmed.tar.gz" % VERSION


def cache_dir(root):
    return os.environ.get("MICRO15118_BUILD_CACHE") or os.path.join(root, "build", "micropython")


def is_source_tree(path):
    return os.path.isfile(os.path.join(path, "py", "mpconfig.h"))


def local_tarball(root):
    if os.environ.get("MICROPYTHON_TARBALL"):
        return os.environ["MICROPYTHON_TARBALL"]
    shared = os.environ.get("MICROPYTHON_SHARED") or os.path.join(
        os.path.dirname(root), "shared", "micropython")
    path = os.path.join(shared, TRIMMED)
    return path if os.path.isfile(path) else None


def _unpack(tarball, dest, log):
    log("unpacking", tarball)
    tmp = tempfile.mkdtemp(dir=dest)
    with tarfile.open(tarball) as t:
        if hasattr(tarfile, "data_filter"):
            t.extractall(tmp, filter="data")
        else:
            t.extractall(tmp)
    (top,) = os.listdir(tmp)    # micropython-<version>/
    return os.path.join(tmp, top)


class SourceUnavailable(RuntimeError):
    """No MicroPython source on this machine, and the upstream release could
    not be fetched (no network to it)."""


def _download(tarball, log):
    log("downloading", UPSTREAM)
    try:
        urllib.request.urlretrieve(UPSTREAM, tarball + ".part")
    except OSError as e:        # URLError is an OSError
        raise SourceUnavailable(
            "no MicroPython %s source here and %s could not be fetched (%s): give a source "
            "tree (--micropython DIR or $MICROPYTHON_SRC) or a tarball ($MICROPYTHON_TARBALL)"
            % (VERSION, UPSTREAM, e))
    os.replace(tarball + ".part", tarball)


def prepare(tree):
    """The freeze step insists on lib/micropython-lib/README.md even when
    nothing from micropython-lib is frozen (a release tarball has no such
    submodule): an empty one will do."""
    readme = os.path.join(tree, "lib", "micropython-lib", "README.md")
    if not os.path.exists(readme):
        os.makedirs(os.path.dirname(readme), exist_ok=True)
        open(readme, "w").close()
    return tree


def source_tree(root, given=None, log=print):
    """The path of a MicroPython source tree, unpacked or downloaded if need be."""
    src = given or os.environ.get("MICROPYTHON_SRC")
    if src:
        if not is_source_tree(src):
            raise RuntimeError("%s is no MicroPython source tree (no py/mpconfig.h)" % src)
        return prepare(os.path.abspath(src))
    cache = cache_dir(root)
    os.makedirs(cache, exist_ok=True)
    tarball = local_tarball(root)
    name = os.path.basename(tarball) if tarball else "micropython-%s.tar.xz" % VERSION
    tree = os.path.join(cache, name.split(".tar")[0])
    if is_source_tree(tree):
        return prepare(tree)
    if not tarball:
        tarball = os.path.join(cache, name)
        if not os.path.isfile(tarball):
            _download(tarball, log)
    top = _unpack(tarball, cache, log)
    os.replace(top, tree)
    shutil.rmtree(os.path.dirname(top))
    return prepare(tree)
