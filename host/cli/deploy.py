"""``micro15118 deploy``: one app's files onto a board running stock MicroPython (mpremote)."""
import os

from host.cli.common import PROG


def _log(*parts):
    print(PROG + " deploy:", *parts, flush=True)


def deploy_run(args):
    from host.firmware import build, checkout, deploy, source

    root = checkout.find_checkout()
    board = deploy.load_board(root, args.board)
    app = args.app or deploy.default_app(board)
    if board["kind"] == "emulated" and not args.port:
        raise ValueError("an emulated board has no fixed port: start it with `%s emulate --board %s` "
                         "and give the pty it names as --port" % (PROG, args.board))
    tree = source.source_tree(root, args.micropython, _log)
    if args.mpy_cross:
        mpy_cross = args.mpy_cross
    else:
        build.mpy_cross(tree, args.jobs, lambda *a: None)     # built once, then nothing to do
        mpy_cross = deploy.mpy_cross_path(tree)
    out = args.stage or os.path.join(root, "build", "deploy", "%s-%s" % (board["name"], app))
    stage = deploy.stage(root, tree, board, app, mpy_cross, out, _log, frozen=args.frozen)
    _log("staged in %s (mpy v%d.%d): %s" % (os.path.relpath(out), stage.mpy[0], stage.mpy[1],
                                              deploy.APPS[app].what))
    argv = deploy.deploy_argv(args.port, board, stage, start=not args.no_start)
    status, output = deploy.mpremote(argv, _log)
    if status != 0:
        raise RuntimeError("mpremote failed (%d) deploying to %s" % (status, args.port or "auto"))
    if "deploy check: " not in output:
        raise RuntimeError("the board did not confirm the files (no 'deploy check' line)")
    _log("%s on board %s at %s%s" % (app, board["name"], args.port or "auto",
                                     "" if args.no_start else ", started: `%s console watch --port %s`"
                                     % (PROG, args.port or "PORT")))
    return 0


def add_deploy(subparsers):
    from host.firmware.deploy import APPS

    p = subparsers.add_parser(
        "deploy", help="copy an app to a board over its REPL (mpremote) and start it",
        description="Compile an app's modules (what its manifest freezes: boards/manifests/ for "
                    "the roles) to .mpy with the MicroPython source tree's mpy-cross, copy them to "
                    "the board's /lib with mpremote, with the board's settings (/board.json) and a "
                    "/main.py that runs the app, check every file's size on the board, then start "
                    "the app (its output: `micro15118 console watch`).  For a board running stock "
                    "MicroPython v1.28 (ESP32-S3, RP2040, STM32F4; boards/README.md), or the "
                    "emulated one (`micro15118 emulate --board qemu-m3`).  Needs a checkout.",
        epilog="apps: " + "; ".join("%s: %s" % (a.name, a.what) for a in APPS.values()))
    p.add_argument("--board", required=True, metavar="NAME",
                   help="a folder of boards/ with a board.json (e.g. esp32s3-qca7000, "
                        "rp2040-qca7000, qemu-m3)")
    p.add_argument("--port", metavar="DEV",
                   help="the board's serial port, e.g. /dev/ttyACM0 (default: the first USB "
                        "serial device, as `mpremote connect auto`)")
    p.add_argument("--app", choices=sorted(APPS),
                   help="what to deploy (default: the board's \"app\", else charger for role "
                        "evse, vehicle for pev)")
    p.add_argument("--frozen", action="store_true",
                   help="the board's image already freezes the app (built with "
                        "boards/<board>/manifest.py): copy only board.json and main.py")
    p.add_argument("--no-start", action="store_true",
                   help="copy only; the board runs main.py at its next power-up or `console start`")
    p.add_argument("--stage", metavar="DIR",
                   help="where to compile to (default build/deploy/<board>-<app>/)")
    p.add_argument("--micropython", metavar="DIR", help="a MicroPython source tree (its mpy-cross "
                   "and manifest tool)")
    p.add_argument("--mpy-cross", metavar="FILE",
                   help="this mpy-cross instead of the source tree's (its .mpy version must be "
                        "the board's)")
    p.add_argument("--jobs", type=int, default=2, help="make -j when mpy-cross is built (2)")
    p.set_defaults(func=deploy_run)
