"""Profile entries about the charger's protections: the thermal derating, the voltage,
neutral, overcurrent, residual-current and lock protections, and — for a family whose
manual says so (EV PLUS 003 §5) — the rule that a protection trip is never reclosed
automatically or remotely. Thresholds only: what a rule does with them is the twin's
code (sim/charger/protection.py)."""

from __future__ import annotations

from dataclasses import dataclass

from evrig.rig.profile_entries import _Entry, _one_of
from evrig.rig.profile_vocabulary import FAULT_CONDITIONS
from evrig.rig.typed_yaml import Invalid


@dataclass(frozen=True, kw_only=True)
class DeratingRow:
    max_temp_c: float
    limit_a: float


@dataclass(frozen=True, kw_only=True)
class Derating(_Entry):
    """The thermal current limit by the board's temperature and the temperature above
    which the charger faults. ``rows: []`` is a charger without derating (EV PLUS: 003
    gives none): it charges at its set current until the fault; the file must say so
    explicitly, with its note."""

    rows: tuple[DeratingRow, ...]
    fault_above_c: float

    def __post_init__(self) -> None:
        temps = [r.max_temp_c for r in self.rows]
        if temps != sorted(set(temps)):
            raise Invalid("rows", "rows with strictly rising max_temp_c")
        if temps and self.fault_above_c < temps[-1]:
            raise Invalid("fault_above_c", f"a temperature at or above the last row "
                                           f"({temps[-1]} °C)")

    def limit(self, temp_c: float, rated_a: float) -> float | None:
        """Current limit at ``temp_c``; None = fault. The header is "Temperatures ≤":
        the first row with temp ≤ max_temp_c applies; below the first row (or without
        rows), no limit."""
        if temp_c > self.fault_above_c:
            return None
        if not self.rows or temp_c < self.rows[0].max_temp_c:
            return rated_a
        for row in self.rows:
            if temp_c <= row.max_temp_c:
                return row.limit_a
        return self.rows[-1].limit_a


@dataclass(frozen=True, kw_only=True)
class VoltageProtection(_Entry):
    """Software fault band around the nominal voltage and the board's own hardware
    shutdown levels. ``offset_key`` names the configuration key that widens the band
    (EV NET c_VoltageProtectionOffset); a charger without one (EV PLUS) leaves the key
    empty and the offsets 0: its band is fixed."""

    nominal_v: float
    software_band_pct: float
    low_v: float
    high_v: float
    offset_key: str = ""
    offset_min_v: int = 0
    offset_max_v: int = 0
    hw_undervoltage_v: float
    hw_overvoltage_v: float
    hw_tolerance_v: float
    # False: the manual gives no hardware shutdown levels and the hw_* values only
    # model the twin's board (EV PLUS): no testcase holds a unit to them.
    hw_documented: bool = True

    def __post_init__(self) -> None:
        if not self.offset_key and (self.offset_min_v or self.offset_max_v):
            raise Invalid("offset_key", "the configuration key of the offset when "
                                        "offset_min_v/offset_max_v are given")
        if not self.low_v < self.nominal_v < self.high_v:
            raise Invalid("low_v", f"low_v < nominal_v < high_v; got {self.low_v}, "
                                   f"{self.nominal_v}, {self.high_v}")

    def limits(self, offset_v: int) -> tuple[float, float]:
        """(low, high) software fault thresholds for a c_VoltageProtectionOffset value;
        0 is the default band, offset_min_v..offset_max_v widen both sides."""
        if offset_v != 0 and not self.offset_key:
            raise ValueError(f"offset {offset_v} V: this charger's voltage band is fixed")
        if offset_v != 0 and not self.offset_min_v <= offset_v <= self.offset_max_v:
            raise ValueError(f"{self.offset_key} {offset_v} outside 0, "
                             f"{self.offset_min_v}..{self.offset_max_v}")
        return self.low_v - offset_v, self.high_v + offset_v


@dataclass(frozen=True, kw_only=True)
class NeutralProtection(_Entry):
    n_pe_max_v: float


@dataclass(frozen=True, kw_only=True)
class OvercurrentProtection(_Entry):
    margin_pct: float
    delay_s: float
    of: str
    hw_trip_factor: float


@dataclass(frozen=True, kw_only=True)
class RcdProtection(_Entry):
    """Residual-current levels. ``type_key`` names the configuration key that chooses
    AC+DC or AC only (EV NET c_RCDProtectionType); empty where there is none (EV PLUS)."""

    ac_ma: float
    dc_ma: float
    type_key: str = ""


@dataclass(frozen=True, kw_only=True)
class ActuatorProtection(_Entry):
    """The socket's lock: tries per lock or unlock, and whether a fault releases the
    plug of a running session (EV PLUS 003 §9: 'When charging is completed or a fault
    occurs, the electronic lock will automatically unlock'; false: it stays locked
    until the session ends, as the EV NET manuals say nothing else)."""

    attempts: int
    unlock_on_fault: bool = False


@dataclass(frozen=True, kw_only=True)
class TemperatureLimit(_Entry):
    """A temperature fault of a sensor other than the board's (``Derating``): EV PLUS's
    socket/plug temperature (003 §5, ERR OCT)."""

    fault_above_c: float


@dataclass(frozen=True, kw_only=True)
class Reclosing(_Entry):
    """Whether the charger closes its relay again by itself after a protection trip.

    IEC 61851-1 forbids reclosing the integrated protections automatically or
    remotely; EV PLUS's manual says so (003 §5). ``conditions`` are the trips it
    applies to: with ``automatic`` false none of them may recover ``auto`` (the
    session does not resume when the cause goes); with ``remote`` false an OCPP
    Reset or RemoteStartTransaction does not clear them either — only the local acts
    of their ``recovery`` (``power_cycle`` then means the supply switched off and on
    at the installation). Profile checks ``conditions`` against its fault table."""

    automatic: bool
    remote: bool
    conditions: tuple[str, ...]

    def __post_init__(self) -> None:
        for condition in self.conditions:
            _one_of(condition, FAULT_CONDITIONS, "conditions")


@dataclass(frozen=True, kw_only=True)
class Protections:
    voltage: VoltageProtection
    neutral: NeutralProtection
    overcurrent: OvercurrentProtection
    rcd: RcdProtection
    actuator: ActuatorProtection
    # None: no socket/plug sensor of its own (EV NET), no reclosing rule recorded.
    connector_temperature: TemperatureLimit | None = None
    reclosing: Reclosing | None = None
