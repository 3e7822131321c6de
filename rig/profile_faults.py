"""Vendor-neutral faults (design §5): the twin detects *conditions* (overcurrent,
leakage_dc, meter_missing …, the words of profile_vocabulary.FAULT_CONDITIONS); the
profile says, per condition, what its charger shows and how the fault goes away.

Two ways a profile writes that, one per kind of vendor:
- ``rtm_codes:`` (the EV NET firmware, 001 VendorID2): each code names the condition
  it shows; recovery and OCPP errorCode are on the code.
- ``faults:`` (a vendor without a fault register, e.g. EV PLUS's display strings,
  003 §7.1.2): one row per condition with its recovery, errorCode and what the
  front panel shows.
``fault_table`` merges both into one ``{condition: Fault}`` the twin and the testcases
read, so neither needs to know which kind of vendor it has in front of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from evrig.rig.profile_entries import RtmCode, _Entry, check_fault_words
from evrig.rig.typed_yaml import Invalid


@dataclass(frozen=True, kw_only=True)
class FaultShown(_Entry):
    """A row of a profile's ``faults:`` table (vendors without an RTM register)."""

    _key: ClassVar[str] = "condition"
    condition: str
    ocpp_error_code: str
    recovery: tuple[str, ...]
    display: str | None = None  # what a character display shows while it is present
    vendor_error_code: str | None = None  # StatusNotification.vendorErrorCode, if any
    socket_only: bool = False
    stops_charging: bool = True  # False: a soft fault, the session goes on

    def __post_init__(self) -> None:
        check_fault_words(self.condition, self.ocpp_error_code, self.recovery)


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One condition as this profile's charger shows it."""

    condition: str
    ocpp_error_code: str
    recovery: tuple[str, ...]
    # Lower names the fault when several are present (StatusNotification carries one).
    rank: int
    socket_only: bool = False
    rtm: RtmCode | None = None  # EV NET: the code of the RTM register
    display: str | None = None
    vendor_error_code: str | None = None
    stops_charging: bool = True  # False: reported while the session goes on

    @property
    def auto_recovery(self) -> bool:
        return "auto" in self.recovery

    def clears_on(self, recovery: str) -> bool:
        return recovery in self.recovery


def fault_table(rtm_codes: Mapping[int, RtmCode],
                shown: Mapping[str, FaultShown]) -> dict[str, Fault]:
    """``{condition: Fault}``. The RTM ranking is the one the EV NET firmware's
    vendorErrorCode implies: a code made of several bits (0x0060 = PCM missing) before
    single bits, then the lowest code (our choice: the manuals do not say which code
    a StatusNotification names when several are set)."""
    out: dict[str, Fault] = {}
    ranked = sorted((r for r in rtm_codes.values() if r.condition),
                    key=lambda r: (-r.code.bit_count(), r.code))
    for rank, rtm in enumerate(ranked):
        assert rtm.condition is not None
        out[rtm.condition] = Fault(
            condition=rtm.condition, ocpp_error_code=rtm.ocpp_error_code,
            recovery=rtm.recovery, rank=rank, socket_only=rtm.socket_only, rtm=rtm,
            stops_charging=rtm.stops_charging)
    for index, row in enumerate(shown.values()):
        if row.condition in out:
            raise Invalid(f"faults.{row.condition}",
                          "a condition no RTM code shows already (rtm_codes has it)")
        out[row.condition] = Fault(
            condition=row.condition, ocpp_error_code=row.ocpp_error_code,
            recovery=row.recovery, rank=len(ranked) + index, socket_only=row.socket_only,
            display=row.display, vendor_error_code=row.vendor_error_code,
            stops_charging=row.stops_charging)
    return out
