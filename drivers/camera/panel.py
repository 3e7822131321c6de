"""The front panel through a camera: what the ``display``, ``indicators`` and belt
``led`` fixtures will stand on (design §3; the wiring into fixtures is not here).

``text()`` is the display now (two frames in a row must agree: a real LED matrix is
multiplexed, a short exposure can catch it half drawn); ``wait_for(regex)`` reads
frame after frame until the display matches. ``observe(name, seconds)`` is what one
light did over a window of frames (an :class:`LedObservation`, as the LED ring's
sensor gives), ``observe_all`` every light from the same frames. Windows and
timeouts are spec seconds on the rig clock (design §4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evrig.drivers.camera.capture import Frame, FrameWindow
from evrig.drivers.camera.display_reader import DisplayReader, DisplayReading
from evrig.drivers.camera.light_reader import LightReader
from evrig.drivers.led.blink import LedObservation
from evrig.rig.tables.panel_layout import CameraCalibration, DisplayGeometry

WINDOW_PERIODS = 3.2  # a window spans this many periods of the light's slowest blink
AGREE_TRIES = 10  # frames to wait for two readings in a row that agree


class DisplayTimeout(AssertionError):
    """The display never showed the expected text."""


class PanelObserver:
    """``lights``: the profile's light tables by name (for each light's blink periods);
    a light of the calibration without a table (the RFID corners) is timed by the
    slowest blink of all."""

    def __init__(self, camera: FrameWindow, geometry: DisplayGeometry,
                 calibration: CameraCalibration, lights: Mapping[str, Any]) -> None:
        self.camera = camera
        self.clock = camera.clock
        self.display = DisplayReader(geometry, calibration)
        self.lights = LightReader(calibration)
        self._specs = dict(lights)
        periods = [light.slowest_blink_s for light in self._specs.values()
                   if light.slowest_blink_s]
        self._slowest = max(periods, default=1.0)

    # -- the display -----------------------------------------------------------------------
    def reading(self) -> DisplayReading:
        """The display now: the first reading that the next frame confirms."""
        frame = self.camera.frame()
        last = self.display.read(frame.image)
        for _ in range(AGREE_TRIES):
            frame = self.camera.frame(newer_than=frame.index)
            now = self.display.read(frame.image)
            if (now.text, now.unit) == (last.text, last.unit):
                return now
            last = now
        return last

    def text(self) -> str:
        return self.reading().text

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        """The first display text in which ``pattern`` (a regular expression) is found
        (``re.search``: anchor it to match the whole text); DisplayTimeout with what
        was shown when it does not come within ``timeout`` spec seconds."""
        regex = re.compile(pattern)
        deadline = self.clock.now() + timeout
        seen: list[str] = []
        index = 0
        while True:
            frame = self.camera.frame(newer_than=index)
            index = frame.index
            text = self.display.read(frame.image).text
            if regex.search(text):
                confirm = self.camera.frame(newer_than=index)
                if regex.search(self.display.read(confirm.image).text):
                    return text
            if not seen or seen[-1] != text:
                seen.append(text)
            if frame.t >= deadline:
                shown = ", ".join(repr(t) for t in seen[-5:])
                raise DisplayTimeout(f"display never showed /{pattern}/ within {timeout:g} s; "
                                     f"it showed {shown}")

    # -- the lights ------------------------------------------------------------------------
    def window(self, name: str | None = None) -> float:
        """Spec seconds that time a blink of light ``name`` (None: of every light)."""
        spec = self._specs.get(name) if name is not None else None
        period = spec.slowest_blink_s if spec is not None and spec.slowest_blink_s else \
            self._slowest
        return WINDOW_PERIODS * period

    def observe(self, name: str, seconds: float | None = None) -> LedObservation:
        """What light ``name`` did over ``seconds`` (default: enough to time its blink)."""
        frames = self.camera.frames(seconds if seconds is not None else self.window(name))
        return self.lights.observe(frames, name)

    def observe_all(self, seconds: float | None = None) -> dict[str, LedObservation]:
        """Every light over one window of frames."""
        frames: list[Frame] = self.camera.frames(seconds if seconds is not None
                                                 else self.window())
        return {name: self.lights.observe(frames, name) for name in self.lights.lights}
