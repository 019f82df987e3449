# Run firmware tests under MicroPython (also works on CPython).
#
#   micropython tests/mprun.py tests/firmware/test_x.py [test_name ...]
#   micropython tests/mprun.py tests/firmware/test_x.py --list
#
# Runs every top-level `test_*` function of the module (or only the named
# ones) and prints `PASS name` or `FAIL name: ExcType: msg` plus traceback,
# then `N passed, M failed`.  Exit status: 0 all passed, 1 a test failed,
# 2 usage error or the module failed to import.
import gc
import os
import sys


def _dirname(path):
    i = path.rfind("/")
    if i < 0:
        return "."
    return path[:i] or "/"


def _abspath(path):
    if path.startswith("/"):
        return path
    return os.getcwd() + "/" + path


def _print_exception(exc):
    if hasattr(sys, "print_exception"):
        sys.print_exception(exc)
    else:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stdout)


def _setup_path():
    # sys.path[0] is this script's directory, <repo>/tests.  The stack is the
    # micro15118 package in <repo>/firmware; the test harness is host.harness
    # under <repo> (what pip installs for CPython).
    tests_dir = _abspath(sys.path[0] or _dirname(__file__))
    repo = _dirname(tests_dir)
    for p in (repo, tests_dir + "/firmware", repo + "/firmware"):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)


def _import(module_path):
    path = _abspath(module_path)
    name = path[path.rfind("/") + 1:]
    if name.endswith(".py"):
        name = name[:-3]
    module_dir = _dirname(path)
    if module_dir not in sys.path:
        sys.path.insert(0, module_dir)
    return __import__(name)


def _test_names(module):
    names = []
    for name in dir(module):
        if name.startswith("test_") and callable(getattr(module, name)):
            names.append(name)
    names.sort()
    return names


def main(argv):
    if not argv or argv[0].startswith("-"):
        print("usage: mprun.py MODULE.py [--list | TEST_NAME ...]")
        return 2
    _setup_path()
    try:
        module = _import(argv[0])
    except Exception as exc:
        print("ERROR importing %s: %s: %s" % (argv[0], type(exc).__name__, exc))
        _print_exception(exc)
        return 2
    available = _test_names(module)
    wanted = argv[1:]
    if wanted == ["--list"]:
        for name in available:
            print(name)
        return 0
    passed = failed = 0
    for name in wanted or available:
        gc.collect()
        try:
            if name not in available:
                raise NameError("no test named " + name)
            getattr(module, name)()
        except Exception as exc:
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(exc).__name__, exc))
            _print_exception(exc)
        else:
            passed += 1
            print("PASS " + name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main(sys.argv[1:]))
