"""The ``led`` fixture: watch the charger's ring and say what it shows (design §3).

``observe(seconds)`` samples the sensor for a window and returns a
:class:`LedObservation`; ``wait_for(status, online=...)`` looks the expected pattern
up in the profile's LED table and observes window after window until the ring shows
it. Timestamps and durations are spec seconds on the rig clock (design §4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evrig.drivers.led.blink import LedObservation, Sample, detect
from evrig.drivers.led.classifier import Classifier
from evrig.drivers.led.tcs34725 import RawReading, Tcs34725
from evrig.rig.clock import Clock
from evrig.rig.errors import RigError
from evrig.rig.tables.led_calibration import Calibration

SAMPLE_INTERVAL_S = 0.05  # 20 Hz: ≥ 10 samples per phase of a 1 s, 50 % blink
INTEGRATION_MS = 24.0  # 10 cycles; a 1 s blink changes colour in ≤ 1 of 2 readings
WINDOW_PERIODS = 3.2  # a window spans this many blink periods (≥ 3 changes to time)


class LedTimeout(AssertionError):
    """The ring never showed the expected pattern."""


class LedObserver:
    def __init__(self, sensor: Tcs34725, clock: Clock, led_spec: Any,
                 calibration: Calibration | None, *,
                 sample_interval_s: float = SAMPLE_INTERVAL_S,
                 on_close: Callable[[], None] | None = None) -> None:
        self.sensor = sensor
        self.clock = clock
        self.spec = led_spec
        self.calibration = calibration
        self.classifier = Classifier(calibration) if calibration else None
        self.sample_interval_s = sample_interval_s
        self.blink_period_s: float = led_spec.slowest_blink_s or 1.0
        self._on_close = on_close
        self._enabled = False

    # -- sampling ------------------------------------------------------------------------
    def _ensure(self) -> None:
        if not self._enabled:
            self.sensor.enable(INTEGRATION_MS, gain=4.0)
            self._enabled = True

    def read(self) -> tuple[float, RawReading]:
        """One reading with automatic gain; stamped mid-integration (spec s)."""
        self._ensure()
        lit = self.calibration.lit_rate if self.calibration else 0.0
        raw = self.sensor.read_auto(lit_rate=lit)
        return self.clock.now() - self.sensor.integration_s, raw

    def sample(self) -> Sample:
        if self.classifier is None:
            raise RigError("instruments.led: no LED calibration for this rig; run "
                           "`rig calibrate led --rig <rig file>` and set "
                           "instruments.led.calibration")
        t, raw = self.read()
        level = raw.rates()[0] - self.classifier.calibration.dark[0]
        return Sample(t, self.classifier.label(raw), max(0.0, level))

    def samples(self, seconds: float) -> list[Sample]:
        """Samples every ``sample_interval_s`` for ``seconds`` spec seconds."""
        out = [self.sample()]
        end = out[0].t + seconds
        while True:
            next_t = out[-1].t + self.sample_interval_s
            self.clock.sleep(next_t - (self.clock.now() - self.sensor.integration_s))
            out.append(self.sample())
            if out[-1].t >= end:
                return out

    # -- the fixture's API -------------------------------------------------------------
    def observe(self, seconds: float | None = None) -> LedObservation:
        """What the ring shows over ``seconds`` (default: enough periods to time a blink)."""
        window = seconds if seconds is not None else WINDOW_PERIODS * self.blink_period_s
        return detect(self.samples(window))

    def expected(self, status: str, online: bool = True) -> tuple[str, str]:
        """The table's two patches for ``status`` (``Powerup`` for the power-up light)."""
        return self.spec.row(status).pattern(online)

    def wait_for(self, status: str, online: bool = True, timeout: float = 30.0,
                 window: float | None = None) -> LedObservation:
        """Observe until the ring shows the profile's pattern for ``status``; returns
        that observation, or raises :class:`LedTimeout` with what was seen."""
        word = "online" if online else "offline"
        return watch_until(lambda: self.observe(window), self.expected(status, online),
                           self.clock, timeout, f"LED ring never showed {status} ({word})")

    def safe_state(self) -> None:
        """A sensor only looks: nothing to switch off between tests."""

    def close(self) -> None:
        try:
            if self._enabled:
                self.sensor.disable()
        except Exception:  # closing must not hide the rest of the teardown
            pass
        if self._on_close is not None:
            self._on_close()


def watch_until(observe: Callable[[], LedObservation], pattern: tuple[str, str],
                clock: Clock, timeout: float, failure: str) -> LedObservation:
    """Observe window after window until a light shows ``pattern`` (a table's two
    patches); that observation, or :class:`LedTimeout` ("<failure> = <pattern> within
    <timeout> s; last seen: ...") after ``timeout`` spec seconds."""
    seen: list[LedObservation] = []
    deadline = clock.now() + timeout
    while True:
        obs = observe()
        if obs.matches(pattern):
            return obs
        seen.append(obs)
        if clock.now() >= deadline:
            shown = "; ".join(_brief(o) for o in seen[-3:])
            raise LedTimeout(f"{failure} = {_pattern_text(pattern)} within {timeout:g} s; "
                             f"last seen: {shown}")


def _pattern_text(pattern: tuple[str, str]) -> str:
    a, b = pattern
    return f"steady {a}" if a == b else f"blinking {a}/{b}"


def _brief(obs: LedObservation) -> str:
    if obs.blinking:
        period = f" period {obs.period_s:.2f} s" if obs.period_s else ""
        return f"blinking {'/'.join(obs.colors)}{period}"
    if len(obs.colors) == 1:
        return f"steady {obs.colors[0]}"
    return f"changing {' -> '.join(obs.colors) or 'nothing'}"
