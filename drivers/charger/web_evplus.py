"""Driver for the Cabur EV PLUS web app (003 §8.1.2, §12): its pages as a person uses
them, read by the labels of the profile's ``web_client`` table with the label parser
of the EV NET web client (drivers/charger/web_client.py), on the same HTTP session.

- password verification: the password is read from the environment variable the rig
  file names (``charger.web.admin_pin_env``) when a login is needed — never from a
  file, never logged; 003's factory password is 123456;
- Charger state (public), System parameter settings, Networking parameter (OCPP
  Address), RFID (Read, Write Card x, Delete Card x), Charging Record, System upgrade.

003 documents only the home page (http://192.168.1.1); the paths of the other pages
are the twin's (sim/charger/web_evplus.py), kept in ``APP_PATHS`` — check them against
a real unit. The forms' fields are named by the manual's labels. A refusal (a Max
Current out of range, a fourth card, pairing outside stand-by …) raises
InstrumentError with the charger's reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from evrig.drivers.charger.web_client import Upload, WebClient, number, parse_block
from evrig.drivers.charger.web_config import _TableRows
from evrig.rig.errors import InstrumentError

# Page of each profile block (the twin's paths); public ones need no password.
APP_PATHS = {
    "charger_state": "/state.html",
    "system_parameters": "/config.html",
    "ocpp_address": "/network.html",
    "rfid_cards": "/rfid.html",
    "history": "/history.html",
    "upgrade": "/upgrade.html",
}
PUBLIC = {"/state.html"}
MAX_CURRENT = "Max Current"
# Charger state fields that are not a number with its unit.
TEXT_FIELDS = {"Serial Number", "Software Version", "System Time", "Fan Status"}
_NUMBER_VALUE = re.compile(r"\s*[-+]?\d")
NO_CARD = ("", "-")  # how the twin prints an empty slot (check a real unit's)


def _card(value: str | None) -> str | None:
    return None if value is None or value.strip() in NO_CARD else value.strip()


class WebEvPlus(WebClient):
    """The EV PLUS web app. ``pages`` is the profile's ``web_client`` table. A
    :class:`WebClient` for the rig (one HTTP session, the same transport errors); the
    EV NET pages' methods do not apply to it (their blocks are not in the table)."""

    name = "charger web app"
    login_field = "Verification"  # 003 §8.1.2 step 4: the password goes into Verification
    secret = "password"

    # -- reading the pages -------------------------------------------------------------
    def app_page(self, block: str) -> str:
        """The HTML of the page showing profile block ``block``."""
        path = APP_PATHS[block]
        if path not in PUBLIC:
            return self._admin(path)
        status, body = self._request(path)
        if status != 200:
            raise InstrumentError(self.name, self.url + path, f"HTTP {status}")
        return body

    def _fields(self, block: str) -> dict[str, str]:
        entry = self.pages[block]
        values = parse_block(self.app_page(block), entry.heading, entry.fields,
                             [p.heading for p in self.pages.values()])
        if not values:
            raise InstrumentError(self.name, self.url + APP_PATHS[block],
                                  f"no '{entry.heading}' block with its fields on the page")
        return values

    # -- Charger state (step 3) ---------------------------------------------------------
    def state(self) -> dict[str, str]:
        """Charger state by the manual's labels, as printed ("Grid Voltage": "227.30V")."""
        return self._fields("charger_state")

    def state_values(self) -> dict[str, float]:
        """The Charger state fields that are numbers, in the printed unit (V, Hz, A, kW,
        Min, degrees Celsius)."""
        return {label: number(value) for label, value in self.state().items()
                if label not in TEXT_FIELDS and _NUMBER_VALUE.match(value)}

    @property
    def firmware_version(self) -> str:
        """Software Version on the Charger state page."""
        return self.state()["Software Version"]

    # -- System parameter settings (step 4) ---------------------------------------------
    def settings(self) -> dict[str, str]:
        """Each setting: the choice ("Charger Power": "7kW" …) and Max Current in A as
        a whole number ("32")."""
        values = self._fields("system_parameters")
        if MAX_CURRENT in values:
            values[MAX_CURRENT] = f"{number(values[MAX_CURRENT]):g}"
        return values

    def set_settings(self, values: Mapping[str, str]) -> None:
        """Apply with ``values`` (label → choice, "Max Current" → amperes) changed and
        the other settings as they are. InstrumentError with the reason if refused."""
        unknown = set(values) - set(self.pages["system_parameters"].fields)
        if unknown:
            raise ValueError(f"not a setting of the page: {', '.join(sorted(unknown))}")
        form = {**self.settings(), **values}
        self._admin("/config", form)

    def max_current(self) -> int:
        return int(self.settings()[MAX_CURRENT])

    def set_max_current(self, amps: int) -> None:
        """Max Current (accepted range 6 – 32 A, 003 §8.1.2 step 4)."""
        self.set_settings({MAX_CURRENT: str(amps)})

    # -- Networking parameter (step 10) -------------------------------------------------
    def ocpp_address(self) -> str:
        return self._fields("ocpp_address")["OCPP Address"]

    def set_ocpp_address(self, address: str) -> None:
        """OCPP Address → Confirm: ws://host:port/…/CPID or wss://host:port/…/CPID."""
        self._admin("/network", {"OCPP Address": address})

    # -- RFID (step 11) -------------------------------------------------------------------
    def cards(self) -> list[str | None]:
        """The paired cards, Card No. 1 … n (None: an empty slot)."""
        values = self._fields("rfid_cards")
        slots = [f for f in self.pages["rfid_cards"].fields if f.startswith("Card No.")]
        return [_card(values.get(slot)) for slot in slots]

    def read_card(self) -> None:
        """Read: the reader waits for the card to pair; hold it to the reader next."""
        self._admin("/rfid/read", {})

    def card_read(self) -> str | None:
        """Read RFID: the number of the card the reader read (None: none yet)."""
        return _card(self._fields("rfid_cards").get("Read RFID"))

    def write_card(self, slot: int) -> None:
        """Write Card ``slot``: the card read becomes Card No. ``slot``."""
        self._admin("/rfid/write", {"slot": str(slot)})

    def delete_card(self, slot: int) -> None:
        """Delete Card ``slot`` (the twin's; 003 shows no way to remove a card)."""
        self._admin("/rfid/delete", {"slot": str(slot)})

    # -- Charging Record (step 7) ---------------------------------------------------------
    def history(self) -> list[dict[str, str]]:
        """The charging records, newest first, each by the table's column names."""
        entry = self.pages["history"]
        parser = _TableRows(entry.heading)
        parser.feed(self.app_page("history"))
        header, *rows = parser.rows or [[]]
        if header != list(entry.fields):
            raise InstrumentError(self.name, self.url + APP_PATHS["history"],
                                  f"no '{entry.heading}' table with columns {entry.fields}")
        return [dict(zip(header, row, strict=False)) for row in rows if row]

    # -- System upgrade (§12) -------------------------------------------------------------
    def upgrade(self, image: bytes, md5: str | None = None,
                filename: str = "upgrade.bin") -> None:
        """Select the .bin file, paste its MD5 into Upgrade file checksum, Continue.
        ``md5`` None: the file's own (what the manufacturer's check_sum_tool gives).
        The result shows on the display (and in :meth:`upgrade_status`)."""
        checksum = hashlib.md5(image).hexdigest() if md5 is None else md5
        self._admin("/upgrade", Upload({"Upgrade file checksum": checksum}, "file",
                                       filename, image))

    def upgrade_status(self) -> str:
        """Status on the upgrade page: Upgrading, the result's display string (100 UP,
        E02 UP …) until the next power-on, or Idle."""
        return self._fields("upgrade")["Status"]
