"""The one shim the firmware needs to run on CPython too: `const()` is folded
by MicroPython's compiler and a plain function elsewhere."""
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x
