"""The charger web client's configuration pages (000 §2.5.1), as a person uses them:
Network Configuration (Plug & Charge), NFC Configuration (the Authorization List, ADD
NEW, REMOVE), Backend Configuration (server address and UID) and Date & Time. A mixin
of :class:`~evrig.drivers.charger.web_client.WebClient`; the labels come from the
profile's ``web_client`` table, the paths from ``CONFIG_PATHS``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from evrig.rig.errors import InstrumentError

CONFIG_PATHS = {
    "Network Configuration": "/network.html",
    "NFC Configuration": "/nfc.html",
    "Backend Configuration": "/backend.html",
    "Date & Time": "/datetime.html",
    "Time & Charge Times Configuration": "/datetime.html",  # 004 §4.2 (COMPACT)
}
# Actions that store nothing — controls (Clear Faults, RESTART, unlock, set available,
# free a reservation) and a card read: after any other action (a LOCK by hand, a card
# learnt, a setting) the bench keeper (fixtures/bench_reset.py) restores the web
# settings and reads the configuration back.
CONTROLS = frozenset({"/clear", "/restart", "/locker/unlock", "/control/unlock",
                      "/control/available", "/control/unreserve", "/rfid/read"})


class _TableRows(HTMLParser):
    """The cells of each row of the table that follows ``heading``."""

    def __init__(self, heading: str) -> None:
        super().__init__()
        self.heading = heading
        self.rows: list[list[str]] = []
        self._in_heading = self._armed = self._in_cell = False
        self._text = ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("h1", "h2", "h3"):
            self._in_heading, self._text = True, ""
        elif self._armed and tag == "tr":
            self.rows.append([])
        elif self._armed and tag in ("td", "th"):
            self._in_cell, self._text = True, ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self._in_heading:
            self._in_heading = False
            self._armed = self._text.strip() == self.heading
        elif tag in ("td", "th") and self._in_cell and self.rows:
            self._in_cell = False
            self.rows[-1].append(self._text.strip())
        elif tag == "table":
            self._armed = False

    def handle_data(self, data: str) -> None:
        if self._in_heading or self._in_cell:
            self._text += data


class WebPages:
    """What the page mixins (WebConfig, drivers/charger/web_compact.py WebCompact) use
    of the WebClient: ``_admin``, ``page``, ``_block``, ``pages``, ``name``, ``url``."""

    if TYPE_CHECKING:  # provided by WebClient
        pages: Mapping[str, Any]
        name: str
        url: str

        def _admin(self, path: str, form: Mapping[str, str] | None = None) -> str: ...
        def page(self, tab: str) -> str: ...
        def _block(self, name: str, page: str | None = None) -> dict[str, str]: ...


class WebConfig(WebPages):
    """Network, NFC, Backend and Date & Time configuration (000 §2.5.1)."""

    # -- Network Configuration ----------------------------------------------------------
    def plug_and_charge(self) -> bool:
        """Offline Mode Configuration → Plug & Charge: whether the charger charges a
        plugged-in EV while offline."""
        return self._block("offline_mode")["Plug & Charge"] == "Enabled"

    def set_plug_and_charge(self, enabled: bool) -> None:
        """Plug & Charge Enable / Disable → APPLY."""
        self._admin("/plugcharge", {"mode": "enable" if enabled else "disable"})

    # -- NFC Configuration --------------------------------------------------------------
    def authorization_list(self) -> list[str]:
        """The ID Tags of the Authorization List (the cards the charger memorized)."""
        entry = self.pages["authorization_list"]
        parser = _TableRows(entry.heading)
        parser.feed(self.page(entry.tab))
        header, *rows = parser.rows or [[]]
        if header[:len(entry.fields)] != list(entry.fields):
            raise InstrumentError(self.name, self.url + CONFIG_PATHS[entry.tab],
                                  f"no '{entry.heading}' table with columns {entry.fields}")
        return [row[0] for row in rows if row]

    def learn_card(self) -> None:
        """ADD NEW: Learn mode — the next card tapped on the reader is memorized."""
        self._admin("/nfc/learn", {})

    def remove_card(self, id_tag: str) -> None:
        """REMOVE on the card's row."""
        self._admin("/nfc/remove", {"tag": id_tag})

    # -- Backend Configuration ----------------------------------------------------------
    def backend(self) -> dict[str, str]:
        """{"address": current server address, "uid": current UID}."""
        block = self._block("backend_details")
        return {"address": block["Current server address"], "uid": block["Current UID"]}

    def set_uid(self, uid: str) -> None:
        """Change UID → SUBMIT (the charge point identity in the backend URL)."""
        self._admin("/backend/uid", {"uid": uid})

    def set_server_address(self, address: str) -> None:
        """Change Web Address → SUBMIT."""
        self._admin("/backend/address", {"address": address})

    # -- Date & Time ----------------------------------------------------------------------
    def device_time(self) -> datetime:
        """Device Date Time (printed in GMT, to the second)."""
        text = self._block("date_time")["Device Date Time"].removesuffix(" GMT")
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)

    def set_device_time(self, when: datetime) -> None:
        self._admin("/datetime", {"time": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")})
