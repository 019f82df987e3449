# The board manifests (boards/manifests/*.py, MicroPython's manifest
# format) freeze no simulation module, and what each freezes is exactly the
# import closure of its app: a frozen image hits no missing module, and
# carries nothing its app does not import.
#
# The manifests run here against a stand-in for MicroPython's manifest API
# (tools/manifestfile.py upstream: package, module, include, options); the
# closure comes from the sources' ASTs (imports at module level and inside
# functions; an import guarded for the simulated board, one whose
# ImportError is caught, or one in a function for the other role, as
# boardsetup's _charger_link/_vehicle_link, is not needed by a board).
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
MANIFESTS = os.path.join(ROOT, "boards", "manifests")
PKG = "micro15118"
SIM = PKG + ".sim"

ROLES = {"charger": PKG + ".secc_main", "vehicle": PKG + ".evcc_main",
         "link": PKG + ".link_main"}
# functions only the other role runs (the link bring-up runs both)
OTHER_ROLE = {"charger": ("_vehicle",), "vehicle": ("_charger",), "link": ()}


class _Options:
    def __init__(self, kw):
        self._kw = dict(kw)

    def defaults(self, **kw):
        for k, v in kw.items():
            self._kw.setdefault(k, v)

    def __getattr__(self, name):
        return self._kw.get(name)


class StandIn:
    """The part of MicroPython's manifest API a board manifest may use;
    collects {frozen path ("micro15118/x.py"): source file}.  Relative paths
    are relative to the manifest being run, as upstream."""

    def __init__(self):
        self.files = {}
        self._visited = set()

    def run(self, path, **kw):
        path = os.path.abspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self._visited:
            return
        self._visited.add(path)
        here = os.path.dirname(path)
        with open(path) as f:
            src = f.read()

        def resolve(p):
            assert "$(" not in p, "a board manifest names repository paths only: " + p
            return os.path.normpath(os.path.join(here, p))

        def include(p, **kw2):
            for one in ([p] if isinstance(p, str) else p):
                self.run(resolve(one), **kw2)

        def package(name, files=None, base_path=".", opt=None):
            base = resolve(base_path)
            if files is None:
                files = []
                for dirpath, _, names in os.walk(os.path.join(base, name)):
                    for n in names:
                        if n.endswith(".py"):
                            full = os.path.join(dirpath, n)
                            files.append(os.path.relpath(full, os.path.join(base, name)))
            for f in files:
                self._add(os.path.join(base, name, f), name + "/" + f.replace(os.sep, "/"))

        def module(name, base_path=".", opt=None):
            self._add(os.path.join(resolve(base_path), name), name)

        def refuse(*a, **k):
            raise AssertionError("board manifests freeze repository code only (no micropython-lib)")

        api = {"include": include, "package": package, "module": module,
               "options": _Options(kw), "metadata": lambda **k: None,
               "require": refuse, "add_library": refuse}
        exec(compile(src, path, "exec"), api)

    def _add(self, full, target):
        # upstream fails the build with "Cannot stat" on a missing file
        assert os.path.isfile(full), "manifest names a missing file: " + full
        assert target not in self.files, "frozen twice: " + target
        self.files[target] = full


def frozen_modules(manifest):
    m = StandIn()
    m.run(manifest)
    mods = set()
    for target in m.files:
        assert target.endswith(".py"), target
        name = target[:-3].replace("/", ".")
        if name.endswith(".__init__"):
            name = name[:-len(".__init__")]
        mods.add(name)
    return mods


# --- the import closure, from the ASTs ---------------------------------------

def _source(root, name):
    """(path, is_package) of module `name` under root, or None."""
    base = os.path.join(root, *name.split("."))
    if os.path.isfile(os.path.join(base, "__init__.py")):
        return os.path.join(base, "__init__.py"), True
    if os.path.isfile(base + ".py"):
        return base + ".py", False
    return None


def _catches_import_error(handler):
    names = []
    t = handler.type
    for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
        if isinstance(e, ast.Name):
            names.append(e.id)
    return t is None or "ImportError" in names or "Exception" in names


def _sim_guard(test):
    # `if hasattr(board, "request"):` the simulated board (it talks to the
    # wire process); a hardware board is its board.json dict
    return (isinstance(test, ast.Call) and isinstance(test.func, ast.Name)
            and test.func.id == "hasattr" and len(test.args) == 2
            and isinstance(test.args[1], ast.Constant) and test.args[1].value == "request")


