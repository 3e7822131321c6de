"""Charger profiles: the tables of a charger's manuals as typed, frozen data (design §5).

A profile (``rig/profiles/<model>.yaml``) is the spec the testcases and the twin both
read, so a typo in it would silently change what "correct" means. The loader therefore
refuses anything it does not understand — unknown or missing keys, wrong types, an
entry without ``source:`` or ``note:``, an OCPP error code OCPP 1.6 does not have —
and says where, as one :class:`~rig.errors.RigFileError` line (file, key path, fix).

The conversion is the rig's one strict loader (:mod:`rig.typed_yaml`) walking the
dataclass type hints instead of a hand-written parser per table: adding a field to a
dataclass is all a new column needs.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import NOT_IN_FILE, Invalid, from_data, load_yaml

PROFILES_DIR = Path(__file__).parent / "profiles"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# OCPP 1.6 enumerations the profile may name; anything else is a typo.
OCPP_ERROR_CODES = _words(
    "ConnectorLockFailure EVCommunicationError GroundFailure HighTemperature InternalError"
    " LocalListConflict NoError OtherError OverCurrentFailure OverVoltage PowerMeterFailure"
    " PowerSwitchFailure ReaderFailure ResetFailure UnderVoltage WeakSignal"
)
OCPP_OPERATIONS = _words(
    "CancelReservation ChangeAvailability ChangeConfiguration ClearCache ClearChargingProfile"
    " DataTransfer GetCompositeSchedule GetConfiguration GetDiagnostics GetLocalListVersion"
    " RemoteStartTransaction RemoteStopTransaction ReserveNow Reset SendLocalList"
    " SetChargingProfile TriggerMessage UnlockConnector UpdateFirmware"
)
OCPP_FEATURE_PROFILES = _words(
    "Core FirmwareManagement LocalAuthListManagement Reservation SmartCharging"
    " RemoteTrigger"
)
OCPP_PURPOSES = frozenset({"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"})
OCPP_MEASURANDS = _words(
    "Current.Export Current.Import Current.Offered Energy.Active.Export.Register"
    " Energy.Active.Import.Register Energy.Reactive.Export.Register"
    " Energy.Reactive.Import.Register Energy.Active.Export.Interval"
    " Energy.Active.Import.Interval Energy.Reactive.Export.Interval"
    " Energy.Reactive.Import.Interval Frequency Power.Active.Export Power.Active.Import"
    " Power.Factor Power.Offered Power.Reactive.Export Power.Reactive.Import RPM SoC"
    " Temperature Voltage"
)
OCPP_PHASES = _words("L1 L2 L3 N L1-N L2-N L3-N L1-L2 L2-L3 L3-L1")
OCPP_UNITS = _words("Wh kWh varh kvarh W kW VA kVA var kvar A V Celsius Fahrenheit K Percent")
RECOVERY = ("auto", "unplug", "power_cycle", "web_clear")
COLOURS = frozenset({"blue", "yellow", "green", "orange", "brown", "dark_grey", "red"})
CONFIG_TYPES = ("bool", "int", "csl", "string")


class ProfileKeyError(RigFileError, KeyError):
    """A lookup (variant, RTM code, key …) the profile does not have.

    A KeyError for callers that expect one, a RigError so the CLI prints one line.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _one_of(value: object, allowed: frozenset[str] | tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise Invalid(key, f"one of {', '.join(sorted(allowed))}; got {value!r}")


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

    def __post_init__(self) -> None:
        _one_of(self.connector, ("socket", "tethered"), "connector")


@dataclass(frozen=True, kw_only=True)
class Rated(_Entry):
    value: float
    unit: str | None


@dataclass(frozen=True, kw_only=True)
class LedRow(_Entry):
    _key: ClassVar[str] = "status"
    status: str
    online: tuple[str, str]
    offline: tuple[str, str]
    description: str

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
    """How a blinking row alternates its two colours: the manuals give no period or
    duty, so the profile records the choice (with its ``note:``)."""

    period_s: float
    duty: float  # fraction of the period showing the row's first colour

    def __post_init__(self) -> None:
        if self.period_s <= 0:
            raise Invalid("period_s", f"a period > 0 s; got {self.period_s}")
        if not 0 < self.duty < 1:
            raise Invalid("duty", f"a fraction between 0 and 1; got {self.duty}")


@dataclass(frozen=True, kw_only=True)
class Led(_Entry):
    rows: dict[str, LedRow]
    powerup: LedRow
    blink: LedBlink | None = None

    def row(self, status: str) -> LedRow:
        """The row for an OCPP connector status, or ``Powerup`` for the power-up light."""
        if status == self.powerup.status:
            return self.powerup
        if status not in self.rows:
            raise KeyError(f"no LED row for status {status!r}; rows: "
                           f"{', '.join([*self.rows, self.powerup.status])}")
        return self.rows[status]


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
    auto_recovery: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        _one_of(self.ocpp_error_code, OCPP_ERROR_CODES, "ocpp_error_code")
        for word in self.recovery:
            _one_of(word, RECOVERY, "recovery")
        object.__setattr__(self, "auto_recovery", "auto" in self.recovery)

    @property
    def hex(self) -> str:
        """As the manuals and the web client print it: 0x0001, 0x0800, 0x100000."""
        return f"0x{self.code:04X}"


@dataclass(frozen=True, kw_only=True)
class LimitReason(_Entry):
    _list_key: ClassVar[str] = "code"
    code: int
    name: str
    description: str


@dataclass(frozen=True, kw_only=True)
class ResetReason(_Entry):
    _list_key: ClassVar[str] = "code"
    code: int
    name: str
    description: str


@dataclass(frozen=True, kw_only=True)
class DeratingRow:
    max_temp_c: float
    limit_a: float


@dataclass(frozen=True, kw_only=True)
class Derating(_Entry):
    rows: tuple[DeratingRow, ...]
    fault_above_c: float

    def __post_init__(self) -> None:
        temps = [r.max_temp_c for r in self.rows]
        if not temps or temps != sorted(set(temps)):
            raise Invalid("rows", "rows with strictly rising max_temp_c")

    def limit(self, temp_c: float, rated_a: float) -> float | None:
        """Current limit at ``temp_c``; None = fault. The header is "Temperatures ≤":
        the first row with temp ≤ max_temp_c applies; below the first row, no limit."""
        if temp_c > self.fault_above_c:
            return None
        if temp_c < self.rows[0].max_temp_c:
            return rated_a
        for row in self.rows:
            if temp_c <= row.max_temp_c:
                return row.limit_a
        return self.rows[-1].limit_a


@dataclass(frozen=True, kw_only=True)
class VoltageProtection(_Entry):
    nominal_v: float
    software_band_pct: float
    low_v: float
    high_v: float
    offset_key: str
    offset_min_v: int
    offset_max_v: int
    hw_undervoltage_v: float
    hw_overvoltage_v: float
    hw_tolerance_v: float

    def limits(self, offset_v: int) -> tuple[float, float]:
        """(low, high) software fault thresholds for a c_VoltageProtectionOffset value;
        0 is the default band, offset_min_v..offset_max_v widen both sides."""
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
    ac_ma: float
    dc_ma: float
    type_key: str


@dataclass(frozen=True, kw_only=True)
class ActuatorProtection(_Entry):
    attempts: int


@dataclass(frozen=True, kw_only=True)
class Protections:
    voltage: VoltageProtection
    neutral: NeutralProtection
    overcurrent: OvercurrentProtection
    rcd: RcdProtection
    actuator: ActuatorProtection


@dataclass(frozen=True, kw_only=True)
class PpBand(_Entry):
    nominal_ohm: float
    min_ohm: float
    max_ohm: float
    amps: int


@dataclass(frozen=True, kw_only=True)
class Timing(_Entry):
    contactor_open_max_s: float
    contactor_close_max_s: float


@dataclass(frozen=True, kw_only=True)
class ConfigKey(_Entry):
    _key: ClassVar[str] = "name"
    name: str
    default: str
    type: str
    unit: str | None = None
    min: int | None = None
    max: int | None = None
    allowed: tuple[int | str, ...] | None = None
    readonly: bool
    custom: bool
    in_use: bool
    description: str

    def __post_init__(self) -> None:
        _one_of(self.type, CONFIG_TYPES, "type")
        if self.type != "int" and (self.min is not None or self.max is not None):
            raise Invalid("min", "min/max only for type int")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise Invalid("min", f"min {self.min} <= max {self.max}")
        reason = self.check(self.default)
        if reason is not None:
            raise Invalid("default", f"a default its own type accepts ({reason})")

    def check(self, value: str) -> str | None:
        """None if ``value`` (the OCPP string) is acceptable for this key, else why not."""
        allowed = None if self.allowed is None else {str(a) for a in self.allowed}
        if self.type == "bool":
            ok = value.strip().lower() in ("true", "false")
            return None if ok else f"{value!r} is not true or false"
        if self.type == "int":
            if not re.fullmatch(r"\s*-?\d+\s*", value):
                return f"{value!r} is not an integer"
            number = int(value)
            if self.min is not None and number < self.min:
                return f"{number} is below the minimum {self.min}"
            if self.max is not None and number > self.max:
                return f"{number} is above the maximum {self.max}"
            value = str(number)
        if self.type == "csl":
            items = [item.strip() for item in value.split(",")] if value else []
            if any(not item for item in items):
                return f"{value!r} has an empty item"
            bad = [item for item in items if allowed is not None and item not in allowed]
            return f"{', '.join(bad)} not in {', '.join(sorted(allowed or ()))}" if bad else None
        if allowed is not None and value not in allowed:
            return f"{value!r} is not one of {', '.join(sorted(allowed))}"
        return None


@dataclass(frozen=True, kw_only=True)
class Measurand(_Entry):
    measurand: str
    phase: str | None
    unit: str

    def __post_init__(self) -> None:
        _one_of(self.measurand, OCPP_MEASURANDS, "measurand")
        if self.phase is not None:
            _one_of(self.phase, OCPP_PHASES, "phase")
        _one_of(self.unit, OCPP_UNITS, "unit")


@dataclass(frozen=True, kw_only=True)
class OcppSupport(_Entry):
    version: str
    feature_profiles: tuple[str, ...]
    operations_csms_to_cp: tuple[str, ...]
    charging_profile_purposes: tuple[str, ...]
    # StatusNotification.vendorId under which each vendor table's code is reported.
    vendor_ids: dict[str, str]

    def __post_init__(self) -> None:
        for key, allowed in (("feature_profiles", OCPP_FEATURE_PROFILES),
                             ("operations_csms_to_cp", OCPP_OPERATIONS),
                             ("charging_profile_purposes", OCPP_PURPOSES)):
            for item in getattr(self, key):
                _one_of(item, allowed, key)
        for table in self.vendor_ids:
            _one_of(table, ("evse_limit", "rtm", "reset_reason"), "vendor_ids")


@dataclass(frozen=True, kw_only=True)
class FirmwareImage(_Entry):
    """What an update image the charger installs looks like: ``header`` + version + newline."""

    header: str
    file_type: str


@dataclass(frozen=True, kw_only=True)
class WebPage(_Entry):
    """One block of the web client: the labels a driver parses ("RTM Err Code" …)."""

    tab: str
    heading: str
    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Rs485(_Entry):
    """The charger's RS-485 channel 1 (CT clamp / MID meter): line settings, the input
    registers it polls (30001-based, as the manuals print them; float32, high word
    first) and its own polling rules."""

    baud: int
    bytesize: int
    parity: str
    stopbits: int
    device_id: int
    poll_period_s: float
    response_timeout_s: float
    missing_after: int
    meter_registers: dict[str, int]
    ct_registers: dict[str, int]

    def __post_init__(self) -> None:
        _one_of(self.parity, ("N", "E", "O"), "parity")
        for key in ("meter_registers", "ct_registers"):
            for name, register in getattr(self, key).items():
                if not 30001 <= register <= 39999:
                    raise Invalid(f"{key}.{name}", "an input register 30001..39999")


@dataclass(frozen=True, kw_only=True)
class Profile:
    model: str
    name: str
    documents: tuple[Document, ...]
    variants: dict[str, Variant]
    ratings: dict[str, Rated]
    led: Led
    rtm_codes: dict[int, RtmCode]
    evse_limits: dict[int, LimitReason]
    reset_reasons: dict[int, ResetReason]
    temperature_derating: Derating
    protections: Protections
    pp_bands: tuple[PpBand, ...]
    timing: Timing
    config_keys: dict[str, ConfigKey]
    meter_measurands: tuple[Measurand, ...]
    ocpp: OcppSupport
    web_client: dict[str, WebPage]
    firmware_image: FirmwareImage
    rs485: Rs485 | None = None
    file: str = field(default="", metadata=NOT_IN_FILE)  # the loader fills it in

    def __post_init__(self) -> None:
        for index, rtm in enumerate(self.rtm_codes.values()):
            for other in rtm.sets_also:
                if other not in self.rtm_codes:
                    raise Invalid(f"rtm_codes[{index}].sets_also",
                                   f"codes of this profile (0x{other:04X} is not one)")
        if "max_current_a" not in self.ratings:
            raise Invalid("ratings.max_current_a", "the rated current (derating needs it)")

    def _unknown(self, kind: str, what: object, known: list[str]) -> ProfileKeyError:
        return ProfileKeyError(self.file, kind, f"unknown {kind[:-1]} {what!r}; "
                               f"known: {', '.join(known)}")

    def variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise self._unknown("variants", name, list(self.variants))
        return self.variants[name]

    def rtm(self, code_or_name: int | str) -> RtmCode:
        """By number (0x0800), hex text ("0x0800") or identifier (EVSE_FAULT_TEMPERATURE)."""
        wanted: int | str = code_or_name
        if isinstance(wanted, str) and re.fullmatch(r"0[xX][0-9a-fA-F]+", wanted):
            wanted = int(wanted, 16)
        for rtm in self.rtm_codes.values():
            if wanted in (rtm.code, rtm.name):
                return rtm
        raise self._unknown("rtm_codes", code_or_name, [r.hex for r in self.rtm_codes.values()])

    def limit_reason(self, name_or_code: int | str) -> LimitReason:
        for reason in self.evse_limits.values():
            if name_or_code in (reason.code, reason.name):
                return reason
        raise self._unknown("evse_limits", name_or_code,
                            [r.name for r in self.evse_limits.values()])

    def derated_current(self, temp_c: float) -> float | None:
        """Thermal current limit at ``temp_c``; the rated current below the table,
        None above fault_above_c (the charger faults with 0x0800)."""
        return self.temperature_derating.limit(temp_c, self.ratings["max_current_a"].value)

    def pp_amps(self, ohms: float) -> int | None:
        """Cable ampacity coded by a PP resistance; None outside every band."""
        for band in self.pp_bands:
            if band.min_ohm <= ohms <= band.max_ohm:
                return band.amps
        return None

    def key(self, name: str) -> ConfigKey:
        """A configuration key; exact name first, then case-insensitively."""
        if name in self.config_keys:
            return self.config_keys[name]
        for key, spec in self.config_keys.items():
            if key.lower() == name.lower():
                return spec
        raise self._unknown("config_keys", name, list(self.config_keys))


# --- loading -------------------------------------------------------------------------
def available_profiles() -> list[str]:
    """Names ``load_profile`` accepts without a path."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name_or_path: str) -> Profile:
    """A bare name ("evnet-7kw") is looked up in rig/profiles; a .yaml/.yml name or
    anything with a "/" is a path."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        path = Path(name_or_path)
    else:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise RigFileError(name_or_path, "profile", f"unknown profile {name_or_path!r}; "
                               f"known: {', '.join(available_profiles())}")
    file = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise RigFileError(file, "", "expected a mapping at the top level")
    return dataclasses.replace(from_data(Profile, data, file=file), file=file)
