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
from collections import deque
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
        # What the AC load draws on each phase of the outlet (constant-current mode);
        # a single-phase load on a three-phase outlet draws on L1 only.
        self.load_amps: list[float] = [0.0] * phases
        self.faults = Faults()
        # Edges of the outlet voltage: (spec time, live), newest last.
        self.outlet_edges: deque[tuple[float, bool]] = deque(maxlen=1000)
        self._outlet_live = False
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def update(self, fn: Callable[[Circuit], None]) -> None:
        with self._lock:
            fn(self)
            self._note_outlet(self.now() if self.now is not None else 0.0)
        self.changed()

    # -- what physics gives ----------------------------------------------------------
    def at(self, t: float | None = None) -> Snapshot:
        """The circuit at one instant (spec time ``t``, default now): every quantity
        of one evaluation comes from one snapshot, so a contactor switch falling due
        between two reads cannot make the poles disagree with the command."""
        with self._lock:
            if t is None:
                t = self.now() if self.now is not None else 0.0
            pending = self.contactor_pending
            cmd = pending[1] if pending is not None and t >= pending[0] else self.contactor_cmd
            f = self.faults
            supply = tuple(self.supply.volts) if self.supply.on and self.mains_relay_closed \
                else (0.0,) * len(self.supply.volts)
            return Snapshot(
                t=t, supply_v=supply, hz=self.supply.hz, relay_cmd=cmd,
                live_closed=(cmd and not f.relay_stuck_open) or f.relay_welded,
                neutral_closed=(cmd and not f.neutral_stuck_open) or f.neutral_welded,
                load_amps=tuple(self.load_amps) if self.load_enabled
                else (0.0,) * len(self.load_amps))

    def set_load(self, amps: float, phase: int | None = None) -> None:
        """The load's setpoint: on one phase (1-based), or on every phase (None)."""
        def apply(c: Circuit) -> None:
            for i in range(len(c.load_amps)) if phase is None else [phase - 1]:
                c.load_amps[i] = float(amps)

        self.update(apply)

    def command_contactor(self, cmd: bool, pending: tuple[float, bool] | None,
                          now: float) -> None:
        """The firmware drives the relay coil at spec time ``now``."""
        with self._lock:
            self.contactor_cmd, self.contactor_pending = cmd, pending
            self._note_outlet(now)

    def _note_outlet(self, t: float) -> None:
        """Stamp a change of the outlet's voltage where it happens (the bench's outlet
        sense reads these edges, as a real opto-coupler's edges are stamped by the Pi)."""
        live = self.at(t).outlet_live
        if live != self._outlet_live:
            self._outlet_live = live
            self.outlet_edges.append((t, live))

    def supply_v(self, phase: int = 0) -> float:
        """L–N voltage at the charger's supply terminals."""
        return self.at().supply_v[phase]

    @property
    def powered(self) -> bool:
        return self.supply_v() >= CHARGER_MIN_SUPPLY_V

    def relay_cmd(self) -> bool:
        """The relay's position as driven: the firmware's command, or a started switch
        whose time has come."""
        return self.at().relay_cmd

    @property
    def live_closed(self) -> bool:
        return self.at().live_closed

    @property
    def neutral_closed(self) -> bool:
        return self.at().neutral_closed

    @property
    def contactor_closed(self) -> bool:
        """Power reaches the EV only through both poles."""
        return self.at().contactor_closed

    def outlet_v(self, phase: int = 0) -> float:
        return self.at().outlet_v(phase)

    def ev_amps(self, phase: int = 0) -> float:
        """The current the EV (the AC load, constant-current mode) draws through the
        outlet on ``phase`` (0-based: L1)."""
        return self.at().ev_amps(phase)

    def source_amps(self, phase: int = 0) -> float:
        """What the source delivers on ``phase``: the EV's draw, and on L1 the board's."""
        snap = self.at()
        board = STANDBY_A if phase == 0 and snap.supply_v[0] >= CHARGER_MIN_SUPPLY_V else 0.0
        return snap.ev_amps(phase) + board


@dataclass(frozen=True)
class Snapshot:
    """The circuit at spec time ``t``."""

    t: float
    supply_v: tuple[float, ...]  # per phase, L–N at the charger's terminals
    hz: float
    relay_cmd: bool
    live_closed: bool
    neutral_closed: bool
    load_amps: tuple[float, ...]  # per phase, what the AC load asks for (0 when disabled)

    @property
    def contactor_closed(self) -> bool:
        return self.live_closed and self.neutral_closed

    @property
    def outlet_live(self) -> bool:
        """Voltage at the outlet (the EV side): both poles closed on a live supply."""
        return self.contactor_closed and self.supply_v[0] > 0

    def outlet_v(self, phase: int = 0) -> float:
        return self.supply_v[phase] if self.contactor_closed else 0.0

    @property
    def phases(self) -> int:
        return len(self.supply_v)

    def ev_amps(self, phase: int = 0) -> float:
        """The EV's current on ``phase`` (0-based): the load's, where that phase is live."""
        return self.load_amps[phase] if self.outlet_v(phase) > 0 else 0.0

    def ev_amps_per_phase(self) -> tuple[float, ...]:
        return tuple(self.ev_amps(i) for i in range(self.phases))
