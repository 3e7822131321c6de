"""Imports point one way (design §1–2): testcases → fixtures → the composition root →
drivers | sim → the kernel. Read from the source with ``ast`` (import-linter's grimp
cannot follow the package-dir mapping of setup.py), lazy imports inside functions
included; ``if TYPE_CHECKING:`` imports count too, a type is an arrow like any other.

Layers (module names under ``evrig``):

- kernel: ``rig`` except the application and the composition root below, and the
  tables in ``rig.tables`` (command tables, meter maps, LED calibrations);
- ``drivers`` and ``sim``: side by side, each on the kernel only;
- the composition root ``rig.assembly``: the only module importing both;
- the contract ``drivers.api``: the Protocols the fixtures return (design §3), on
  the drivers' data types; the plugin and testcases may name them;
- ``fixtures``: the pytest plugin, on the root and the kernel;
- the application ``rig.cli``, ``rig.eol`` …: on anything but ``sim``;
- ``testcases``: on the plugin and the kernel (what a user's repo can import too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("rig", "rigs", "drivers", "sim", "fixtures", "testcases")
APPLICATION = {"rig.cli", "rig.__main__", "rig.eol", "rig.eol_cli", "rig.report",
               "rig.compare", "rig.certificate", "rig.cert_context", "rig.eol_documents",
               "rig.pdf", "rig.firmware_gate", "rig.station", "rig.station_app",
               "rig.station_hub", "rig.station_child", "rig.station_state",
               "rig.station_history", "rig.selftest", "rig.selftest_plan",
               "rig.selftest_report"}
ROOT_MODULE = "rig.assembly"
CONTRACT = "drivers.api"
MAY_IMPORT = {
    "kernel": {"kernel"},
    "drivers": {"kernel", "drivers"},
    "sim": {"kernel", "sim"},
    "contract": {"kernel", "drivers"},
    "root": {"kernel", "drivers", "sim", "contract"},
    "fixtures": {"kernel", "root", "contract", "fixtures"},
    "application": {"kernel", "root", "drivers", "contract", "fixtures", "application"},
    "testcases": {"kernel", "contract", "fixtures", "testcases"},
}


def layer(module: str) -> str:
    if module == ROOT_MODULE:
        return "root"
    if module == CONTRACT:
        return "contract"
    if module in APPLICATION:
        return "application"
    top = module.split(".")[0]
    return {"rig": "kernel", "rigs": "kernel"}.get(top, top)


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module imported) for every import of ours in the file, relative ones
    resolved; the name without the ``evrig.`` prefix."""
    found: list[tuple[int, str]] = []
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
                names = [f"evrig.{n}" for n in names]
            elif node.module:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith("evrig."):
                found.append((node.lineno, name.removeprefix("evrig.")))
    return found


def our_modules() -> list[tuple[Path, str]]:
    return [(path, ".".join(path.relative_to(ROOT).with_suffix("").parts))
            for folder in FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]


def test_every_arrow_points_down() -> None:
    wrong, seen = [], 0
    for path, module in our_modules():
        mine = layer(module)
        for line, target in imports(path, module):
            seen += 1
            theirs = layer(target)
            if theirs not in MAY_IMPORT[mine] | {mine}:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {theirs} "
                             f"({target})")
    assert seen > 200, f"only {seen} imports of ours found: is the walk broken?"
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_only_the_composition_root_imports_drivers_and_sim() -> None:
    both = []
    for path, module in our_modules():
        targets = {layer(t) for _, t in imports(path, module)}
        if {"drivers", "sim"} <= targets and module != ROOT_MODULE:
            both.append(module)
    assert not both


@pytest.mark.parametrize("folder", ["rig", "drivers", "sim", "fixtures", "testcases",
                                    "tests", "benchmarks"])
def test_nothing_imports_our_folders_by_their_bare_names(folder: str) -> None:
    """``import rig.clock`` works in the checkout (its root is on sys.path) but not
    where the wheel is installed, and would load a second copy of the module."""
    bare = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            bare += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                     if name.split(".")[0] in FOLDERS]
    assert not bare, "\n".join(bare)


def test_the_check_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """The checker itself: a kernel module importing the virtual bench is caught."""
    bad = tmp_path / "clock.py"
    bad.write_text("from evrig.sim.bench import VirtualBench\n"
                   "def f():\n    from ..drivers import faults\n")
    found = imports(bad, "rig.clock")
    assert found == [(1, "sim.bench"), (3, "drivers")]
    assert {layer(t) for _, t in found} - MAY_IMPORT[layer("rig.clock")] == {"sim", "drivers"}
