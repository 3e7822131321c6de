"""Kernel tables (rig/tables) read through the one strict loader (rig/typed_yaml.py):
a misspelt key in an SCPI command table, a meter map or an LED calibration is one
line naming the file, the key path and what is expected — never a silent default
(a misspelt ``ranges:`` once turned range checking off without a word)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from evrig.rig.errors import RigFileError
from evrig.rig.tables.led_calibration import VIRTUAL_BENCH, load_calibration
from evrig.rig.tables.meter_maps import MapError, load_map, map_file
from evrig.rig.tables.scpi_models import ModelError, read_model_file


def _copy(tmp_path: Path, source: str, old: str, new: str) -> Path:
    text = Path(source).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source}"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    return bad


def _one_line(message: str) -> str:
    assert "\n" not in message and "Traceback" not in message, message
    return message


SCPI = str(resources.files("evrig.rig.tables") / "scpi" / "chroma-61500.yaml")
LED = str(resources.files("evrig.rig.tables") / "led" / VIRTUAL_BENCH)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("ranges:", "rnages:", r"bad\.yaml: rnages: unknown key 'rnages' \(did you mean 'ranges'\?\)"),
    ("voltage: [0, 300]", "voltage: [300, 0]",
     r"bad\.yaml: ranges\.voltage: expected \[low, high\]"),
    ("kind: ac_source", "kind: ac_sorce", r"bad\.yaml: kind: expected one of 'ac_source', "
                                          r"'ac_load', got 'ac_sorce'"),
    ("  pattern:", "  patern:", r"bad\.yaml: idn\.patern: unknown key"),
    ("phases: 3", "phases: three", r"bad\.yaml: phases: expected 1 or 3"),
])
def test_scpi_table_mistakes(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(ModelError) as caught:
        read_model_file(str(_copy(tmp_path, SCPI, old, new)))
    assert _one_line(str(caught.value)) and caught.match(expected)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("holding_registers:", "holding_registrs:", r"bad\.yaml: holding_registrs: unknown key "
                                                r"'holding_registrs' \(did you mean"),
    ("parity: N", "parity: X", r"bad\.yaml: serial\.parity: expected one of 'N', 'E', 'O'"),
    ("default: 0.0,", "default: .nan,", r"bad\.yaml: input_registers\.current_l1\.default: "
                                        r"expected a finite number, got nan"),
    ("current_l1: {register: 30007", "current_l1: {register: 40007",
     r"input_registers\.current_l1\.register: a register number from 30001"),
])
def test_meter_map_mistakes(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(MapError) as caught:
        load_map(_copy(tmp_path, str(map_file("ct")), old, new))
    assert _one_line(str(caught.value)) and caught.match(expected)


def test_meter_map_key_given_twice(tmp_path: Path) -> None:
    bad = _copy(tmp_path, str(map_file("ct")), "model: ct\n", "model: ct\nmodel: sdm230\n")
    with pytest.raises(MapError, match=r"bad\.yaml: line \d+, column 1: key 'model' is given "
                                       r"twice"):
        load_map(bad)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("max_distance:", "max_distnce:", r"bad\.yaml: max_distnce: unknown key 'max_distnce' "
                                      r"\(did you mean 'max_distance'\?\)"),
    ("brightness: 38.0", "brightness: -1", r"colours\.blue\.brightness: expected a number > 0"),
    ("colours:\n  blue:", "colours:\n  dark_grey: {chromaticity: [0, 0, 0], brightness: 1}\n"
                          "  blue:", r"colours\.dark_grey: dark_grey is the unlit ring"),
    ("sensor: TCS34725", "sensor: TCS3200", r"sensor: expected 'TCS34725'"),
])
def test_led_calibration_mistakes(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(RigFileError) as caught:
        load_calibration(_copy(tmp_path, LED, old, new))
    assert _one_line(str(caught.value)) and caught.match(expected)


def test_shipped_tables_load() -> None:
    assert load_calibration().colours and load_calibration(LED).colours
    assert read_model_file(SCPI).ranges["voltage"] == (0.0, 300.0)
    with pytest.raises(RigFileError, match=r"no LED calibration here; run `rig calibrate led`"):
        load_calibration("/nonexistent/led.yaml")
