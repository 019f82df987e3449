"""What every command of the ``micro15118`` command line shares."""
import sys

PROG = "micro15118"


def _usage(parser):
    parser.print_help(sys.stderr)
    return 2


def _is_input_error(exc):
    if isinstance(exc, BrokenPipeError):
        return False                    # the reader went away: main() ends quietly
    if isinstance(exc, (ValueError, OSError, RuntimeError)):
        return True
    try:
        from micro15118.exi import ExiError
    except ImportError:
        return False
    return isinstance(exc, ExiError)
