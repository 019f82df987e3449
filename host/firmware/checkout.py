"""The checkout an image is built from.

The manifests (boards/manifests/) freeze files of firmware/ by paths relative
to themselves, so a build needs the repository's tree, not only an installed
micro15118 package (a non-editable install carries no manifests).  The
checkout is the current directory or one above it, else the one the imported
micro15118 package lives in (an editable install).
"""
import os

MANIFESTS = os.path.join("boards", "manifests")


def is_checkout(path):
    return (os.path.isfile(os.path.join(path, MANIFESTS, "core.py"))
            and os.path.isfile(os.path.join(path, "firmware", "micro15118", "__init__.py")))


def _upwards(path):
    path = os.path.abspath(path)
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def find_checkout(start=None):
    """The checkout's root; RuntimeError naming what is missing when there is none."""
    for path in _upwards(start or os.getcwd()):
        if is_checkout(path):
            return path
    import micro15118
    package = os.path.dirname(os.path.abspath(micro15118.__file__))
    root = os.path.dirname(os.path.dirname(package))     # firmware/micro15118 -> root
    if is_checkout(root):
        return root
    raise RuntimeError(
        "building an image needs a checkout of the micro15118 repository (%s/ and "
        "firmware/micro15118/); run the command inside one (the installed package at %s "
        "has no manifests)" % (MANIFESTS, package))


def manifest(root, role):
    return os.path.join(root, MANIFESTS, role + ".py")
