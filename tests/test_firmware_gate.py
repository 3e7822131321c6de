"""A regression run's firmware (rig.firmware_gate): the unit must report the version
the run claims, else nothing is filed under it; ``--install IMAGE`` puts it on the
unit through OCPP UpdateFirmware first; a profile without UpdateFirmware says so."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from evrig.rig.config import load_rig
from evrig.rig.errors import RigError
from evrig.rig.firmware_gate import FirmwareGate, check_installable, discard
from evrig.rig.records import read_record

ROOT = Path(__file__).resolve().parent.parent
OCPP_FW = ("UpdateFirmware", "GetDiagnostics")


@dataclass
class _Boot:
    payload: dict[str, Any]
    index: int = 0


@dataclass
class _Csms:
    boots: list[_Boot] = field(default_factory=list)

    @property
    def history(self) -> Any:
        return SimpleNamespace(calls=lambda action: list(self.boots))

    def wait_for(self, action: str, **_: Any) -> _Boot:
        return self.boots[-1]


def _rig(boot: str, console: str | None, operations: tuple[str, ...] = OCPP_FW) -> Any:
    return SimpleNamespace(
        csms=_Csms([_Boot({"firmwareVersion": boot})]),
        charger=None if console is None else SimpleNamespace(firmware=console),
        profile=SimpleNamespace(model="EV-TEST", ocpp=SimpleNamespace(
            operations_csms_to_cp=operations)))


def test_the_claimed_version_on_both_sources_is_verified():
    gate = FirmwareGate("9.9.9")
    gate.check(_rig("9.9.9", "9.9.9"))
    assert gate.verified
    assert gate.notes == ["firmware 9.9.9 verified before the testcases: 9.9.9 "
                          "(BootNotification and service console)"]


def test_another_version_is_refused_with_how_to_install_it():
    gate = FirmwareGate("9.9.9")
    with pytest.raises(RigError) as exc:
        gate.check(_rig("1.5.7.000014", "1.5.7.000014"))
    text = str(exc.value)
    assert "reports firmware 1.5.7.000014 (BootNotification and service console), not 9.9.9" \
        in text
    assert "nothing filed under 9.9.9" in text and "--install IMAGE" in text
    assert not gate.verified


def test_sources_that_disagree_are_refused():
    with pytest.raises(RigError, match=r"9\.9\.9 \(BootNotification\), 1\.0 \(service console\)"):
        FirmwareGate("9.9.9").check(_rig("9.9.9", "1.0"))


def test_without_a_console_the_boot_notification_decides():
    gate = FirmwareGate("2.0")
    gate.check(_rig("2.0", None))
    assert gate.verified and "2.0 (BootNotification)" in gate.notes[0]


def test_a_profile_without_update_firmware_is_told_so():
    with pytest.raises(RigError, match="takes no firmware over OCPP"):
        FirmwareGate("9.9.9").check(_rig("1.0", "1.0", operations=("Reset",)))


def test_install_is_checked_before_the_bench(tmp_path):
    evplus = load_rig(str(ROOT / "rigs" / "sim-evplus-7s.yaml"))
    with pytest.raises(RigError, match="cannot be installed over OCPP"):
        check_installable(evplus, str(tmp_path / "fw.bin"))
    evnet = load_rig(str(ROOT / "rigs" / "sim.yaml"))
    with pytest.raises(RigError, match="no such file"):
        check_installable(evnet, str(tmp_path / "missing.bin"))
    image = tmp_path / "fw.bin"
    image.write_bytes(b"EVNET-FW 9.9.9\n")
    check_installable(evnet, str(image))
    check_installable(evplus, None)  # nothing to install: nothing to check


def test_discard_leaves_nothing_under_the_version(tmp_path):
    run = tmp_path / "regression" / "9.9.9" / "RUN"
    run.mkdir(parents=True)
    (run / "junit.xml").write_text("<testsuites/>")
    discard(run)
    assert not (tmp_path / "regression" / "9.9.9").exists()
    kept = tmp_path / "regression" / "1.0" / "RUN"
    kept.mkdir(parents=True)
    (kept / "record.json").write_text("{}")  # not a refused run's: left alone
    discard(kept)
    assert (kept / "record.json").exists()


# -- end to end on the virtual bench ----------------------------------------------------
def _regression(tmp_path: Path, rig: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "evrig.rig", "run", "regression", "--operator", "ci",
           "--rig", str(ROOT / "rigs" / rig), "-k", "test_cold_boot and not pending", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_regression_refuses_a_unit_on_another_firmware(tmp_path):
    done = _regression(tmp_path, "sim.yaml", "--firmware", "9.9.9")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "reports firmware 1.5.7.000014" in done.stderr
    assert "nothing filed under 9.9.9" in done.stderr
    assert not (tmp_path / "reports" / "regression" / "9.9.9").exists()


def test_regression_installs_the_claimed_firmware_over_ocpp(tmp_path):
    image = tmp_path / "evnet-9.9.9.bin"
    image.write_bytes(b"EVNET-FW 9.9.9\n" + bytes(range(256)) * 4)  # the twin's format
    done = _regression(tmp_path, "sim.yaml", "--firmware", "9.9.9", "--install", str(image))
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = (tmp_path / "reports" / "regression" / "9.9.9").glob("*/record.json")
    record = read_record(path)
    assert record.firmware == "9.9.9" and record.outcome == "passed"
    assert any("installed through OCPP UpdateFirmware" in n and "now 9.9.9" in n
               for n in record.notes), record.notes


def test_regression_install_on_a_unit_without_update_firmware(tmp_path):
    image = tmp_path / "evplus.bin"
    image.write_bytes(b"EVPLUS-FW 9.9.9\n")
    done = _regression(tmp_path, "sim-evplus-7s.yaml", "--firmware", "9.9.9",
                       "--install", str(image))
    assert done.returncode == 3
    assert "cannot be installed over OCPP" in done.stderr
    assert not (tmp_path / "reports").exists()  # refused before the bench and any record
