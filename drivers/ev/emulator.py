"""EV emulator board: what a vehicle presents on the control pilot and proximity pins.

Relays on Pi GPIO switch the IEC 61851-1 EV-side resistors onto CP (behind the
EV's diode), a CP–PE short, a diode short, and one of the PP resistors. Which
relays make which state is a table, not code. A comparator and an ADC sense what
the charger drives on CP (:mod:`drivers.ev.cp_sense`); this driver computes duty,
frequency and the offered current from their raw data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evrig.drivers.ev.cp_sense import WINDOW_S, CpReading, CpSense, analyse
from evrig.drivers.ev.cp_sense import offered_current as current_for_duty
from evrig.drivers.ev.gpio import Gpio
from evrig.drivers.ev.outlet_sense import OutletSense
from evrig.drivers.ev.pp_resistor import PpResistor
from evrig.rig.clock import Clock
from evrig.rig.errors import MissingWire

# CP state → relays closed (IEC 61851-1: B = 2.74 kΩ, C = 2.74 kΩ ∥ 1.3 kΩ,
# D = 2.74 kΩ ∥ 270 Ω, E = CP shorted to PE). State A: EV not connected.
STATE_RELAYS: dict[str, tuple[str, ...]] = {
    "A": (),
    "B": ("r_b",),
    "C": ("r_b", "r_c"),
    "D": ("r_b", "r_d"),
    "E": ("cp_short",),
}
CP_RELAYS = ("r_b", "r_c", "r_d", "cp_short")

# PP resistor (Ω) → relay; the cable's ampacity → resistor (IEC 61851-1 / 62196).
PP_RELAYS: dict[int, str] = {1500: "pp_1k5", 680: "pp_680", 220: "pp_220", 100: "pp_100"}
CABLE_PP_OHMS: dict[int, int] = {13: 1500, 20: 680, 32: 220, 63: 100}


@dataclass(frozen=True)
class EvStatus:
    state: str
    pp_ohms: float | None
    diode: bool


class EvEmulator:
    """Drives the board. Safe state: state A, diode present, PP open."""

    def __init__(self, gpio: Gpio, pins: Any, clock: Clock, *, sense: CpSense | None = None,
                 pp_resistor: PpResistor | None = None,
                 outlet: OutletSense | None = None) -> None:
        self._gpio = gpio
        self._pins = pins
        self._clock = clock
        self._sense = sense
        self._pp_resistor = pp_resistor
        self._outlet = outlet
        for name in (*CP_RELAYS, "diode_short", *PP_RELAYS.values()):
            gpio.setup_output(getattr(pins, name))
        if sense is None:
            gpio.setup_input(pins.cp_sense)  # else the sense backend owns the pin
        self._state = "A"
        self._pp: float | None = None
        self._diode = True
        self.safe_state()

    def _relay(self, name: str, closed: bool) -> None:
        self._gpio.write(getattr(self._pins, name), closed)

    def set_state(self, state: str) -> float:
        """Present CP state A–E. Relays open first, then close: never two states at once.
        Returns the spec time the new state was on CP (stamped after the last relay
        write): the start of what the charger must react to."""
        state = state.upper()
        if state not in STATE_RELAYS:
            raise ValueError(f"CP state must be one of {', '.join(STATE_RELAYS)}, got {state!r}")
        wanted = set(STATE_RELAYS[state])
        # r_b opens last: C → A passes through B (as a car does: S2 opens, then the plug
        # leaves), never through r_c alone, an undefined CP level (≈7 V).
        for name in reversed(CP_RELAYS):
            if name not in wanted:
                self._relay(name, False)
        for name in STATE_RELAYS[state]:
            self._relay(name, True)
        self._state = state
        return self._clock.now()

    def set_pp(self, ohms: float | None) -> None:
        """Select the PP resistor (None = open: no cable). One of the relay values, or —
        where the board has a programmable resistor (``pp_programmable``) — any value
        in ohms, e.g. a band edge."""
        relay = PP_RELAYS.get(int(ohms)) if ohms is not None and ohms == int(ohms) else None
        if ohms is not None and relay is None:
            if self._pp_resistor is None:
                raise MissingWire(
                    f"PP {ohms} Ω needs a programmable PP resistor (instruments.ev."
                    f"pp_programmable); the relays offer {sorted(PP_RELAYS)} Ω")
            if not 0 < ohms <= 100_000:
                raise ValueError(f"PP resistance must be > 0 and <= 100 kΩ, got {ohms}")
        for name in PP_RELAYS.values():
            if name != relay:
                self._relay(name, False)
        if self._pp_resistor is not None:
            self._pp_resistor.set(ohms if relay is None else None)
        if relay is not None:
            self._relay(relay, True)
        self._pp = ohms

    def diode(self, present: bool) -> None:
        self._relay("diode_short", not present)
        self._diode = present

    def plug(self, cable_amps: int = 32) -> None:
        """Insert a cable of ``cable_amps`` and connect the EV: PP first, then state B,
        as a real plug makes contact (PP is the shortest pin)."""
        if cable_amps not in CABLE_PP_OHMS:
            raise ValueError(f"cable rating must be one of {sorted(CABLE_PP_OHMS)} A")
        self.set_pp(CABLE_PP_OHMS[cable_amps])
        self.set_state("B")

    def unplug(self) -> None:
        self.set_state("A")
        self.set_pp(None)

    def read_cp(self, window_s: float = WINDOW_S) -> CpReading:
        """What the charger drives on CP: state, levels, PWM duty and frequency, from
        the comparator's edges over ``window_s`` spec seconds and the ADC's levels."""
        if self._sense is None:
            raise MissingWire("this EV emulator board has no CP sense (comparator + ADC)")
        edges = self._sense.edges(window_s)
        high, low = self._sense.levels()
        return analyse(edges, high, low)

    def offered_current(self, window_s: float = WINDOW_S) -> float:
        """Amps the charger offers by its PWM duty (IEC 61851-1 Annex A); 0 without PWM."""
        reading = self.read_cp(window_s)
        return round(current_for_duty(reading.duty_pct), 1) if reading.freq_hz > 0 else 0.0

    def outlet_live(self) -> bool:
        """Whether the charger's outlet carries voltage (the board's outlet sense)."""
        return self._need_outlet().live()

    def outlet_edges(self, since: float) -> list[tuple[float, bool]]:
        """Outlet edges (spec time, live after) stamped at or after ``since``."""
        return self._need_outlet().edges_since(since)

    def wait_outlet(self, live: bool, since: float, timeout: float) -> float:
        """The spec time of the first outlet edge to ``live`` at or after ``since``
        (a stamp made where the edge happened, outlet_sense.py); AssertionError if none
        within ``timeout`` spec seconds of ``since``."""
        sense = self._need_outlet()
        found: list[float] = []

        def edge() -> bool:
            found[:] = [t for t, level in sense.edges_since(since) if level == live][:1]
            return bool(found)

        self._clock.wait_until(edge, since + timeout - self._clock.now(), poll=0.01)
        assert found, (f"outlet {'still dead' if live else 'still live'} {timeout:g} s "
                       f"after t={since:.3f} s")
        return found[0]

    def _need_outlet(self) -> OutletSense:
        if self._outlet is None:
            raise MissingWire("this EV emulator board has no outlet voltage sense "
                              "(instruments.ev.pins.outlet_sense)")
        return self._outlet

    @property
    def status(self) -> EvStatus:
        return EvStatus(self._state, self._pp, self._diode)

    def safe_state(self) -> None:
        self.set_state("A")
        self.diode(True)
        self.set_pp(None)
