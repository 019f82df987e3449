"""``micro15118 firmware build``: a MicroPython image with one role's app frozen."""
import os
import shutil

from host.cli.common import PROG, _usage

ROLES = ("charger", "vehicle", "link")


def _log(*parts):
    print(PROG + " firmware:", *parts, flush=True)


def _kb(n):
    return "%.1f KB" % (n / 1000)


def firmware_build(args):
    """Build, size and (unless --no-check) check each asked role's image; 1 when a check fails."""
    from host.firmware import build, check, checkout, source
    from host.firmware.ports import PORTS

    port = PORTS[args.port]
    roles = ROLES if args.role == "all" else (args.role,)
    if args.manifest and len(roles) > 1:
        raise ValueError("--manifest freezes one manifest: give one --role with it")
    missing = port.missing_tools()
    if missing:
        raise RuntimeError("the %s build needs Debian packages: apt-get install %s"
                           % (port.name, " ".join(missing)))
    if port.emulated and not args.no_check and not shutil.which("qemu-system-arm"):
        raise RuntimeError("checking a %s image needs qemu-system-arm (apt-get install "
                           "qemu-system-arm); --no-check builds without" % port.name)
    root = checkout.find_checkout()
    tree = source.source_tree(root, args.micropython, _log)
    _log("MicroPython source:", tree)
    _log("mpy-cross: %.0f s" % build.mpy_cross(tree, args.jobs, _log))
    failed = []
    for role in roles:
        manifest = os.path.abspath(args.manifest or checkout.manifest(root, role))
        image = build.build_image(tree, port, manifest, role, root, args.jobs, _log)
        _log("%s %s, %s frozen: %.0f s" % (port.name, role, os.path.relpath(manifest), image.seconds))
        _log("image %s: text %d, data %d, bss %d; %s %s"
             % (os.path.relpath(image.path), image.text, image.data, image.bss,
                "flash" if port.emulated else "file",
                _kb(image.flash if port.emulated else os.path.getsize(image.path))))
        if args.bare:
            text, data, _ = build.build_bare(tree, port, args.jobs, _log)
            _log("bare %s (nothing frozen): text %d, data %d; the manifest adds %s"
                 % (port.name, text, data, _kb(image.flash - text - data)))
        if not args.no_check and not check.check(port, image.path, role, _log):
            failed.append(role)
    if failed:
        raise RuntimeError("the %s image of %s failed its check" % (port.name, ", ".join(failed)))
    return 0


def add_firmware(subparsers):
    p = subparsers.add_parser(
        "firmware", help="build MicroPython images with the firmware frozen",
        description="MicroPython images with a role's app frozen (boards/manifests/); needs a "
                    "checkout of the repository.")
    p.set_defaults(func=lambda args: _usage(p))
    sub = p.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    b = sub.add_parser(
        "build", help="build, size and check an image",
        description="Build mpy-cross and a MicroPython v1.28.0 port with a role's manifest "
                    "frozen into build/images/, print its size, then check it on its port "
                    "(qemu-m3/qemu-m7 under qemu-system-arm): the app imports from the frozen "
                    "modules alone, micro15118.sim does not, an EXI round trip works.  The "
                    "source: --micropython, $MICROPYTHON_SRC, $MICROPYTHON_TARBALL, or the "
                    "upstream release, downloaded once into build/micropython/.")
    b.add_argument("--port", choices=("unix32", "unix64", "qemu-m3", "qemu-m7"), default="unix32",
                   help="unix32 (default; needs gcc-multilib), unix64, qemu-m3 (MPS2_AN385, "
                        "Cortex-M3), qemu-m7 (MPS2_AN500, Cortex-M7; both need "
                        "gcc-arm-none-eabi and libnewlib-arm-none-eabi)")
    b.add_argument("--role", choices=ROLES + ("all",), default="charger",
                   help="whose app to freeze (charger)")
    b.add_argument("--micropython", metavar="DIR", help="a MicroPython source tree to build in")
    b.add_argument("--manifest", metavar="FILE",
                   help="freeze this manifest instead of boards/manifests/<role>.py (a board's "
                        "own, which may include ours); the check still imports the role's app")
    b.add_argument("--bare", action="store_true",
                   help="also build with nothing frozen and print what the manifest adds")
    b.add_argument("--jobs", type=int, default=2, help="make -j (2)")
    b.add_argument("--no-check", action="store_true", help="build and size only")
    b.set_defaults(func=firmware_build)
