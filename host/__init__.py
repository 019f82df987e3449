"""micro15118 host tools (CPython side): the `micro15118` command, the simulation
bench, peer harnesses and captures.  The stack itself is the `micro15118`
package (firmware/micro15118), the same code that runs on the board."""

__version__ = "0.1.0"
