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
from typing import Any

import yaml

from evrig.rig.errors import RigFileError

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


def _floats(value: Any, n: int, file: str, key: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != n or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise RigFileError(file, key, f"expected a list of {n} numbers, got {value!r}")
    return tuple(float(v) for v in value)


def from_data(data: Any, file: str) -> Calibration:
    if not isinstance(data, dict) or not isinstance(data.get("colours"), dict):
        raise RigFileError(file, "colours", "expected a mapping colour -> "
                           "{chromaticity: [r, g, b], brightness: c}; run `rig calibrate led`")
    colours: dict[str, ColourRef] = {}
    for name, entry in data["colours"].items():
        key = f"colours.{name}"
        if name == OFF:
            raise RigFileError(file, key, "dark_grey is the unlit ring: give it as `dark:`")
        if not isinstance(entry, dict):
            raise RigFileError(file, key, "expected {chromaticity: [r, g, b], brightness: c}")
        chroma = _floats(entry.get("chromaticity"), 3, file, f"{key}.chromaticity")
        bright = entry.get("brightness")
        if not isinstance(bright, int | float) or bright <= 0:
            raise RigFileError(file, f"{key}.brightness", f"expected a number > 0, got {bright!r}")
        colours[name] = ColourRef((chroma[0], chroma[1], chroma[2]), float(bright))
    dark = _floats(data.get("dark", [0, 0, 0, 0]), 4, file, "dark")
    return Calibration(colours, (dark[0], dark[1], dark[2], dark[3]),
                       float(data.get("off_fraction", 0.08)),
                       float(data.get("max_distance", 0.2)), source=file)


def load_calibration(path: str | Path | None = None) -> Calibration:
    """A calibration file; None = the virtual bench's, shipped with the driver."""
    if path is None:
        ref = resources.files("evrig.rig.tables") / "led" / VIRTUAL_BENCH
        return from_data(yaml.safe_load(ref.read_text(encoding="utf-8")), VIRTUAL_BENCH)
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RigFileError(file, "", f"cannot read the LED calibration ({exc.strerror}); "
                           "run `rig calibrate led` to make one") from None
    return from_data(yaml.safe_load(text), file)
