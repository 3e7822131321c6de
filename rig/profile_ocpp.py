"""Profile entries about the charger's OCPP side and its peripherals: configuration
keys, measurands, supported operations, firmware image and web upgrade, web client
pages, RS-485."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from evrig.rig.profile_entries import _Entry, _one_of
from evrig.rig.profile_vocabulary import (
    CONFIG_TYPES,
    OCPP_CP_OPERATIONS,
    OCPP_FEATURE_PROFILES,
    OCPP_MEASURANDS,
    OCPP_OPERATIONS,
    OCPP_PHASES,
    OCPP_PURPOSES,
    OCPP_UNITS,
    UPGRADE_RESULTS,
)
from evrig.rig.typed_yaml import Invalid


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
    # What the charge point sends, where a manual lists it (EV PLUS 003 §8.1.4); empty:
    # not listed (EV NET), the whole of its feature profiles assumed.
    operations_cp_to_csms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key, allowed in (("feature_profiles", OCPP_FEATURE_PROFILES),
                             ("operations_csms_to_cp", OCPP_OPERATIONS),
                             ("operations_cp_to_csms", OCPP_CP_OPERATIONS),
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
class UpgradeResult(_Entry):
    """How the charger reports one outcome of a web upgrade (UPGRADE_RESULTS): the
    string on its display; ``restarts``: it restarts by itself after it."""

    _key: ClassVar[str] = "result"
    result: str
    display: str
    description: str
    restarts: bool = False

    def __post_init__(self) -> None:
        _one_of(self.result, UPGRADE_RESULTS, "result")


@dataclass(frozen=True, kw_only=True)
class Upgrade(_Entry):
    """A firmware upgrade through the charger's own web app rather than OCPP
    UpdateFirmware (EV PLUS 003 §12): the file it takes, the checksum that must come
    with it, how long it waits for data before giving up, how long it takes, and the
    display string of each outcome."""

    file_type: str
    checksum: str
    no_data_timeout_s: float
    duration_s: float
    results: dict[str, UpgradeResult]
    # The first line of an image the twin installs: ``image_header`` + version (our
    # stand-in for the vendor's format, as firmware_image.header on EV NET).
    image_header: str

    def __post_init__(self) -> None:
        if not self.file_type.startswith("."):
            raise Invalid("file_type", f"a file name ending such as '.bin'; got "
                                       f"{self.file_type!r}")
        for key in ("no_data_timeout_s", "duration_s"):
            if getattr(self, key) <= 0:
                raise Invalid(key, f"a time > 0 s; got {getattr(self, key)}")
        shown = [r.display for r in self.results.values()]
        if len(set(shown)) != len(shown):
            raise Invalid("results", "a display string per result (two results share one)")


@dataclass(frozen=True, kw_only=True)
class WebPage(_Entry):
    """One block of the web client: the labels a driver parses ("RTM Err Code" …).
    ``keys``: what each printed label measures, as a quantity name both the twin and
    the driver know (``voltage_l2_v``, ``energy_import_kwh`` …: sim/charger/
    web_measurements.py) — so two families' different labels read alike."""

    tab: str
    heading: str
    fields: tuple[str, ...]
    keys: dict[str, str] = field(default_factory=dict)
    # A setting printed as a set of buttons (EV PLUS System parameter settings: Charger
    # Power 7kW / 22kW …): label → the choices as printed, in the manual's order.
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("keys", "choices"):
            for label in getattr(self, key):
                if label not in self.fields:
                    raise Invalid(f"{key}.{label}",
                                  f"a label of fields ({', '.join(self.fields)})")
        for label, options in self.choices.items():
            if len(options) < 2 or len(set(options)) != len(options):
                raise Invalid(f"choices.{label}", "two or more different choices")


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
    # What the charger does with a meter on the bus: ``metering`` — its readings replace
    # the internal meter's (EV NET MID meter, 004 §3.6); ``power_management`` — it
    # measures the installation, and the charger takes what the contracted power leaves
    # (EV PLUS external meter, 003 §10), metering with its own meter.
    meter_use: str = "metering"

    def __post_init__(self) -> None:
        _one_of(self.parity, ("N", "E", "O"), "parity")
        _one_of(self.meter_use, ("metering", "power_management"), "meter_use")
        for key in ("meter_registers", "ct_registers"):
            for name, register in getattr(self, key).items():
                if not 30001 <= register <= 39999:
                    raise Invalid(f"{key}.{name}", "an input register 30001..39999")
