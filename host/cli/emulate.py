"""``micro15118 emulate``: an emulated board (qemu) to deploy to, its REPL on a pty."""
import signal
import sys

from host.cli.common import PROG


def _log(*parts):
    print(PROG + " emulate:", *parts, flush=True)


def emulate_run(args):
    from host.firmware import checkout, deploy, emulator

    root = checkout.find_checkout()
    board = deploy.load_board(root, args.board)
    port = emulator.port_of(board)
    elf = emulator.image(root, board, _log, args.jobs)
    # SIGTERM ends it as Ctrl-C does: the emulator stops on the way out
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    with emulator.Emulator(elf, port.machine) as emu:
        _log("board %s (%s, %s) on %s" % (board["name"], port.name, port.machine, emu.port))
        _log("next: %s deploy --board %s --port %s; Ctrl-C stops the board (its RAM disk is lost)"
             % (PROG, board["name"], emu.port))
        try:
            emu.proc.wait()
        except KeyboardInterrupt:
            return 0
    raise RuntimeError("qemu-system-arm exited (%d)" % emu.proc.returncode)


def add_emulate(subparsers):
    p = subparsers.add_parser(
        "emulate", help="run an emulated board (qemu) to deploy to",
        description="Build (when missing or stale) and run an emulated board, stock MicroPython "
                    "under qemu-system-arm with littlefs on a RAM disk; print the pty its REPL is "
                    "on, for `micro15118 deploy --port` and `micro15118 console --port`.  Runs "
                    "until Ctrl-C; the board's files live as long as it runs.")
    p.add_argument("--board", default="qemu-m3", metavar="NAME",
                   help="a board of kind \"emulated\" in boards/ (qemu-m3)")
    p.add_argument("--jobs", type=int, default=2, help="make -j when the image is built (2)")
    p.set_defaults(func=emulate_run)
