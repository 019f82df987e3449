"""The reason a firmware codec gives for refusing input, for tests that run
under pytest and under MicroPython's tests/mprun.py (no pytest.raises there)."""


def reason_of(error, fn, *args):
    """The .reason of the `error` (a ValueError) that fn(*args) raises; fails
    when it raises none."""
    try:
        fn(*args)
    except error as e:
        assert isinstance(e, ValueError)
        return e.reason
    assert False, "no " + error.__name__
