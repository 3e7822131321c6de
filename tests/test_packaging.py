"""The rig as a user installs it: the built wheel in a fresh venv, used from a folder
outside the checkout (issue: "usable from a user's repo").

- The wheel's top level holds one import package of ours (``evrig``), so it installs
  beside PyPI's ``fixtures`` (testtools, OpenStack) and a repo's own ``fixtures/``.
- ``rig run eol`` and ``pytest --pyargs evrig.testcases…`` work from any folder: the
  EOL sequence, the compliance set and the benches' rig files ship in the package.

One venv for the module. It takes the rig's dependencies (pytest, ocpp, pymodbus …)
from the running environment through a ``.pth`` line instead of resolving them again
(20 s of pip on 2 cores): a path added by a ``.pth`` file does not run the ``.pth``
files inside it, so the checkout's editable install stays out and only the wheel
provides ``evrig``. That the declared dependencies install is what ``make`` proves
on every fresh machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# One wheel and one venv for the module: its tests stay on one xdist worker
# (make test runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("packaging")
PIP = ["-m", "pip", "--disable-pip-version-check", "-q"]


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RIG_FILE")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the sources: setuptools builds in the tree's ``build/``,
    which two builds at once (two workers, or a user's own ``pip wheel``) would share."""
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "reports", "*.egg-info", "__pycache__", ".*_cache"))
    out = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, *PIP, "wheel", "--no-deps", "-w", str(out), str(source)],
                 out)
    assert built.returncode == 0, built.stderr
    return next(out.glob("*.whl"))


@pytest.fixture(scope="module")
def user_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel and PyPI's ``fixtures``; its ``bin`` folder."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                    "['purelib'])"], home).stdout.strip()
    Path(purelib, "_rig_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run([str(python), *PIP, "install", "--no-deps", str(wheel), "fixtures"],
                     home)
    assert installed.returncode == 0, installed.stderr
    yield home / "bin"


def test_the_wheel_holds_one_package_of_ours(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"evrig"}
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("evrig/rigs/sim.yaml", "evrig/rig/profiles/evnet-7kw.yaml",
                    "evrig/testcases/eol/test_eol.py", "evrig/testcases/ocpp/OCTT_CATALOGUE.md",
                    "evrig/rig/tables/meter/sdm630.yaml"):
        assert shipped in names, shipped


def test_pypi_fixtures_and_ours_import_side_by_side(user_venv: Path, tmp_path: Path) -> None:
    probe = _run([str(user_venv / "python"), "-c",
                  "import fixtures, evrig.fixtures.plugin as ours; "
                  "print(fixtures.Fixture.__module__, ours.__name__, ours.__file__)"], tmp_path)
    assert probe.returncode == 0, probe.stderr
    module, name, file = probe.stdout.split()
    assert (module, name) == ("fixtures.fixture", "evrig.fixtures.plugin")
    assert Path(file).is_relative_to(user_venv.parent), f"{file}: not the wheel's copy"


def test_a_repo_with_its_own_fixtures_package_gets_our_fixtures(user_venv: Path,
                                                                tmp_path: Path) -> None:
    """What broke before: a repo whose own ``fixtures/`` package shadowed ours."""
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "__init__.py").write_text("")
    (tmp_path / "fixtures" / "data.py").write_text("CARD = 'TAG-ACCEPTED-01'\n")
    (tmp_path / "test_mine.py").write_text(textwrap.dedent("""\
        from fixtures.data import CARD

        def test_profile_and_own_data(spec):
            assert CARD.startswith("TAG")
            assert spec.ratings["max_current_a"].value > 0
        """))
    run = _run([str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
               tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout


def test_eol_and_the_compliance_set_run_from_any_folder(user_venv: Path,
                                                        tmp_path: Path) -> None:
    eol = _run([str(user_venv / "rig"), "run", "eol", "--serial", "PKG-0001",
                "--operator", "ci"], tmp_path)
    assert eol.returncode == 0, eol.stdout[-2000:] + eol.stderr[-2000:]
    assert "PASS  PKG-0001" in eol.stdout
    assert list((tmp_path / "reports" / "units" / "PKG-0001").glob("*/record.json"))
    boot = _run([str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "--pyargs", "evrig.testcases.ocpp.test_core_boot", "--rig", "sim-t2"],
                tmp_path)
    assert boot.returncode == 0, boot.stdout[-2000:] + boot.stderr[-2000:]
    assert " passed" in boot.stdout and "failed" not in boot.stdout


def test_rig_files_by_path_or_shipped_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from evrig.rig.rig_files import find_rig_file, shipped

    monkeypatch.delenv("RIG_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # a folder of a user's repo, not this checkout
    assert set(shipped()) >= {"sim", "sim-t2", "lab-example"}
    assert find_rig_file(None, tmp_path) == shipped()["sim"]  # a repo without rigs/
    for name in ("sim-t2", "sim-t2.yaml", "rigs/sim-t2.yaml"):
        assert find_rig_file(name, tmp_path) == shipped()["sim-t2"]
    (tmp_path / "rigs").mkdir()
    (tmp_path / "rigs" / "sim.yaml").write_text("profile: evnet-7kw\n")
    assert find_rig_file(None, tmp_path) == str(tmp_path / "rigs" / "sim.yaml")  # its own
    assert find_rig_file("rigs/sim.yaml", tmp_path) == "rigs/sim.yaml"  # as given
    assert find_rig_file("bench-7.yaml", tmp_path) == "bench-7.yaml"  # the loader says why
    monkeypatch.setenv("RIG_FILE", "sim-t2")
    assert find_rig_file(None, tmp_path) == shipped()["sim-t2"]
