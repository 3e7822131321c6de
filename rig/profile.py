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
from functools import cached_property
from pathlib import Path

from evrig.rig.errors import RigFileError
from evrig.rig.profile_entries import (
    ChargeTimes,
    Document,
    FuseDerating,
    FuseRow,
    Led,
    LedBlink,
    LedRow,
    LimitReason,
    OfflineMode,
    PpBand,
    Rated,
    ResetReason,
    RtmCode,
    Supply,
    SupplySystem,
    Timing,
    Variant,
)
from evrig.rig.profile_faults import Fault, FaultShown, fault_table
from evrig.rig.profile_ocpp import (
    ConfigKey,
    FirmwareImage,
    Measurand,
    OcppSupport,
    Rs485,
    Upgrade,
    UpgradeResult,
    WebPage,
)
from evrig.rig.profile_panel import Display, DisplayItem, Rfid
from evrig.rig.profile_protection import (
    ActuatorProtection,
    Derating,
    DeratingRow,
    NeutralProtection,
    OvercurrentProtection,
    Protections,
    RcdProtection,
    Reclosing,
    TemperatureLimit,
    VoltageProtection,
)
from evrig.rig.profile_vocabulary import RESET_CAUSES
from evrig.rig.typed_yaml import NOT_IN_FILE, Invalid, from_data, load_yaml

__all__ = [  # the tables' entries: profile_entries / _faults / _ocpp / _panel / _protection
    "ActuatorProtection",
    "ChargeTimes",
    "ConfigKey",
    "Derating",
    "DeratingRow",
    "Display",
    "DisplayItem",
    "Document",
    "Fault",
    "FaultShown",
    "FirmwareImage",
    "FuseDerating",
    "FuseRow",
    "Led",
    "LedBlink",
    "LedRow",
    "LimitReason",
    "Measurand",
    "NeutralProtection",
    "OcppSupport",
    "OfflineMode",
    "OvercurrentProtection",
    "PROFILES_DIR",
    "PpBand",
    "Profile",
    "ProfileKeyError",
    "Protections",
    "Rated",
    "RcdProtection",
    "Reclosing",
    "ResetReason",
    "Rfid",
    "Rs485",
    "RtmCode",
    "Supply",
    "SupplySystem",
    "TemperatureLimit",
    "Timing",
    "Upgrade",
    "UpgradeResult",
    "Variant",
    "VoltageProtection",
    "WebPage",
    "available_profiles",
    "load_profile",
]

PROFILES_DIR = Path(__file__).parent / "profiles"


