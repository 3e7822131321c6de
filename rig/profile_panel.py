"""Profile entries about a front panel beyond its lights (rig/profile_entries.Led):
a character display's rotation (EV PLUS 003 §7.1.2) and the RFID reader's rules
(003 §8.1.2, §9). What the display shows for a fault is the fault row's ``display``
(rig/profile_faults.py), for an upgrade the upgrade result's (rig/profile_ocpp.py).

The format of a rotation item is kept as the manual prints it ("ccc.0") and
interpreted here, once: the twin renders values with :meth:`DisplayItem.render`, a
display reader parses frames with :meth:`DisplayItem.parse`, so the two cannot read
the manual's notation differently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from evrig.rig.profile_entries import _Entry, _one_of
from evrig.rig.profile_vocabulary import DISPLAY_QUANTITIES, OCPP_STATUSES
from evrig.rig.typed_yaml import Invalid

# "c" = one character of the value; a "." then decimals "c" and/or literal zeros "0"
# (003 prints the voltage as "ccc.0": whole volts followed by a fixed ".0").
_FORMAT = re.compile(r"(?P<whole>c+)(?:\.(?P<decimals>c*)(?P<zeros>0*))?")


@dataclass(frozen=True, kw_only=True)
class DisplayItem(_Entry):
    """One value of the display's rotation: a quantity (DISPLAY_QUANTITIES) printed in
    a fixed format, with the unit the manual gives it. ``charging_only``: shown only
    while a session charges (the rotation is shorter in stand-by)."""

    _key: ClassVar[str] = "quantity"
    quantity: str
    format: str
    unit: str
    description: str
    charging_only: bool = False

    def __post_init__(self) -> None:
        _one_of(self.quantity, DISPLAY_QUANTITIES, "quantity")
        match = _FORMAT.fullmatch(self.format)
        if match is None or (match["decimals"] == "" and match["zeros"] == ""):
            raise Invalid("format", f"characters 'c' with an optional '.' and decimals "
                                    f"'c' or fixed '0' (as 'ccc.0', 'cc.c'); got "
                                    f"{self.format!r}")

    @cached_property
    def _parts(self) -> tuple[int, int, str]:
        """(whole places, decimals shown, fixed zeros after them)."""
        match = _FORMAT.fullmatch(self.format)
        assert match is not None  # checked in __post_init__
        return len(match["whole"]), len(match["decimals"] or ""), match["zeros"] or ""

    @property
    def largest(self) -> float:
        """The largest value the format can show."""
        whole, decimals, _ = self._parts
        return 10 ** whole - 10 ** -decimals

    def render(self, value: float) -> str:
        """``value`` as the display prints it: right-aligned in the format's width with
        blanks (no leading zeros), rounded to its decimals, held between 0 and the
        largest value it can show (the manuals say nothing of either: our choice,
        recorded in the profile's display note)."""
        whole, decimals, zeros = self._parts
        shown = min(max(value, 0.0), self.largest)
        text = f"{shown:.{decimals}f}"
        if zeros:
            text += zeros if decimals else "." + zeros
        return text.rjust(len(self.format))

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """What a frame of this item reads as (a render of some value)."""
        _, decimals, zeros = self._parts
        tail = (rf"\.\d{{{decimals}}}" if decimals else "") + (
            re.escape(zeros if decimals else "." + zeros) if zeros else "")
        return re.compile(rf"(?=.{{{len(self.format)}}}$) *\d+{tail}")

    def parse(self, text: str) -> float | None:
        """The value a display reading shows, None if it is not this item's format."""
        return float(text) if self.pattern.fullmatch(text) else None


@dataclass(frozen=True, kw_only=True)
class Display(_Entry):
    """A character display: the values it shows in rotation, each for ``item_s``
    (spec seconds). Faults and upgrade results replace the rotation while shown."""

    rotation: dict[str, DisplayItem]
    item_s: float

    def __post_init__(self) -> None:
        if not self.rotation:
            raise Invalid("rotation", "at least one item")
        if self.item_s <= 0:
            raise Invalid("item_s", f"a time > 0 s; got {self.item_s}")

    def items(self, charging: bool) -> tuple[DisplayItem, ...]:
        """The rotation in stand-by (``charging`` false) or during a session."""
        return tuple(i for i in self.rotation.values() if charging or not i.charging_only)


@dataclass(frozen=True, kw_only=True)
class Rfid(_Entry):
    """The card reader's rules (EV PLUS 003 §8.1.2 step 11, §9): the card standards it
    can be set to, how many cards it keeps, in which connector statuses a card can be
    paired and the reader area is lit, whether only the starting card stops a session,
    and the beeps that answer a card (None: not documented)."""

    card_types: tuple[str, ...]
    max_cards: int
    pairing_statuses: tuple[str, ...]
    stop_by_same_card: bool
    reader_lit_statuses: tuple[str, ...] = ()
    accepted_beeps: int | None = None
    refused_beeps: int | None = None
    beep_gap_s: float | None = None

    def __post_init__(self) -> None:
        if not self.card_types:
            raise Invalid("card_types", "at least one card type")
        if self.max_cards < 1:
            raise Invalid("max_cards", f"a number of cards >= 1; got {self.max_cards}")
        for key in ("pairing_statuses", "reader_lit_statuses"):
            for status in getattr(self, key):
                _one_of(status, OCPP_STATUSES, key)
