"""The ``micro15118`` command line.

Each subcommand is one ``add_<name>(subparsers)`` function listed in
``COMMANDS``; it builds its parser and sets ``func`` to the function that runs
it.  ``func(args)`` returns an exit status (``None`` means 0).

Exit status: 0 ok, 1 bad input or failed run (ValueError, OSError, RuntimeError,
exi.ExiError), 2 usage.  A reader that goes away (``| head``) ends any command
quietly with status 0.
"""

import argparse
import os
import sys

from host import __version__
from host.cli.common import PROG, _is_input_error, _usage
from host.cli.console import add_console
from host.cli.deploy import add_deploy
from host.cli.emulate import add_emulate
from host.cli.exi import EXI_SCHEMAS, add_exi  # noqa: F401  (EXI_SCHEMAS for callers)
from host.cli.faults import add_faults
from host.cli.firmware import add_firmware
from host.cli.link import add_link
from host.cli.pki import add_pki
from host.cli.sim import add_sim


class _Parser(argparse.ArgumentParser):
    """No option abbreviations: ``_join_option_values`` must see full names."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


# Options whose values may start with '-' (schema names such as "-20:AC").
_DASH_VALUE_OPTIONS = ("--schema",)


def _join_option_values(argv):
    """Rewrite ``--schema -20:AC`` as ``--schema=-20:AC``.

    argparse takes "-20:AC" for an unknown option (it is not a negative
    number), so ``--schema -20:AC`` would fail with "expected one argument".
    """
    out = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in _DASH_VALUE_OPTIONS and i + 1 < len(argv):
            out.append(arg + "=" + argv[i + 1])
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


COMMANDS = [
    add_exi,
    add_link,
    add_sim,
    add_faults,
    add_firmware,
    add_emulate,
    add_deploy,
    add_console,
    add_pki,
]


def build_parser():
    parser = _Parser(prog=PROG, description="micro15118 host tools")
    parser.add_argument("--version", action="version", version=PROG + " " + __version__)
    parser.set_defaults(func=lambda args: _usage(parser))
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND",
                                       parser_class=_Parser)
    for add in COMMANDS:
        add(subparsers)
    return parser


def _quiet_broken_pipe():
    """The reader went away (``| head``): nothing more to say.  Point stdout
    at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is no real file (tests capture it)
    return 0


def _run(argv):
    args = build_parser().parse_args(_join_option_values(list(argv)))
    try:
        return args.func(args) or 0
    except Exception as exc:
        if not _is_input_error(exc):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(PROG + ": error: " + message, file=sys.stderr)
        return 1


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a broken pipe shows here (also after --help), not at exit
    except BrokenPipeError:
        return _quiet_broken_pipe()
