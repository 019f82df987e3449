"""``python -m host.cli``: the same as the ``micro15118`` command."""
import sys

from host.cli import main

sys.exit(main())
