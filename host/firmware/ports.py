"""The images we build: the MicroPython port, its make arguments, the tools
it needs, and where its image lands (build/images/ of the checkout).

unix32/unix64 are the unix port (ffi, ssl and btree left out: they need
submodules a release tarball lacks); qemu-m3/qemu-m7 are the qemu port's
MPS2_AN385 (Cortex-M3) and MPS2_AN500 (Cortex-M7) boards, which run under
qemu-system-arm.  qemu-m3-fs is the emulated board `micro15118 deploy` copies
files to (boards/qemu-m3): the same Cortex-M3 with littlefs (vfs.VfsLfs2, on a
RAM disk its manifest freezes) and a 1 MiB heap, since modules loaded from
files live in the heap, where frozen ones stay in flash.
"""
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

_UNIX_ARGS = ("MICROPY_PY_FFI=0", "MICROPY_PY_SSL=0", "MICROPY_PY_BTREE=0")


@dataclass(frozen=True)
class Port:
    name: str                   # as on the command line
    directory: str              # in the MicroPython tree
    make_args: tuple = ()
    board: str = None           # the qemu port's BOARD
    machine: str = None         # qemu-system-arm -machine
    c_modules: str = None       # USER_C_MODULES: a folder of the checkout

    def checkout_make_args(self, root):
        """make arguments naming files of the checkout at root."""
        if self.c_modules is None:
            return []
        return ["USER_C_MODULES=" + os.path.join(root, self.c_modules)]

    @property
    def emulated(self):
        return self.machine is not None

    def build_dir(self, role):
        """Relative to the port's directory: one per role and port, kept for the next build."""
        return "build-%s-%s" % (role, self.name)

    def built(self, tree, role):
        name = "firmware.elf" if self.emulated else "micropython"
        return os.path.join(tree, self.directory, self.build_dir(role), name)

    def image(self, root, role):
        suffix = ".elf" if self.emulated else ""
        return os.path.join(root, "build", "images", "micropython-%s-%s%s" % (role, self.name, suffix))

    def size_tool(self):
        return "arm-none-eabi-size" if self.emulated else "size"

    def missing_tools(self):
        """What the build lacks on this machine, as Debian packages to install ([] when nothing)."""
        if self.emulated:
            need = []
            if not shutil.which("arm-none-eabi-gcc"):
                need += ["gcc-arm-none-eabi", "binutils-arm-none-eabi"]
            elif not _has_newlib():
                need += ["libnewlib-arm-none-eabi"]
            return need
        if self.name == "unix32" and not _cc_links("-m32"):
            return ["gcc-multilib"]
        if not _cc_links():
            return ["gcc"]
        return []


PORTS = {
    "unix32": Port("unix32", os.path.join("ports", "unix"),
                   _UNIX_ARGS + ("CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32")),
    "unix64": Port("unix64", os.path.join("ports", "unix"), _UNIX_ARGS),
    "qemu-m3": Port("qemu-m3", os.path.join("ports", "qemu"), ("BOARD=MPS2_AN385",),
                    board="MPS2_AN385", machine="mps2-an385"),
    "qemu-m3-fs": Port("qemu-m3-fs", os.path.join("ports", "qemu"),
                       ("BOARD=MPS2_AN385", "MICROPY_VFS_LFS2=1", "MICROPY_HEAP_SIZE=1048576"),
                       board="MPS2_AN385", machine="mps2-an385",
                       c_modules=os.path.join("boards", "qemu-m3", "cmodules")),
    "qemu-m7": Port("qemu-m7", os.path.join("ports", "qemu"), ("BOARD=MPS2_AN500",),
                    board="MPS2_AN500", machine="mps2-an500"),
}


def _cc_links(*flags):
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "t.c")
        with open(c, "w") as f:
            f.write("int main(void) { return 0; }\n")
        try:
            r = subprocess.run(["cc", *flags, c, "-o", os.path.join(d, "t")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            return False
        return r.returncode == 0


def _has_newlib():
    # gcc echoes the bare name back when it finds no such file
    out = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=libc.a"],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    return os.path.isabs(out) and os.path.isfile(out)
