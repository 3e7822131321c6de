"""Control-pilot sense on the EV emulator board: what the charger drives on CP.

The board has two paths from CP (README, "The EV emulator board"):

- a comparator (threshold 0 V on CP) on the Pi's ``cp_sense`` GPIO: its edges,
  timestamped by the GPIO library, give the PWM frequency and duty;
- an ADS1115 ADC on I2C behind two peak detectors: channel 0 holds CP's positive
  level, channel 1 its negative level, each through a divider and offset into the
  ADC's range. A 1 kHz PWM is too fast for an 860 SPS ADC to sample phase by phase;
  the peak detectors give the high and low levels whatever the duty.

The driver computes frequency, duty, state and offered current from what the
sense hardware returns (:func:`analyse`); the backends only return raw edges and
levels, so the arithmetic is tested once and is the same on the Pi and the
virtual bench.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evrig.rig.errors import InstrumentError

Edge = tuple[float, bool]  # (timestamp in spec seconds, level after the edge: True = high)

# IEC 61851-1 nominal CP levels, ±1 V.
CP_LEVELS = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0, "E": 0.0, "F": -12.0}
WINDOW_S = 0.02  # 20 periods of the 1 kHz pilot: enough to average the edge jitter


@dataclass(frozen=True)
class CpReading:
    """The control pilot as the EV sees it. ``duty_pct`` is 100 for a steady positive
    level (no PWM) and 0 for a steady 0 V or negative level; ``freq_hz`` 0 then."""

    state: str  # A..F, or "?" for a level outside every band
    high_v: float
    low_v: float
    duty_pct: float
    freq_hz: float


class CpSense(Protocol):
    """The sense hardware: raw comparator edges and the ADC's levels."""

    def edges(self, window_s: float) -> list[Edge]:
        """The comparator's edges during the next ``window_s`` spec seconds."""
        ...

    def levels(self) -> tuple[float, float]:
        """(high_v, low_v) of CP in volts."""
        ...

    def close(self) -> None: ...


# --- the arithmetic ---------------------------------------------------------------------


def cp_state(high_v: float) -> str:
    """The IEC 61851-1 state of a CP level (±1 V bands); "?" between bands."""
    for state, level in CP_LEVELS.items():
        if abs(high_v - level) <= 1.0:
            return state
    return "?"


def pwm_from_edges(edges: Sequence[Edge]) -> tuple[float, float] | None:
    """(duty_pct, freq_hz) from comparator edges, or None without two rising edges.

    Uses complete periods only (rising edge to rising edge) and drops periods more
    than 50 % away from the median: a relay bounce or a missed interrupt must not
    move the duty. Duty is total high time over total period time, so timestamp
    jitter averages out over the window.
    """
    ordered = sorted(edges)
    # Collapse repeats (two rising edges in a row: a missed falling edge).
    clean: list[Edge] = []
    for t, level in ordered:
        if clean and clean[-1][1] == level:
            continue
        clean.append((t, level))
    rises = [i for i, (_, level) in enumerate(clean) if level]
    periods: list[tuple[float, float]] = []  # (period, high time)
    for a, b in zip(rises, rises[1:], strict=False):
        if b - a != 2:
            continue
        t_rise, t_fall, t_next = clean[a][0], clean[a + 1][0], clean[b][0]
        periods.append((t_next - t_rise, t_fall - t_rise))
    if not periods:
        return None
    median = statistics.median(p for p, _ in periods)
    kept = [(p, h) for p, h in periods if median > 0 and abs(p - median) <= 0.5 * median]
    total = sum(p for p, _ in kept)
    if total <= 0:
        return None
    duty = 100.0 * sum(h for _, h in kept) / total
    return round(duty, 2), round(len(kept) / total, 1)


def analyse(edges: Sequence[Edge], high_v: float, low_v: float) -> CpReading:
    """A :class:`CpReading` from the raw sense data."""
    pwm = pwm_from_edges(edges)
    if pwm is None:
        # Steady level: the charger drives DC (no PWM), 0 V, or −12 V.
        duty, freq = (100.0 if high_v > 1.0 else 0.0), 0.0
    else:
        duty, freq = pwm
    return CpReading(cp_state(high_v), round(high_v, 2), round(low_v, 2), duty, freq)


def offered_current(duty_pct: float) -> float:
    """Current (A) a PWM duty offers, IEC 61851-1 Annex A: 10–85 % → duty × 0.6;
    85–96 % → (duty − 64) × 2.5; 8–10 % → 6 A; 5 % = digital communication and
    < 8 % or > 97 % = no charging → 0 A. 96–97 % is read as 80 A (the formula's top)."""
    d = float(duty_pct)
    if d < 8.0 or d > 97.0:
        return 0.0
    if d < 10.0:
        return 6.0
    if d <= 85.0:
        return round(d * 0.6, 2)
    if d <= 96.0:
        return round((d - 64.0) * 2.5, 2)
    return 80.0


