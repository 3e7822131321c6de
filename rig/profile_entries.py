"""The rows of a charger profile's tables (rig/profile.py builds them through the
strict loader): each a frozen dataclass whose ``__post_init__`` refuses values the
manuals cannot mean. Every entry carries a ``source:`` or a ``note:`` (design §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from evrig.rig.profile_vocabulary import (
    COLOURS,
    FAULT_CONDITIONS,
    OCPP_ERROR_CODES,
    RECOVERY,
    RESET_CAUSES,
    SUPPLY_SYSTEMS,
)
from evrig.rig.typed_yaml import Invalid


def _one_of(value: object, allowed: frozenset[str] | tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise Invalid(key, f"one of {', '.join(sorted(allowed))}; got {value!r}")


def check_fault_words(condition: str | None, ocpp_error_code: str,
                      recovery: tuple[str, ...]) -> None:
    """A fault row's words (RTM code or faults: row) are the vocabulary's."""
    _one_of(ocpp_error_code, OCPP_ERROR_CODES, "ocpp_error_code")
    if condition is not None:
        _one_of(condition, FAULT_CONDITIONS, "condition")
    for word in recovery:
        _one_of(word, RECOVERY, "recovery")


# --- table entries -----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class _Entry:
    """A row of a table: the loader insists on one of the two, so that no value in a
    profile is without a reason (design §5)."""

    _needs_one_of: ClassVar[tuple[tuple[str, ...], str]] = (
        ("source", "note"), "a `source:` (document + section) or a `note:` (why)")
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Document:
    file: str
    title: str
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Variant(_Entry):
    _key: ClassVar[str] = "name"
    name: str
    connector: str
    pp_required: bool
    actuator_lock: bool
    charge_point_model: str
    charge_point_vendor: str
    # How the unit is wired (1 or 3 phases): a product that can be installed either way
    # (COMPACT 3SLC/3TLC) has a variant per wiring, so the bench's phases are one fact.
    phases: int

    def __post_init__(self) -> None:
        _one_of(self.connector, ("socket", "tethered"), "connector")
        if self.phases not in (1, 3):
            raise Invalid("phases", f"1 or 3; got {self.phases!r}")


@dataclass(frozen=True, kw_only=True)
class Rated(_Entry):
    value: float
    unit: str | None


@dataclass(frozen=True, kw_only=True)
class LedRow(_Entry):
    """One row of a light table: what the light shows for a status, online and offline,
    as the manuals draw it — two colour patches, identical = steady, different =
    alternating between them (a colour with dark_grey = blinking that colour)."""

    _key: ClassVar[str] = "status"
    status: str
    online: tuple[str, str]
    offline: tuple[str, str]
    description: str
    blink: str | None = None  # the light's blink class for this row (slow, fast …)

    def __post_init__(self) -> None:
        for key in ("online", "offline"):
            for colour in getattr(self, key):
                _one_of(colour, COLOURS, key)

    def pattern(self, online: bool) -> tuple[str, str]:
        """The two colour patches of the table: identical = steady, different = blinking."""
        return self.online if online else self.offline

    def blinking(self, online: bool) -> bool:
        first, second = self.pattern(online)
        return first != second


@dataclass(frozen=True, kw_only=True)
class LedBlink(_Entry):
    """A blink class of a light (slow, fast …): how a blinking row alternates its two
    colours. Manuals rarely give period or duty, so the profile records the choice
    (with its ``note:``)."""

    period_s: float
    duty: float  # fraction of the period showing the row's first colour

    def __post_init__(self) -> None:
        if self.period_s <= 0:
            raise Invalid("period_s", f"a period > 0 s; got {self.period_s}")
        if not 0 < self.duty < 1:
            raise Invalid("duty", f"a fraction between 0 and 1; got {self.duty}")


@dataclass(frozen=True, kw_only=True)
class Led(_Entry):
    """One light of the front panel: a ring, bar or belt showing the connector status,
    or an indicator LED (e.g. EV PLUS's four). ``blink`` names its blink classes; a row
    names its class, or takes the light's only one."""

    _key: ClassVar[str] = "name"
    name: str
    kind: Literal["ring", "bar", "belt", "indicator"]
    rows: dict[str, LedRow]
    powerup: LedRow | None = None
    # How long the power-up row lasts: until the backend accepts the boot (EV NET, 000
    # §2.5 "until configured"), or the charger's own power-on self-test, after which it
    # shows stand-by whether or not a backend answers (EV PLUS 003 §7.1.1).
    powerup_until: Literal["boot_accepted", "self_test"] = "boot_accepted"
    blink: dict[str, LedBlink] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row in [*self.rows.values(), *([self.powerup] if self.powerup else [])]:
            if row.blink is not None and row.blink not in self.blink:
                raise Invalid(f"rows.{row.status}.blink",
                              f"one of this light's blink classes ({', '.join(self.blink)})")
            # With several classes (EV PLUS belt: slow, fast) a blinking row that names
            # none would leave its rate to chance (blink_of answers None).
            if len(self.blink) > 1 and row.blink is None and (
                    row.blinking(True) or row.blinking(False)):
                raise Invalid(f"rows.{row.status}.blink",
                              f"the blink class of this blinking row, one of "
                              f"{', '.join(self.blink)}")

    def row(self, status: str) -> LedRow:
        """The row for a status, or the power-up row (``Powerup``)."""
        if self.powerup is not None and status == self.powerup.status:
            return self.powerup
        if status not in self.rows:
            rows = [*self.rows, *([self.powerup.status] if self.powerup else [])]
            raise KeyError(f"no {self.kind} row for status {status!r}; rows: {', '.join(rows)}")
        return self.rows[status]

    @property
    def slowest_blink_s(self) -> float | None:
        """The longest blink period of the light (what one observation must span)."""
        return max((b.period_s for b in self.blink.values()), default=None)

    def blink_of(self, status: str | None = None) -> LedBlink | None:
        """The blink class of a status's row (its own, else the light's only one)."""
        named = self.row(status).blink if status is not None else None
        if named is not None:
            return self.blink[named]
        return next(iter(self.blink.values())) if len(self.blink) == 1 else None


@dataclass(frozen=True, kw_only=True)
class RtmCode(_Entry):
    _list_key: ClassVar[str] = "code"
    code: int
    name: str
    description: str
    ocpp_error_code: str
    recovery: tuple[str, ...]
    sets_also: tuple[int, ...] = ()
    socket_only: bool = False
    # False: a "soft" fault, reported while the session goes on (004 §4.5 terminal-panel
    # tamper); True: the charger stops charging while it is present.
    stops_charging: bool = True
    # The vendor-neutral fault condition this code shows (None: a flag such as
    # 0x4000 auto-recovery); the twin detects conditions, the profile names the code.
    condition: str | None = None
    auto_recovery: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        check_fault_words(self.condition, self.ocpp_error_code, self.recovery)
        object.__setattr__(self, "auto_recovery", "auto" in self.recovery)

    @property
    def hex(self) -> str:
        """As the manuals and the web client print it: 0x0001, 0x0800, 0x100000."""
        return f"0x{self.code:04X}"


@dataclass(frozen=True, kw_only=True)
class CodedReason(_Entry):
    """A row of a vendor code table: EVSE limit reasons (001 VendorID1), reset reasons
    (VendorID3)."""

    _list_key: ClassVar[str] = "code"
    code: int
    name: str
    description: str


LimitReason = CodedReason


@dataclass(frozen=True, kw_only=True)
class ResetReason(CodedReason):
    """A reset reason (VendorID3) with the events after which the charger reports it
    at boot (``after``: words of RESET_CAUSES)."""

    after: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for word in self.after:
            _one_of(word, RESET_CAUSES, "after")


@dataclass(frozen=True, kw_only=True)
class FuseRow:
    circuit_a: float  # the circuit breaker's rating (C curve)
    limit_a: float  # the charging current it allows


@dataclass(frozen=True, kw_only=True)
class FuseDerating(_Entry):
    """A derating table by the installation's circuit breaker (EV NET 000 §2.1.3.1
    Table 1) and the configuration key that holds the breaker's rating."""

    key: str
    rows: tuple[FuseRow, ...]

    def __post_init__(self) -> None:
        circuits = [r.circuit_a for r in self.rows]
        if not circuits or circuits != sorted(set(circuits)):
            raise Invalid("rows", "rows with strictly rising circuit_a")

    def limit(self, circuit_a: float) -> float | None:
        """The current a breaker of ``circuit_a`` allows: the row of the largest rating
        not above it; None from the largest row on (no limit); 0 below the smallest."""
        if circuit_a >= self.rows[-1].circuit_a:
            return None
        fitting = [r for r in self.rows if r.circuit_a <= circuit_a]
        return fitting[-1].limit_a if fitting else 0.0


@dataclass(frozen=True, kw_only=True)
class SupplySystem(_Entry):
    """An earthing system the charger may be supplied from (IEC 60364-1 name), with
    the wirings (1 or 3 phases) it allows there and the highest voltage the manual
    allows between two conductors (``between``: L-N where there is a neutral, L-L in
    an IT system without one — EV PLUS 003 §6.7, §6.8)."""

    _key: ClassVar[str] = "name"
    name: str
    phases: tuple[int, ...]
    max_v: float
    between: Literal["L-N", "L-L"]

    def __post_init__(self) -> None:
        _one_of(self.name, SUPPLY_SYSTEMS, "name")
        if not self.phases or not set(self.phases) <= {1, 3}:
            raise Invalid("phases", f"wirings among 1 and 3; got {list(self.phases)}")


@dataclass(frozen=True, kw_only=True)
class Supply(_Entry):
    """The mains a charger works on beyond the nominal ratings: the frequencies it takes
    (``self_adjusting``: it follows either without a setting, EV PLUS 003 §5) and the
    earthing systems it may be installed in."""

    frequencies_hz: tuple[float, ...]
    self_adjusting: bool
    systems: dict[str, SupplySystem]

    def __post_init__(self) -> None:
        if not self.frequencies_hz or any(f <= 0 for f in self.frequencies_hz):
            raise Invalid("frequencies_hz", "one or more frequencies > 0 Hz")
        if not self.systems:
            raise Invalid("systems", "at least one earthing system")

    def allows(self, system: str, phases: int) -> bool:
        """Whether a unit wired for ``phases`` may be supplied from ``system``."""
        entry = self.systems.get(system)
        return entry is not None and phases in entry.phases


@dataclass(frozen=True, kw_only=True)
class PpBand(_Entry):
    nominal_ohm: float
    min_ohm: float
    max_ohm: float
    amps: int


@dataclass(frozen=True, kw_only=True)
class OfflineMode(_Entry):
    """Offline plug-in charge (EV NET 000 §1.2, §2.5.1 Offline Mode Configuration):
    the factory setting of Plug & Charge, and how long the backend must be unreachable
    before the charger counts as offline and charges a plugged-in EV by itself."""

    plug_and_charge: bool
    after_s: float

    def __post_init__(self) -> None:
        if self.after_s < 0:
            raise Invalid("after_s", f"seconds >= 0; got {self.after_s}")


@dataclass(frozen=True, kw_only=True)
class ChargeTimes(_Entry):
    """Charge-off periods and the randomized delayed start (EV NET 001 App. II,
    004 §4.2): which configuration keys hold them and on which week days they apply
    (0 = Monday), in the charger's clock (UTC, set from the backend's currentTime)."""

    period_keys: tuple[str, ...]
    max_delay_key: str
    weekdays: tuple[int, ...]

    def __post_init__(self) -> None:
        if not set(self.weekdays) <= set(range(7)):
            raise Invalid("weekdays", f"days 0 (Monday) to 6; got {self.weekdays}")


@dataclass(frozen=True, kw_only=True)
class Timing(_Entry):
    contactor_open_max_s: float
    contactor_close_max_s: float
