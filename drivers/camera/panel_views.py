"""The ``display``, ``indicators`` and belt ``led`` fixtures (design §3) over one
:class:`~evrig.drivers.camera.panel.PanelObserver`: the front panel as a person at the
charger reads it, through the bench's camera.

- :class:`PanelDisplay`: the character display's text; ``wait_for(regex)``.
- :class:`PanelIndicators`: the small lights by name (EV PLUS: wifi, plug, charging,
  fault; 003 §7.1.3) against their own tables' rows.
- :class:`PanelLight`: the main light (EV PLUS: the LED belt, 003 §7.1.1) with the
  LED ring's API (drivers/api.py ``Led``): the same testcases read a ring through a
  colour sensor and a belt through a camera.

Expected patterns come from the profile's light tables; windows and timeouts are spec
seconds on the rig clock (design §4).
"""

from __future__ import annotations

from collections.abc import Mapping

from evrig.drivers.camera.display_reader import DisplayReading
from evrig.drivers.camera.panel import PanelObserver
from evrig.drivers.led.blink import LedObservation
from evrig.drivers.led.observer import watch_until
from evrig.rig.profile import Led


class PanelDisplay:
    def __init__(self, observer: PanelObserver) -> None:
        self._observer = observer

    def text(self) -> str:
        """The display now (two frames in a row agree)."""
        return self._observer.text()

    def reading(self) -> DisplayReading:
        """The display now with its lit unit legend (V, A, Hz, kWh, min) if any."""
        return self._observer.reading()

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        """The first text in which regular expression ``pattern`` is found; DisplayTimeout
        naming what was shown when it does not come within ``timeout`` spec seconds."""
        return self._observer.wait_for(pattern, timeout)

    def safe_state(self) -> None:
        """A camera only looks: nothing to switch off between tests."""


class PanelIndicators:
    """``lights``: the profile's indicator tables by name."""

    def __init__(self, observer: PanelObserver, lights: Mapping[str, Led]) -> None:
        self._observer = observer
        self._lights = {name: light for name, light in lights.items()
                        if light.kind == "indicator"}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._lights)

    def _light(self, name: str) -> Led:
        if name not in self._lights:
            raise ValueError(f"no indicator {name!r} on this panel; it has "
                             f"{', '.join(self._lights)}")
        return self._lights[name]

    def observe(self, name: str, seconds: float | None = None) -> LedObservation:
        """What indicator ``name`` did over ``seconds`` (default: enough to time its
        blink)."""
        self._light(name)
        return self._observer.observe(name, seconds)

    def expected(self, name: str, row: str, online: bool = True) -> tuple[str, str]:
        """Row ``row`` of indicator ``name``'s table (e.g. plug, Connected)."""
        return self._light(name).row(row).pattern(online)

    def wait_for(self, name: str, row: str, online: bool = True, timeout: float = 30.0,
                 window: float | None = None) -> LedObservation:
        """Observe indicator ``name`` until it shows its table's ``row``."""
        return watch_until(lambda: self.observe(name, window),
                           self.expected(name, row, online), self._observer.clock, timeout,
                           f"indicator {name} never showed {row}")

    def safe_state(self) -> None:
        """A camera only looks: nothing to switch off between tests."""


class PanelLight:
    """The main light (``name`` in the calibration, ``spec`` its table) as ``led``."""

    def __init__(self, observer: PanelObserver, name: str, spec: Led) -> None:
        self._observer = observer
        self.name = name
        self.spec = spec

    def observe(self, seconds: float | None = None) -> LedObservation:
        return self._observer.observe(self.name, seconds)

    def expected(self, status: str, online: bool = True) -> tuple[str, str]:
        """The table's two patches for ``status`` (``Powerup`` for the power-up light)."""
        return self.spec.row(status).pattern(online)

    def wait_for(self, status: str, online: bool = True, timeout: float = 30.0,
                 window: float | None = None) -> LedObservation:
        word = "online" if online else "offline"
        return watch_until(lambda: self.observe(window), self.expected(status, online),
                           self._observer.clock, timeout,
                           f"LED {self.name} never showed {status} ({word})")

    def safe_state(self) -> None:
        """A camera only looks: nothing to switch off between tests."""
