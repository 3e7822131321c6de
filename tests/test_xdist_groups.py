"""``make test`` runs ``--dist loadgroup`` so that the tests sharing one expensive
module fixture (tests/test_packaging.py: one wheel, one venv) run on one worker.
pytest 9.2 broke that silently (pytest-xdist#1386): every worker then built its own
wheel in the same checkout and the builds collided. This test runs a tiny suite the
way ``make test`` does and fails, naming the versions, when a group is split."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xdist


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(textwrap.dedent("""\
        import pytest

        pytestmark = pytest.mark.xdist_group("one")

        @pytest.mark.parametrize("n", range(6))
        def test_member(n):
            pass
        """))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "-p", "no:ev_charger_rig", "-n", "2", "--dist", "loadgroup", "-v"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    workers = {line.split()[0] for line in run.stdout.splitlines() if "PASSED" in line}
    assert len(workers) == 1, (
        f"pytest {pytest.__version__} with pytest-xdist {xdist.__version__} spread one "
        f"xdist_group over {sorted(workers)} (pin pytest in pyproject.toml)")
