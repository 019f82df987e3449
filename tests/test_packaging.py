"""What `pip install .` ships: every package of the tree is listed in
pyproject.toml (a missing one would be absent from a non-editable install),
the grammar tables go along as package data, and nothing outside the two
packages becomes a top-level name."""
import pathlib
import tomllib

REPO = pathlib.Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def packages_on_disk():
    found = set()
    for root, name in ((REPO / "firmware" / "micro15118", "micro15118"), (REPO / "host", "host")):
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            found.add(".".join((name,) + rel))
    return found


def test_every_package_is_listed_and_no_other():
    listed = set(CONFIG["packages"])
    assert listed - {"micro15118.schemas"} == packages_on_disk()


def test_only_two_top_level_names():
    assert {p.split(".")[0] for p in CONFIG["packages"]} == {"micro15118", "host"}


def test_grammar_tables_ship_as_package_data():
    assert CONFIG["package-dir"]["micro15118.schemas"] == "schemas"
    assert CONFIG["package-data"]["micro15118.schemas"] == ["*.exig"]
    assert sorted(p.name for p in (REPO / "schemas").glob("*.exig"))
