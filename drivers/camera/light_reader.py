"""The panel's lights read from camera frames: colour per frame, blink over a window.

Per frame, each light's boxes (the calibration's regions: the belt at a few places,
an indicator's LED, the RFID area's corners) are measured at the calibration's
exposure (drivers/camera/exposure.py). A light is lit when its brightest channel is
``lit_fraction`` of the way from the unlit look to the dimmest colour; a lit light's
colour is the calibrated one nearest in chromaticity (brightness taken out, so a
dimmer or brighter frame keeps its colour names) — the scheme of the LED ring's
classifier (drivers/led/classifier.py), with the camera's references. A light with
several boxes shows the colour most of its boxes show (a reflection on one corner
does not decide).

Over a window of timestamped frames, the colours become an observation by the LED
ring's blink detector (drivers/led/blink.py): the same :class:`LedObservation` the
``led`` fixture returns, so a testcase reads a belt and a ring alike.
:func:`blink_class` names the profile's blink class the measured period is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evrig.drivers.camera.capture import Frame
from evrig.drivers.camera.exposure import brightest_colour, gain
from evrig.drivers.led.blink import LedObservation, Sample, detect
from evrig.drivers.led.classifier import UNKNOWN
from evrig.rig.tables.panel_layout import OFF, CameraCalibration

STEADY = "steady"
SATURATED = 250.0  # a channel this high is the sensor's full scale (JPEG rounds 255 off)
PERIOD_TOLERANCE = 0.3  # a blink is of a class when its period is within 30 % of it


def _chroma(bgr: NDArray[np.float64]) -> NDArray[np.float64]:
    total = float(bgr.sum())
    return bgr / total if total > 0 else np.zeros(3)


class LightReader:
    def __init__(self, calibration: CameraCalibration) -> None:
        self.calibration = calibration
        refs = {n: np.array(c, np.float64) for n, c in calibration.colours.items()}
        self._lit = {n: _chroma(c) for n, c in refs.items() if n != OFF}
        dimmest = min(float(refs[n].max()) for n in self._lit)
        unlit = {name: float(refs[OFF].max()) for name in calibration.lights}
        unlit.update({n: float(max(c)) for n, c in (calibration.unlit or {}).items()})
        # Per light: the top-channel level above which it counts as lit.
        self.lit_level = {n: dark + calibration.lit_fraction * (dimmest - dark)
                          for n, dark in unlit.items()}
        self._scaled: dict[tuple[int, int], CameraCalibration] = {}

    @property
    def lights(self) -> tuple[str, ...]:
        return tuple(self.calibration.lights)

    def _for_size(self, image: NDArray[np.uint8]) -> CameraCalibration:
        size = (image.shape[1], image.shape[0])
        if size not in self._scaled:
            self._scaled[size] = self.calibration.scaled(*size)
        return self._scaled[size]

    def _label(self, raw: NDArray[np.float64], bgr: NDArray[np.float64], name: str) -> str:
        """The colour of one box: ``raw`` as the frame shows it, ``bgr`` at the
        calibration's exposure. A saturated box is lit whatever the exposure says: an
        LED brighter than the sensor's full scale reads 255 at any exposure, so
        scaling it back would make it look dim."""
        if float(bgr.max()) < self.lit_level[name] and float(raw.max()) < SATURATED:
            return OFF
        chroma = _chroma(bgr)
        name, distance = min(((n, math.dist(chroma, ref)) for n, ref in self._lit.items()),
                             key=lambda x: x[1])
        return name if distance <= self.calibration.max_distance else UNKNOWN

    def measure(self, image: NDArray[np.uint8], name: str) -> tuple[str, float]:
        """(colour, brightness) of light ``name`` in one frame; brightness is the top
        channel at the calibration's exposure, 0..255."""
        cal = self._for_size(image)
        if name not in cal.lights:
            raise KeyError(f"no light {name!r} in the camera calibration; it has "
                           f"{', '.join(cal.lights)}")
        k = gain(image, cal)
        raw = [brightest_colour(image, box) for box in cal.lights[name]]
        seen = [r * k for r in raw]
        votes = Counter(self._label(r, bgr, name) for r, bgr in zip(raw, seen, strict=True))
        colour, count = votes.most_common(1)[0]
        level = max(float(bgr.max()) for bgr in seen)
        return (colour if count * 2 > len(seen) else UNKNOWN), level

    def colour(self, image: NDArray[np.uint8], name: str) -> str:
        return self.measure(image, name)[0]

    def colours(self, image: NDArray[np.uint8]) -> dict[str, str]:
        """Every light's colour in one frame."""
        return {name: self.colour(image, name) for name in self.lights}

    def sample(self, frame: Frame, name: str) -> Sample:
        colour, level = self.measure(frame.image, name)
        return Sample(frame.t, colour, level)

    def observe(self, frames: Sequence[Frame], name: str) -> LedObservation:
        """What light ``name`` did over a window of frames (in time order)."""
        return detect([self.sample(f, name) for f in frames])


def blink_class(observation: LedObservation, light: Any,
                tolerance: float = PERIOD_TOLERANCE) -> str | None:
    """``steady`` for one colour, else the name of the light's blink class (profile
    ``lights.<name>.blink``: slow, fast …) whose period the blink has within
    ``tolerance``; None for a change of state or a period of no class."""
    if not observation.blinking:
        return STEADY if len(observation.colors) == 1 else None
    period = observation.period_s
    classes = getattr(light, "blink", {}) or {}
    if period is None or not classes:
        return None
    name, blink = min(classes.items(),
                      key=lambda kv: abs(math.log(period / kv[1].period_s)))
    return name if abs(period - blink.period_s) <= tolerance * blink.period_s else None