def _needed_imports(tree, role):
    """ImportFrom/Import nodes a board of `role` runs into: all of them
    except those in a function named _sim* or _linux* (or _vehicle* on a charger,
    _charger* on a vehicle), in the body of an `if` on the simulated board,
    or in a `try` that catches ImportError."""
    out = []
    # _linux*: a Linux MPU board runs the unix port from files, no frozen image
    skip_prefixes = ("_sim", "_linux") + OTHER_ROLE[role]

    def visit(node, skip):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if not skip:
                out.append(node)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(skip_prefixes):
            skip = True
        if isinstance(node, ast.If) and _sim_guard(node.test):
            visit(node.test, skip)
            for n in node.body:
                visit(n, True)
            for n in node.orelse:
                visit(n, skip)
            return
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for n in node.body:
                visit(n, True)
            for n in node.handlers + node.orelse + node.finalbody:
                visit(n, skip)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, skip)

    visit(tree, False)
    return out


def _parents(name):
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(entry, role, root=FIRMWARE):
    """Modules of the micro15118 package that importing `entry` and running
    its code on a `role` board can import (packages included)."""
    seen = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        found = _source(root, name)
        assert found, "imported but not in the package: " + name
        path, is_pkg = found
        seen.add(name)
        todo.extend(p for p in _parents(name) if p not in seen)
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        package = name if is_pkg else name.rsplit(".", 1)[0]
        for node in _needed_imports(tree, role):
            if isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names
                            if a.name == PKG or a.name.startswith(PKG + "."))
                continue
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target != PKG and not target.startswith(PKG + "."):
                continue
            todo.append(target)
            for a in node.names:
                # `from pkg import sub` imports the submodule sub
                if _source(root, target + "." + a.name):
                    todo.append(target + "." + a.name)
    return seen


# --- the tests ---------------------------------------------------------------

@pytest.mark.parametrize("role", sorted(ROLES))
def test_manifest_freezes_no_simulation(role):
    mods = frozen_modules(os.path.join(MANIFESTS, role + ".py"))
    assert ROLES[role] in mods
    sim = sorted(m for m in mods if m == SIM or m.startswith(SIM + "."))
    assert not sim, "%s manifest freezes simulation modules: %s" % (role, sim)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_app_imports_no_simulation(role):
    closure = import_closure(ROLES[role], role)
    sim = sorted(m for m in closure if m == SIM or m.startswith(SIM + "."))
    assert not sim, "%s on a board imports simulation modules: %s" % (ROLES[role], sim)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_manifest_is_the_import_closure(role):
    mods = frozen_modules(os.path.join(MANIFESTS, role + ".py"))
    closure = import_closure(ROLES[role], role)
    assert not closure - mods, "%s imports modules its manifest does not freeze: %s" % (
        ROLES[role], sorted(closure - mods))
    assert not mods - closure, "%s manifest freezes modules its app never imports: %s" % (
        role, sorted(mods - closure))


def _copy_package(tmp_path):
    dst = tmp_path / "fw"
    src = os.path.join(FIRMWARE, PKG)
    for dirpath, _, names in os.walk(src):
        rel = os.path.relpath(dirpath, FIRMWARE)
        os.makedirs(dst / rel, exist_ok=True)
        for n in names:
            if n.endswith(".py"):
                with open(os.path.join(dirpath, n)) as f:
                    (dst / rel / n).write_text(f.read())
    return dst


@pytest.mark.parametrize("line,found", [
    ("from .sim import battery\n", True),                 # module level
    ("from . import sim\n", True),
    ("import micro15118.sim.power\n", True),
    ("def f():\n    from .sim.board import SimBoard\n", True),   # a hardware board runs it
    ("def _sim_x():\n    from .sim.board import SimBoard\n", False),
    ("def f(board):\n    if hasattr(board, 'request'):\n        from .sim import power\n", False),
    ("def f(board):\n    if hasattr(board, 'request'):\n        pass\n    else:\n"
     "        from .sim import power\n", True),
    ("def _vehicle_x():\n    from .sim.board import SimBoard\n", True),  # link: both roles
    ("try:\n    from .sim import power\nexcept ImportError:\n    power = None\n", False),
])
def test_closure_sees_a_simulation_import(tmp_path, line, found):
    # The check itself: an import of sim added to an app shows in its closure
    # unless it is guarded for the simulated board.
    root = _copy_package(tmp_path)
    app = root / PKG / "link_main.py"
    app.write_text(line + app.read_text())
    closure = import_closure(PKG + ".link_main", "link", root=str(root))
    assert any(m.startswith(SIM) for m in closure) == found


def test_stand_in_reads_includes_relative_to_the_manifest(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "common.py").write_text(
        'package("micro15118", files=["pilot.py"], base_path=%r)\n' % FIRMWARE)
    top = tmp_path / "top.py"
    top.write_text('include("sub/common.py")\ninclude("sub/common.py")\n'
                   'package("micro15118", files=["__init__.py"], base_path=%r)\n' % FIRMWARE)
    assert frozen_modules(str(top)) == {PKG, PKG + ".pilot"}
    top.write_text('package("micro15118", files=["no_such.py"], base_path=%r)\n' % FIRMWARE)
    with pytest.raises(AssertionError):
        frozen_modules(str(top))