def duty_for_current(amps: float) -> float:
    """The inverse: the duty a charger drives to offer ``amps`` (0 below 6 A)."""
    if amps < 6.0:
        return 0.0
    if amps <= 51.0:
        return round(amps / 0.6, 2)
    return round(min(amps, 80.0) / 2.5 + 64.0, 2)


# --- backends ---------------------------------------------------------------------------


class SimCpSense:
    """The virtual bench's comparator and ADC (served by :mod:`sim.ev_board`)."""

    def __init__(self, board: Any) -> None:
        self._board = board

    def edges(self, window_s: float) -> list[Edge]:
        return list(self._board.edges(window_s))

    def levels(self) -> tuple[float, float]:
        return self._board.levels()

    def close(self) -> None:
        pass


# ADS1115: config register 0x01, conversion 0x00; single-shot, ±4.096 V, 128 SPS.
_ADS_CONVERSION, _ADS_CONFIG = 0x00, 0x01
_ADS_MUX = {0: 0x4000, 1: 0x5000}  # AINx against GND
_ADS_BASE = 0x8000 | 0x0200 | 0x0100 | 0x0080 | 0x0003  # OS, ±4.096 V, single, 128 SPS
_ADS_LSB_V = 4.096 / 32768


@dataclass(frozen=True)
class AdcScale:
    """CP volts = adc volts × gain + offset_v: the board's divider (README: 100 kΩ
    from CP, 18 kΩ to a 2.5 V reference → CP −12..+12 V at the ADC as 0.29..3.95 V).
    Calibrate a board by reading two known CP levels."""

    gain: float = 118.0 / 18.0
    offset_v: float = 2.5 * (1 - 118.0 / 18.0)


class RpiCpSense:
    """lgpio edge timestamps on ``cp_sense`` and an ADS1115 over smbus2.

    lgpio reports each edge with the kernel's nanosecond tick, so the duty does not
    depend on Python's scheduling; RPi.GPIO offers no timestamps and is not used
    here. Both libraries are imported here only: they fail off a Pi.
    """

    def __init__(self, pin: int, *, bus: int = 1, address: int = 0x48,
                 scale: AdcScale | None = None, chip: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        try:
            import lgpio  # only on a Pi
            from smbus2 import SMBus
        except ImportError as exc:
            raise InstrumentError(
                "EV emulator CP sense", f"GPIO{pin}",
                f"cannot use the Pi's GPIO/I2C ({exc}); on the Pi: pip install -e '.[pi]'",
            ) from exc
        self._lgpio = lgpio
        self._scale = scale or AdcScale()
        self._address = address
        self._lock = threading.Lock()
        self._edges: list[Edge] = []
        self._recording = False
        try:
            self._chip = lgpio.gpiochip_open(chip)
            lgpio.gpio_claim_alert(self._chip, pin, lgpio.BOTH_EDGES)
            self._cb = lgpio.callback(self._chip, pin, lgpio.BOTH_EDGES, self._on_edge)
            self._bus = SMBus(bus)
        except Exception as exc:  # lgpio.error, OSError: not a Pi, no permission
            raise InstrumentError("EV emulator CP sense", f"GPIO{pin}, i2c-{bus}",
                                  f"cannot open ({exc}); run on the Pi, user in group gpio/i2c"
                                  ) from exc
        self._sleep = time.sleep
        self._clock = clock

    def _on_edge(self, chip: int, gpio: int, level: int, tick: int) -> None:
        if level > 1:  # lgpio reports 2 for a watchdog timeout, not an edge
            return
        with self._lock:
            if self._recording:
                self._edges.append((tick / 1e9, bool(level)))

    def edges(self, window_s: float) -> list[Edge]:
        with self._lock:
            self._edges, self._recording = [], True
        self._sleep(window_s)  # a real rig runs at speed 1: spec seconds are seconds
        with self._lock:
            self._recording = False
            return list(self._edges)

    def _read_channel(self, channel: int) -> float:
        config = _ADS_BASE | _ADS_MUX[channel]
        self._bus.write_i2c_block_data(self._address, _ADS_CONFIG,
                                       [config >> 8, config & 0xFF])
        self._sleep(0.01)  # one conversion at 128 SPS is 7.8 ms
        hi, lo = self._bus.read_i2c_block_data(self._address, _ADS_CONVERSION, 2)
        raw = (hi << 8) | lo
        if raw & 0x8000:
            raw -= 1 << 16
        return raw * _ADS_LSB_V * self._scale.gain + self._scale.offset_v

    def levels(self) -> tuple[float, float]:
        return self._read_channel(0), self._read_channel(1)

    def close(self) -> None:
        try:
            self._cb.cancel()
            self._lgpio.gpiochip_close(self._chip)
            self._bus.close()
        except Exception:  # closing at exit: nothing left to save
            pass
