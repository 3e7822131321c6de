"""Benches in parallel (``pytest --rig-pool FILE``, fixtures/pool.py, rig/rig_pool.py):
a pool of two virtual benches runs testcases with one xdist worker per bench and each
result names its bench; a pool that is not fit for a run is refused in one line before
any bench starts. One run builds two benches (the only slow test here); the rules are
checked in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evrig.rig.rig_pool import PoolError, load_pool

ROOT = Path(__file__).resolve().parent.parent
TWO_VIRTUAL = "- sim\n- {rig: sim, station: sim-b}\n"  # shipped names: from any folder

REAL = """\
station: {station}
profile: evnet-7kw
bench: real
charger: {{charge_point_id: {cp_id}}}
csms: {{host: 0.0.0.0, port: {port}, security_profile: 0}}
instruments:
  ev: {{backend: rpi}}
  meter: {{port: {meter}, model: sdm230}}
"""


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()  # not this run's bench, nor its worker id
           if k != "RIG_FILE" and not k.startswith("PYTEST_XDIST")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_pool_spreads_testcases_over_its_benches(tmp_path: Path) -> None:
    """Two real testcases and one that fails on purpose, ``-n`` left to the pool: both
    benches are used, and the JUnit XML, allure and the failure line name the bench."""
    _write(tmp_path, "pool.yaml", TWO_VIRTUAL)
    _write(tmp_path, "test_on_pool.py", textwrap.dedent("""\
        from evrig.testcases.pilot.test_cp_states import test_state_a_no_ev  # noqa: F401
        from evrig.testcases.pilot.test_proximity import (  # noqa: F401
            test_profile_bands_are_the_standards)

        def test_fails_on_purpose(rig):
            assert False, "on purpose"
        """))
    run = _pytest(tmp_path, "test_on_pool.py", "--rig-pool", "pool.yaml", "-rf",
                  "--junitxml=junit.xml", "--alluredir=allure")
    text = run.stdout + run.stderr
    assert run.returncode == 1, text[-3000:]
    assert "2 workers [3 items]" in text and "rig pool: pool.yaml (2 virtual benches" in text
    assert "gw0: sim-1 (" in text and "gw1: sim-b (" in text, text[:2000]
    benches = {}
    for case in ET.parse(tmp_path / "junit.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        benches[case.get("name")] = props.get("bench")
    assert set(benches) == {"test_state_a_no_ev", "test_profile_bands_are_the_standards",
                            "test_fails_on_purpose"}, benches
    assert set(benches.values()) == {"sim-1", "sim-b"}, benches
    failed_on = benches["test_fails_on_purpose"]
    assert f"FAILED on {failed_on} test_on_pool.py::test_fails_on_purpose" in text, text[-2000:]
    labels = [label for result in (tmp_path / "allure").glob("*-result.json")
              for label in json.loads(result.read_text())["labels"]
              if label["name"] == "bench"]
    assert {label["value"] for label in labels} == {"sim-1", "sim-b"}, labels


def test_a_malformed_pool_file_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path, "pool.yaml", "- sim\n- {rig: sim, statoin: sim-b}\n")
    run = _pytest(tmp_path, "--rig-pool", "pool.yaml")
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert run.returncode == 4 and len(lines) == 1, lines
    assert lines[0] == ("ERROR: rig pool pool.yaml: entry 2.statoin: unknown key 'statoin' "
                        "(did you mean 'station'?)")


@pytest.mark.parametrize(("text", "expected"), [
    ("", "expected a list of rig files"),
    ("benches: [sim]", "expected a list of rig files, e.g. [sim.yaml, {rig: sim.yaml, "
                       "station: sim-2}]; got a mapping"),
    ("- [sim", "YAML syntax error at line 1"),
    ("- 42", "entry 1: expected a mapping with keys rig, station, got 42"),
    ("- sim\n- nothere.yaml", "entry 2: rig file "),
], ids=["empty", "mapping", "syntax", "number", "missing-rig"])
def test_a_malformed_pool_says_where(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(PoolError, match="^rig pool ") as caught:
        load_pool(_write(tmp_path, "pool.yaml", text))
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_benches_of_another_profile_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PoolError) as caught:
        load_pool(_write(tmp_path, "pool.yaml", "- sim\n- sim-compact-3ph\n"))
    message = str(caught.value)
    assert "bench 2 (sim-compact-3ph, " in message
    assert "in profile (evnet-compact, not evnet-7kw)" in message
    assert "interchangeable" in message


def test_benches_of_another_variant_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PoolError, match=r"in variant \(T2, not S\)"):
        load_pool(_write(tmp_path, "pool.yaml", "- sim\n- sim-t2\n"))


def test_one_virtual_rig_file_twice_needs_two_names(tmp_path: Path) -> None:
    with pytest.raises(PoolError, match="both use station sim-1; each bench needs a name of "
                                        r"its own: \{rig: FILE, station: NAME\}"):
        load_pool(_write(tmp_path, "pool.yaml", "- sim\n- sim.yaml\n"))
    pool = load_pool(_write(tmp_path, "pool.yaml", TWO_VIRTUAL))
    assert [(b.name, b.config.station) for b in pool.benches] == [("sim-1", "sim-1"),
                                                                   ("sim-b", "sim-b")]


def test_the_shipped_pool_loads() -> None:
    pool = load_pool(ROOT / "rigs" / "pool-sim.yaml")
    assert [b.name for b in pool.benches] == ["sim-1", "sim-2"]


def test_rig_check_checks_a_pool_file_as_a_pool(tmp_path: Path) -> None:
    """``rig check`` on a pool file: the pool's rules and every rig file it lists, one
    line per file, exit 1 if any is wrong (not "expected a mapping")."""
    good = _write(tmp_path, "pool.yaml", TWO_VIRTUAL)
    bad = _write(tmp_path, "bad.yaml", "- sim\n- sim-t2\n")
    run = subprocess.run([sys.executable, "-m", "evrig.rig", "check", str(good),
                          str(bad)], capture_output=True, text=True, timeout=120,
                         check=False)
    lines = run.stdout.splitlines()
    assert run.returncode == 1 and len(lines) == 2, run.stdout + run.stderr
    assert lines[0] == f"{good}: ok (a pool of 2 benches: sim-1, sim-b)"
    assert lines[1].startswith(f"rig pool {bad}: bench 2 (sim-t2, ") and "variant" in lines[1]


def _real(tmp_path: Path, name: str, **values: object) -> str:
    fields = {"station": name, "cp_id": f"CP-{name}", "port": 9000, "meter": "/dev/ttyUSB0"}
    _write(tmp_path, f"{name}.yaml", REAL.format(**{**fields, **values}))
    return f"{name}.yaml"


@pytest.mark.parametrize(("second", "expected"), [
    ({}, "both use CSMS port (on this PC) 9000"),
    ({"port": 9001}, "both use serial port /dev/ttyUSB0"),
    ({"port": 9001, "meter": "/dev/ttyUSB1"}, "both use GPIO pin (of this PC) 17"),
    ({"station": "lab-a", "port": 9001}, "both use station lab-a; each bench needs a name "
                                         "of its own: station: in its rig file"),
], ids=["csms-port", "serial-port", "gpio", "station"])
def test_two_real_benches_never_share_an_instrument(tmp_path: Path, second: dict[str, object],
                                                    expected: str) -> None:
    first = _real(tmp_path, "lab-a")
    other = _real(tmp_path, "lab-b", **second)
    with pytest.raises(PoolError, match="two benches must never share|needs a name") as caught:
        load_pool(_write(tmp_path, "pool.yaml", f"- {first}\n- {other}\n"))
    assert expected in str(caught.value)


def test_a_real_bench_keeps_its_station_and_kind(tmp_path: Path) -> None:
    real = _real(tmp_path, "lab-a")
    with pytest.raises(PoolError, match="a real bench's station is its name in unit records"):
        load_pool(_write(tmp_path, "pool.yaml", f"- {{rig: {real}, station: x}}\n"))
    with pytest.raises(PoolError, match=r"in bench \(real, not virtual\)"):
        load_pool(_write(tmp_path, "pool.yaml", f"- sim\n- {real}\n"))
