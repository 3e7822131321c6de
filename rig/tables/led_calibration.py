"""Per-rig LED calibration: what each colour of the ring looks like to this sensor.

A YAML file (written by ``rig calibrate led``, read by the observer)::

    sensor: TCS34725
    dark: [c, r, g, b]          # counts/ms at gain 1 with the ring unlit (light leak)
    off_fraction: 0.08          # lit = clear above dark by this share of the dimmest colour
    max_distance: 0.2           # farther than this from every colour: "unknown"
    colours:
      blue: {chromaticity: [r, g, b], brightness: c}

``chromaticity`` is the clear-normalised RGB of the ring's light with the dark
reading subtracted; ``brightness`` its clear rate at the LightIntensity it was
calibrated at. Colours are told apart by chromaticity only, so a dimmed ring
(LightIntensity) keeps its names; brightness decides lit vs unlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml

from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import Check, between, load_yaml
from evrig.rig.typed_yaml import from_data as typed_from_data

OFF = "dark_grey"  # the manuals' swatch for an unlit ring
VIRTUAL_BENCH = "virtual-bench.yaml"


@dataclass(frozen=True)
class ColourRef:
    chromaticity: tuple[float, float, float]
    brightness: float


@dataclass(frozen=True)
class Calibration:
    colours: dict[str, ColourRef]
    dark: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    off_fraction: float = 0.08
    max_distance: float = 0.2
    source: str = field(default="", compare=False)

    @property
    def lit_rate(self) -> float:
        """Clear rate (counts/ms, gain 1) above which the ring counts as lit."""
        dimmest = min((c.brightness for c in self.colours.values()), default=0.0)
        return self.dark[0] + self.off_fraction * dimmest

    def to_data(self) -> dict[str, Any]:
        return {
            "sensor": "TCS34725",
            "dark": [round(x, 4) for x in self.dark],
            "off_fraction": self.off_fraction,
            "max_distance": self.max_distance,
            "colours": {name: {"chromaticity": [round(x, 4) for x in ref.chromaticity],
                               "brightness": round(ref.brightness, 3)}
                        for name, ref in self.colours.items()},
        }

    def save(self, path: str | Path) -> None:
        """Written whole to a temporary file, then renamed: never half a calibration."""
        target = Path(path)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(yaml.safe_dump(self.to_data(), sort_keys=False), encoding="utf-8")
        tmp.replace(target)


def _numbers(n: int) -> Check:
    return Check.where(lambda v: len(v) == n, f"a list of {n} numbers")


@dataclass(frozen=True)
class _ColourEntry:
    chromaticity: Annotated[list[float], _numbers(3)]
    brightness: Annotated[float, Check.where(lambda v: v > 0, "a number > 0")]


@dataclass(frozen=True)
class _CalibrationFile:
    """The file's schema (rig/typed_yaml.py: unknown or misspelt keys are refused)."""

    colours: dict[str, _ColourEntry]
    sensor: Literal["TCS34725"] = "TCS34725"
    dark: Annotated[list[float], _numbers(4)] = field(default_factory=lambda: [0.0] * 4)
    off_fraction: Annotated[float, between(0.0, 1.0)] = 0.08
    max_distance: Annotated[float, Check.where(lambda v: v > 0, "a number > 0")] = 0.2


def from_data(data: Any, file: str) -> Calibration:
    """A calibration from parsed YAML; RigFileError naming the file and key path."""
    if data is None:
        raise RigFileError(file, "", "the file is empty; run `rig calibrate led` to make one")
    parsed = typed_from_data(_CalibrationFile, data, file=file)
    if OFF in parsed.colours:
        raise RigFileError(file, f"colours.{OFF}",
                           "dark_grey is the unlit ring: give it as `dark:`")
    colours = {name: ColourRef((e.chromaticity[0], e.chromaticity[1], e.chromaticity[2]),
                               e.brightness) for name, e in parsed.colours.items()}
    d = parsed.dark
    return Calibration(colours, (d[0], d[1], d[2], d[3]), parsed.off_fraction,
                       parsed.max_distance, source=file)


def load_calibration(path: str | Path | None = None) -> Calibration:
    """A calibration file; None = the virtual bench's, shipped with the rig."""
    if path is None:
        ref = resources.files("evrig.rig.tables") / "led" / VIRTUAL_BENCH
        return from_data(load_yaml(str(ref)), VIRTUAL_BENCH)
    file = str(path)
    if not Path(path).is_file():
        raise RigFileError(file, "", "no LED calibration here; run `rig calibrate led` to "
                           "make one")
    return from_data(load_yaml(path), file)
