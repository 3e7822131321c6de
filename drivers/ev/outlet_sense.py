"""Outlet voltage sense on the EV emulator board: when the charger's contactor
puts voltage on the EV side, and when it takes it away.

An opto-isolated mains detector across L–N of the EV side (e.g. an H11AA1 behind a
current-limiting resistor, README "The EV emulator board") drives a Pi GPIO. Each
edge is stamped where it happens — by the GPIO library's edge callback on the Pi,
by the circuit model on the virtual bench — so the contactor's switching time is
the difference of two stamps (the EV's CP change and this edge), not the period of
a test's polling loop (design §4).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from evrig.rig.errors import InstrumentError

Edge = tuple[float, bool]  # (spec seconds, outlet live after the edge)


class OutletSense(Protocol):
    def edges_since(self, t: float) -> list[Edge]:
        """Edges stamped at or after spec time ``t``, oldest first."""
        ...

    def live(self) -> bool:
        """Whether the outlet carries voltage now."""
        ...

    def close(self) -> None: ...


class SimOutletSense:
    """The virtual board's detector: the circuit's stamped outlet edges
    (:meth:`sim.electrical.Circuit.at`)."""

    def __init__(self, board: Any) -> None:
        self._board = board

    def edges_since(self, t: float) -> list[Edge]:
        return [e for e in list(self._board.outlet_edges) if e[0] >= t]

    def live(self) -> bool:
        return bool(self._board.at().outlet_live)

    def close(self) -> None:
        pass


class RpiOutletSense:
    """The detector's GPIO on the Pi, edges from lgpio's alert callback.

    The stamp is the rig clock read in the callback: lgpio delivers an edge within
    about a millisecond on a Pi 4/5, two orders below the 100 ms IEC contactor limit.
    The detector's own delay (the opto's half-wave ripple is smoothed by an RC of
    about 5 ms) is the board's, documented in the README."""

    DEBOUNCE_US = 8000  # longer than one 50 Hz half wave: a live outlet is one level

    def __init__(self, pin: int, clock: Callable[[], float], chip: int = 0) -> None:
        try:
            import lgpio  # only on a Pi
        except ImportError as exc:
            raise InstrumentError("EV emulator outlet sense", f"GPIO{pin}",
                                  f"cannot use the Pi's GPIO ({exc}); on the Pi: "
                                  "pip install -e '.[pi]'") from exc
        self._lgpio = lgpio
        self._clock = clock
        self._lock = threading.Lock()
        self._edges: list[Edge] = []
        try:
            self._chip = lgpio.gpiochip_open(chip)
            lgpio.gpio_claim_alert(self._chip, pin, lgpio.BOTH_EDGES)
            lgpio.gpio_set_debounce_micros(self._chip, pin, self.DEBOUNCE_US)
            self._pin = pin
            self._live = bool(lgpio.gpio_read(self._chip, pin))
            self._cb = lgpio.callback(self._chip, pin, lgpio.BOTH_EDGES, self._on_edge)
        except Exception as exc:  # lgpio.error: not a Pi, no permission
            raise InstrumentError("EV emulator outlet sense", f"GPIO{pin}",
                                  f"cannot open ({exc}); run on the Pi, user in group gpio"
                                  ) from exc

    def _on_edge(self, chip: int, gpio: int, level: int, tick: int) -> None:
        if level > 1:  # a watchdog report, not an edge
            return
        with self._lock:
            self._live = bool(level)
            self._edges.append((self._clock(), bool(level)))
            del self._edges[:-1000]

    def edges_since(self, t: float) -> list[Edge]:
        with self._lock:
            return [e for e in self._edges if e[0] >= t]

    def live(self) -> bool:
        with self._lock:
            return self._live

    def close(self) -> None:
        try:
            self._cb.cancel()
            self._lgpio.gpiochip_close(self._chip)
        except Exception:  # closing at exit: nothing left to save
            pass