class ProfileKeyError(RigFileError, KeyError):
    """A lookup (variant, RTM code, key …) the profile does not have.

    A KeyError for callers that expect one, a RigError so the CLI prints one line.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, kw_only=True)
class Profile:
    model: str
    name: str
    documents: tuple[Document, ...]
    variants: dict[str, Variant]
    ratings: dict[str, Rated]
    # The front panel's lights by name (design §5): the main one (ring, bar or belt)
    # and any indicators, each with its table and blink classes.
    lights: dict[str, Led]
    # EVNET firmware tables (001 VendorID1-3): a family without them leaves them out.
    rtm_codes: dict[int, RtmCode] = field(default_factory=dict)
    # What a vendor without an RTM register shows per fault condition (profile_faults).
    faults: dict[str, FaultShown] = field(default_factory=dict)
    evse_limits: dict[int, LimitReason] = field(default_factory=dict)
    reset_reasons: dict[int, ResetReason] = field(default_factory=dict)
    temperature_derating: Derating
    protections: Protections
    pp_bands: tuple[PpBand, ...]
    timing: Timing
    config_keys: dict[str, ConfigKey]
    meter_measurands: tuple[Measurand, ...]
    ocpp: OcppSupport
    web_client: dict[str, WebPage] = field(default_factory=dict)
    firmware_image: FirmwareImage | None = None
    offline_mode: OfflineMode | None = None  # None: no offline plug-in charge
    fuse_derating: FuseDerating | None = None  # None: no FuseLimit
    charge_times: ChargeTimes | None = None  # None: no charge-off periods, no delay
    rs485: Rs485 | None = None
    # A front panel with more than lights, and what a family's manual adds about its
    # mains (EV PLUS 003); None where a manual has none of it (EV NET).
    display: Display | None = None  # None: no character display
    rfid: Rfid | None = None  # None: no reader rules beyond OCPP authorization
    supply: Supply | None = None  # None: the nominal ratings are all there is
    upgrade: Upgrade | None = None  # None: firmware only through OCPP (firmware_image)
    file: str = field(default="", metadata=NOT_IN_FILE)  # the loader fills it in

    def __post_init__(self) -> None:
        for index, rtm in enumerate(self.rtm_codes.values()):
            for other in rtm.sets_also:
                if other not in self.rtm_codes:
                    raise Invalid(f"rtm_codes[{index}].sets_also",
                                   f"codes of this profile (0x{other:04X} is not one)")
        shown: dict[str, int] = {}
        for index, rtm in enumerate(self.rtm_codes.values()):
            if rtm.condition is not None and shown.setdefault(rtm.condition, index) != index:
                raise Invalid(f"rtm_codes[{index}].condition",
                              f"a condition no other code shows ({rtm.condition!r} is "
                              f"rtm_codes[{shown[rtm.condition]}])")
        conditions = fault_table(self.rtm_codes, self.faults)  # shown two ways: refused
        causes = [word for r in self.reset_reasons.values() for word in r.after]
        if self.reset_reasons and sorted(causes) != sorted(RESET_CAUSES):
            raise Invalid("reset_reasons", "each of " + ", ".join(RESET_CAUSES) + " in the "
                          "`after:` of exactly one reason (what the charger reports after it)")
        if "max_current_a" not in self.ratings:
            raise Invalid("ratings.max_current_a", "the rated current (derating needs it)")
        if not any(light.kind != "indicator" for light in self.lights.values()):
            raise Invalid("lights", "a main light (kind ring, bar or belt) besides indicators")
        self._check_panel_and_supply(conditions)

    def _check_panel_and_supply(self, conditions: dict[str, Fault]) -> None:
        """Cross-table checks of the optional family tables (EV NET profiles have none).
        A fault's ``display`` string needs no ``display:`` table: the string is what the
        charger shows, the table only its rotation (tests/test_vendor_faults.py builds a
        display vendor from the EV NET profile)."""
        if self.supply is not None:
            for name, variant in self.variants.items():
                if not any(variant.phases in s.phases for s in self.supply.systems.values()):
                    raise Invalid(f"variants.{name}.phases", "a wiring some supply system "
                                  f"allows ({variant.phases} phases is in none)")
        reclosing = self.protections.reclosing
        if reclosing is None:
            return
        for condition in reclosing.conditions:
            if condition not in conditions:
                raise Invalid("protections.reclosing.conditions",
                              f"conditions of this profile's faults ({condition!r} is not one)")
            if not reclosing.automatic and conditions[condition].auto_recovery:
                raise Invalid("protections.reclosing.conditions",
                              f"no automatic recovery of a protection trip ({condition!r} "
                              "recovers auto, automatic is false)")

    @property
    def led(self) -> Led:
        """The main light: the first light that is not an indicator."""
        return next(light for light in self.lights.values() if light.kind != "indicator")

    def _unknown(self, kind: str, what: object, known: list[str]) -> ProfileKeyError:
        return ProfileKeyError(self.file, kind, f"unknown {kind[:-1]} {what!r}; "
                               f"known: {', '.join(known)}")

    def variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise self._unknown("variants", name, list(self.variants))
        return self.variants[name]

    @cached_property
    def conditions(self) -> dict[str, Fault]:
        """Every fault condition this charger detects, as it shows it (design §5)."""
        return fault_table(self.rtm_codes, self.faults)

    def fault(self, condition: str) -> Fault:
        """How this charger shows a fault condition and how it recovers (design §5:
        the twin detects conditions; the profile says what the charger shows)."""
        if condition not in self.conditions:
            raise self._unknown("conditions", condition, list(self.conditions))
        return self.conditions[condition]

    def shown_as(self, display: str) -> list[Fault]:
        """The faults a display string stands for (EV PLUS "ERR ELK": lock and unlock
        failure), in rank order; empty if no fault shows it."""
        return sorted((f for f in self.conditions.values() if f.display == display),
                      key=lambda f: f.rank)

    def fault_code(self, condition: str) -> int:
        """The RTM code that shows a condition (EV NET families)."""
        rtm = self.fault(condition).rtm
        if rtm is None:
            raise self._unknown("rtm_codes", condition, [r.hex for r in self.rtm_codes.values()])
        return rtm.code

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

    def reset_reason_after(self, cause: str) -> int | None:
        """The VendorID3 code the charger reports at the boot after ``cause``
        (RESET_CAUSES); None when the profile has no reset reason table."""
        for reason in self.reset_reasons.values():
            if cause in reason.after:
                return reason.code
        if self.reset_reasons:
            raise self._unknown("reset causes", cause, [
                word for r in self.reset_reasons.values() for word in r.after])
        return None

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
