"""What ``rig selftest`` runs: one pytest subprocess per job, and what it found.

A *job* is one pytest run on one virtual bench: the bench healthy (a *baseline*) or
with one defect injected (a temporary rig file beside the bench's own, the bench's
keys plus ``sim.defects: [name]``). Each job runs the testcases of its areas with the
bench's marker expression and writes a JUnit XML file, read back into one outcome per
testcase id. The caller (rig/selftest.py) runs the jobs in parallel and compares each
defect's outcomes with its baseline's (rig/selftest_report.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from evrig.rig.assembly import Defect
from evrig.rig.typed_yaml import load_yaml

# Each virtual bench and the marker expression that deselects what its unit cannot do
# (the connector kind it does not have). The same table as the Makefile's BENCHES
# (tests/test_selftest.py checks that the two agree).
BENCH_MARKERS: dict[str, str] = {
    "sim.yaml": "not tethered",
    "sim-t2.yaml": "not socketed",
    "sim-compact-3ph.yaml": "not tethered",
    "sim-compact-1ph.yaml": "not socketed",
    "sim-evplus-7s.yaml": "not tethered",
    "sim-evplus-22c.yaml": "not socketed",
}
# The testcase areas: folders of testcases/, the columns of the detection matrix.
AREAS = ("protection", "derating", "pilot", "iec61851", "led", "metering", "ocpp",
         "diagnostics", "panel", "evplus", "eol")
FULL = "all"  # the area set of a --full run: every testcase of the bench
RUN_TIMEOUT_S = 3600.0  # one pytest run; a hung bench is an error, not a wait forever
FAILED = frozenset({"failed", "error"})


def testcases_dir() -> Path:
    """The testcases package (a folder of the checkout in an editable install)."""
    return Path(str(resources.files("evrig.testcases")))


def rigs_dir() -> Path:
    return Path(str(resources.files("evrig.rigs")))


@dataclass(frozen=True)
class Job:
    """One pytest run: ``bench`` (a rig file name in rigs/), the ``areas`` it runs
    (``(FULL,)`` = all testcases), the defect injected (None: the baseline) and a
    pytest ``-k`` expression narrowing the testcases ("" = all of the areas)."""

    bench: str
    areas: tuple[str, ...]
    defect: str | None = None
    keyword: str = ""

    @property
    def key(self) -> str:
        what = self.defect or f"baseline-{Path(self.bench).stem}-{'-'.join(self.areas)}"
        return what

    @property
    def baseline(self) -> Job:
        return Job(self.bench, self.areas, keyword=self.keyword)


@dataclass
class RunResult:
    """What one job found: testcase id -> passed / failed / error / skipped."""

    job: Job
    outcomes: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    exit_code: int = 0
    problem: str = ""  # why the run gave no usable result (crash, timeout, no tests)

    @property
    def failed(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o in FAILED}

    @property
    def passed(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o == "passed"}


def jobs_for(defects: Iterable[Defect], full: bool,
             keyword: str = "") -> tuple[list[Job], list[Job]]:
    """(baselines, defect jobs): one baseline per (bench, area set), one job a defect."""
    runs = [Job(d.bench, (FULL,) if full else (d.area,), d.name, keyword) for d in defects]
    baselines = list(dict.fromkeys(j.baseline for j in runs))
    return baselines, runs


def defect_rig_file(bench: Path, defect: str) -> Path:
    """Write the bench's rig file with ``sim.defects: [defect]`` beside it (relative
    paths in the file still resolve); the caller removes it."""
    data = load_yaml(bench) or {}
    sim = dict(data.get("sim") or {})
    sim["defects"] = [defect]
    data["sim"] = sim
    path = bench.parent / f".selftest-{os.getpid()}-{defect}.yaml"
    text = f"# rig selftest: {bench.name} with the defect {defect} (temporary)\n"
    path.write_text(text + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def pytest_command(job: Job, rig_file: Path, junit: Path) -> list[str]:
    paths = ["testcases"] if job.areas == (FULL,) else [f"testcases/{a}" for a in job.areas]
    return [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:xdist",
            "-p", "no:cacheprovider", "-m", BENCH_MARKERS[job.bench],
            "--rig", str(rig_file), f"--junitxml={junit}",
            *(["-k", job.keyword] if job.keyword else [])]


def run_job(job: Job, out_dir: Path) -> RunResult:
    """Run one job in a pytest subprocess; its outcomes from the JUnit XML."""
    bench = rigs_dir() / job.bench
    junit = out_dir / "junit" / f"{job.key}.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    log = junit.with_suffix(".log")
    rig_file = defect_rig_file(bench, job.defect) if job.defect else bench
    start = time.monotonic()
    result = RunResult(job)
    try:
        with log.open("w", encoding="utf-8") as out:
            done = subprocess.run(pytest_command(job, rig_file, junit), cwd=testcases_dir().parent,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S,
                                  check=False)
        result.exit_code = done.returncode
    except subprocess.TimeoutExpired:
        result.exit_code, result.problem = -1, f"no result within {RUN_TIMEOUT_S:g} s"
    finally:
        if job.defect:
            rig_file.unlink(missing_ok=True)
    result.duration_s = time.monotonic() - start
    if junit.is_file():
        result.outcomes = read_junit(junit)
    if not result.problem and result.exit_code not in (0, 1):
        result.problem = f"pytest exit code {result.exit_code} (see {log})"
    return result


def read_junit(path: Path) -> dict[str, str]:
    """Testcase id (``area/test_file.py::test_name[param]``) -> outcome; a testcase
    with a failure and a teardown error counts as failed."""
    out: dict[str, str] = {}
    rank = {"passed": 0, "skipped": 1, "error": 2, "failed": 3}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = testcase_id(case.get("classname", ""), case.get("name", ""))
        tags = {child.tag for child in case}
        outcome = ("failed" if "failure" in tags else "error" if "error" in tags
                   else "skipped" if "skipped" in tags else "passed")
        if rank[outcome] >= rank.get(out.get(test_id, "passed"), 0):
            out[test_id] = outcome
    return out


def testcase_id(classname: str, name: str) -> str:
    """JUnit's dotted classname as a path: ``testcases.led.test_ring`` + name ->
    ``led/test_ring.py::name`` (a class, if any, follows the file)."""
    parts = classname.split(".")
    if parts and parts[0] == "testcases":
        parts = parts[1:]
    module = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts) - 1)
    path = "/".join(parts[:module + 1]) + ".py"
    return "::".join([path, *parts[module + 1:], name])


def area_of(test_id: str) -> str:
    return test_id.split("/", 1)[0]
