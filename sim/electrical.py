"""The electrical world of the virtual bench: one model every virtual instrument
and the charger twin read and drive.

    AC source ──(mains relay)── charger supply ──(contactor)── EV socket ── AC load
                                     │                                  │
                                  fault board: leakage to PE, PE open, L/N swap, N–PE voltage

The virtual AC source sets the supply, the virtual AC load the EV's draw, the
fault-board pins the faults, the twin its contactor. Each instrument measures
what physics gives at its terminals: no instrument reads another's setpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

STANDBY_A = 0.036  # the charger's own draw (001: 8.2 VA at 230 V)
CHARGER_MIN_SUPPLY_V = 85.0  # below this the board's power supply drops out (our choice)


@dataclass
class Supply:
    """What the AC source (or the grid, on a bench without one) puts on the terminals."""

    on: bool = True
    volts: list[float] = field(default_factory=lambda: [230.0])  # per phase, L–N
    hz: float = 50.0


@dataclass
class Faults:
    leakage_ac_ma: float = 0.0
    leakage_dc_ma: float = 0.0
    pe_open: bool = False
    ln_swapped: bool = False
    n_pe_v: float = 0.0
    # The main relay's two poles (001 VendorID2 0x10000–0x80000): a contact welded
    # closed, or one that does not pull in (a broken coil or burnt contact).
    relay_welded: bool = False  # live pole
    relay_stuck_open: bool = False  # live pole
    neutral_welded: bool = False
    neutral_stuck_open: bool = False


class Circuit:
    """Thread-safe: SCPI servers, the pin bank and the twin's loop all touch it."""

    def __init__(self, phases: int = 1) -> None:
        self._lock = threading.RLock()
        self.supply = Supply(volts=[230.0] * phases)
        self.mains_relay_closed = True
        self.contactor_cmd = False  # what the firmware asks
        # A switch the relay has started: (spec time, state). The contacts move at that
        # time whatever the twin's scheduler does, so the switching delay holds in spec
        # seconds at any sim.speed (design §4); ``now`` is the twin's clock.
        self.contactor_pending: tuple[float, bool] | None = None
        self.now: Callable[[], float] | None = None
        self.load_enabled = False
        self.load_amps = 0.0
        self.faults = Faults()
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def update(self, fn: Callable[[Circuit], None]) -> None:
        with self._lock:
            fn(self)
        self.changed()

    # -- what physics gives ----------------------------------------------------------
    def supply_v(self, phase: int = 0) -> float:
        """L–N voltage at the charger's supply terminals."""
        with self._lock:
            if not (self.supply.on and self.mains_relay_closed):
                return 0.0
            return self.supply.volts[phase]

    @property
    def powered(self) -> bool:
        return self.supply_v() >= CHARGER_MIN_SUPPLY_V

    def relay_cmd(self) -> bool:
        """The relay's position as driven: the firmware's command, or a started switch
        whose time has come."""
        with self._lock:
            pending = self.contactor_pending
            if pending is not None and self.now is not None and self.now() >= pending[0]:
                return pending[1]
            return self.contactor_cmd

    @property
    def live_closed(self) -> bool:
        with self._lock:
            return (self.relay_cmd() and not self.faults.relay_stuck_open) \
                or self.faults.relay_welded

    @property
    def neutral_closed(self) -> bool:
        with self._lock:
            return (self.relay_cmd() and not self.faults.neutral_stuck_open) \
                or self.faults.neutral_welded

    @property
    def contactor_closed(self) -> bool:
        """Power reaches the EV only through both poles."""
        return self.live_closed and self.neutral_closed

    def outlet_v(self, phase: int = 0) -> float:
        return self.supply_v(phase) if self.contactor_closed else 0.0

    def ev_amps(self) -> float:
        """The current the EV (the AC load, constant-current mode) draws through the outlet."""
        with self._lock:
            if self.load_enabled and self.outlet_v() > 0:
                return self.load_amps
            return 0.0

    def source_amps(self) -> float:
        return self.ev_amps() + (STANDBY_A if self.powered else 0.0)
