"""The house's layers: every package imports only the packages below it, and none imports tests.

Read from the source's own import statements (ast), so a function-local import
counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# From the ground floor up; a package may import the floors below its own, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("vocab",),
    ("coincidence",),
    ("simulator", "analysis"),
    ("api",),
    ("ingest",),
    ("credo",),  # a dialect of ingest's upload pipeline
    ("crayfis",),  # the CRAYFIS app's dialect; links phones to credo's volunteers
    ("follow",),
    ("dashboard",),
    ("crowdray",),
    ("bench",),
)
FLOOR = {package: floor for floor, packages in enumerate(LAYERS) for package in packages}
DJANGO_FREE = ("vocab", "coincidence", "simulator", "analysis")


def imported(path: Path) -> set[str]:
    """The top-level names of every absolute import in a file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_every_package_of_the_repository_has_its_floor():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(FLOOR), f"give these a floor in LAYERS: {packages - set(FLOOR)}"


def test_imports_run_only_downward():
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in FLOOR
        for path in sources(package)
        for name in imported(path)
        if name in FLOOR and FLOOR[name] > FLOOR[package]
    ]
    assert not wrong, "imports that run up a floor:\n" + "\n".join(wrong)


def test_nothing_imports_the_tests():
    wrong = [
        str(path.relative_to(ROOT))
        for package in FLOOR
        for path in sources(package)
        if "tests" in imported(path)
    ]
    assert not wrong, f"these import tests/: {wrong}"


def test_the_science_never_imports_django():
    wrong = [
        str(path.relative_to(ROOT))
        for package in DJANGO_FREE
        for path in sources(package)
        if imported(path) & {"django", "rest_framework"}
    ]
    assert not wrong, f"Django in the science packages: {wrong}"


def test_the_api_plumbing_imports_no_app():
    apps = {"ingest", "credo", "follow", "dashboard", "crowdray"}
    wrong = [str(p.relative_to(ROOT)) for p in sources("api") if imported(p) & apps]
    assert not wrong, f"api/ imports an app: {wrong}"


def test_the_checker_sees_an_import_that_runs_up(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from dashboard.queries import filter_showers\n")
    assert "dashboard" in imported(module)
