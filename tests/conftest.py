"""pytest set-up.  The stack is the installed micro15118 package; pytest puts
tests/ and tests/firmware on the module path itself (rootdir-less test folders)."""


def pytest_sessionstart(session):
    # The MicroPython codec tests compare against messages decoded here.
    from host.harness import exi_vectors
    exi_vectors.write_fixture()
