"""``micro15118 console``: start, stop and watch the app `micro15118 deploy` put on a board."""
import sys

from host.cli.common import PROG, _usage


def _log(*parts):
    print(PROG + " console:", *parts, flush=True)


def _watch(args, until=None):
    from host.firmware import deploy

    try:
        w = deploy.watch(args.port, until=until, timeout=args.timeout,
                         write=lambda text: (sys.stdout.write(text), sys.stdout.flush()))
    except KeyboardInterrupt:
        print()
        return 130          # the app goes on running
    if w.output and not w.output.endswith("\n"):
        print()
    if w.error:
        sys.stderr.write(w.error if w.error.endswith("\n") else w.error + "\n")
    if w.ended:
        _log("the app ended" + (" with an exception" if w.error else ""))
        return 1 if w.error else 0
    if until:
        if w.matched:
            return 0
        _log("%r not seen in %s s" % (until, args.timeout))
        return 1
    if args.timeout is not None:
        _log("still running after %s s" % args.timeout)
    return 0


def console_start(args):
    from host.firmware import deploy

    status, _ = deploy.mpremote(deploy.start_argv(args.port), _log)
    if status != 0:
        raise RuntimeError("mpremote failed (%d) starting main.py on %s" % (status, args.port or "auto"))
    if args.follow:
        return _watch(args)
    return 0


def console_stop(args):
    from host.firmware import deploy

    status, _ = deploy.mpremote(deploy.stop_argv(args.port), _log)
    if status != 0:
        raise RuntimeError(
            "mpremote failed (%d) stopping the app on %s.  An emulated board (qemu port) reads its "
            "UART only while it waits for input, so Ctrl-C cannot interrupt its app: it stops when "
            "the app ends, or with the emulator" % (status, args.port or "auto"))
    _log("stopped: the board waits at its REPL")
    return 0


def console_watch(args):
    return _watch(args, until=args.until)


def add_console(subparsers):
    p = subparsers.add_parser(
        "console", help="start, stop and watch the deployed app on a board",
        description="The app `micro15118 deploy` put on a board, over its REPL with mpremote: "
                    "start runs /main.py (stopping what runs, after a soft reset), stop "
                    "interrupts it (Ctrl-C, soft reset: the board waits at its REPL), watch "
                    "prints what the board prints, sending nothing.  A real board also runs "
                    "/main.py by itself at power-up.")
    p.set_defaults(func=lambda args: _usage(p))
    sub = p.add_subparsers(title="subcommands", metavar="SUBCOMMAND")

    def port(q):
        q.add_argument("--port", metavar="DEV",
                       help="the board's serial port (default: the first USB serial device)")

    s = sub.add_parser("start", help="run /main.py (the deployed app)",
                       description="Interrupt what runs, soft-reset, mount the emulated board's "
                                   "disk if it has one, run /main.py without waiting for it.")
    port(s)
    s.add_argument("--follow", action="store_true", help="then watch until the app ends")
    s.add_argument("--timeout", type=float, metavar="S", help="with --follow: watch at most S seconds")
    s.set_defaults(func=console_start)

    t = sub.add_parser("stop", help="interrupt the app; the board waits at its REPL",
                       description="Ctrl-C and a soft reset from the raw REPL (`mpremote soft-reset`): "
                                   "main.py does not run again until a power-up or `console start`.")
    port(t)
    t.set_defaults(func=console_stop)

    w = sub.add_parser("watch", help="print what the board prints",
                       description="Print the board's output, sending nothing, until the app "
                                   "started by `deploy` or `console start` ends (exit 1 if it "
                                   "ended with an exception), --until TEXT appears (exit 1 if it "
                                   "does not in --timeout), --timeout S passes, or Ctrl-C.")
    port(w)
    w.add_argument("--until", metavar="TEXT", help="stop once the board printed TEXT")
    w.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")
    w.set_defaults(func=console_watch)
