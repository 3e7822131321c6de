"""Driver for the charger's web client (000 §2.5.1, 004 §4.2): its diagnostics pages
over HTTP(S), read by the labels of the profile's ``web_client`` table.

The pages are made for a person, not a program, so the parser is label-driven and
forgiving: the page's HTML becomes lines of text (block elements and table rows end
a line, cells are separated by a tab), a block starts at its heading ("RTM
Information") and ends at the next heading, and a field is ``<label>[:] value`` on
one line or the label alone with the value on the next line — whatever markup,
whitespace or entities the firmware emits around it.

The admin PIN is read from the environment variable the rig file names
(``charger.web.admin_pin_env``) when a login is needed, never from a file.
"""

from __future__ import annotations

import html
import http.client
import http.cookiejar
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

from evrig.drivers.charger.web_compact import COMPACT_PATHS, WebCompact
from evrig.drivers.charger.web_config import CONFIG_PATHS, CONTROLS, WebConfig
from evrig.rig.errors import InstrumentError, MissingWire

# Where each tab lives. The manual documents /index.html only; the other paths are
# the twin's (sim/charger/web_client.py) — check them against a real unit.
PATHS = {
    "Device Status and Control": "/index.html",
    "Charge Point Diagnostics": "/diagnostics.html",
    "Configuration of External Devices": "/external.html",
    "Device Configuration": "/device.html",  # 004 §4.2: Firmware Update Control (COMPACT)
    **CONFIG_PATHS,
    **COMPACT_PATHS,
}
LOGIN_PATH, CLEAR_PATH, RESTART_PATH = "/login", "/clear", "/restart"
FUSE_PATH = "/fuse"
_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "tbody", "thead",
               "section", "form", "dt", "dd", "dl", "h1", "h2", "h3", "h4", "h5", "h6",
               "legend", "fieldset", "caption", "header", "footer", "nav", "main", "hr",
               "title", "label"}
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "legend", "caption"}
_CELL_TAGS = {"td", "th"}
_SKIP_TAGS = {"script", "style", "head"}
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_ERROR = re.compile(r"<p[^>]*id=\"error\"[^>]*>(?P<text>[^<]*)</p>")


# -- parsing ---------------------------------------------------------------------------------

class _Lines(HTMLParser):
    """HTML → lines of text; each line records whether it came from a heading element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, bool]] = []
        self._cells: list[str] = []
        self._text: list[str] = []
        self._heading = 0
        self._line_heading = False
        self._skip = 0

    def _end_cell(self) -> None:
        text = " ".join("".join(self._text).split())
        self._text = []
        if text:
            self._cells.append(text)

    def _end_line(self) -> None:
        self._end_cell()
        if self._cells:
            self.lines.append(("\t".join(self._cells), self._line_heading))
        self._cells = []
        self._line_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self._end_line()
        elif tag in _CELL_TAGS:
            self._end_cell()
        if tag in _HEADING_TAGS:
            self._heading += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS or tag in _HEADING_TAGS:
            self._end_line()
        elif tag in _CELL_TAGS:
            self._end_cell()
        if tag in _HEADING_TAGS:
            self._heading = max(0, self._heading - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._heading and data.strip():
            self._line_heading = True
        self._text.append(data.replace("\xa0", " "))

    def close(self) -> None:
        super().close()
        self._end_line()


def page_lines(page: str) -> list[tuple[str, bool]]:
    """The visible text of an HTML page as (line, is_heading) pairs."""
    parser = _Lines()
    parser.feed(page)
    parser.close()
    return parser.lines


def _norm(text: str) -> str:
    return " ".join(text.replace("\t", " ").split()).rstrip(":").strip().casefold()


def parse_block(page: str, heading: str, labels: Sequence[str],
                other_headings: Sequence[str] = ()) -> dict[str, str]:
    """The ``labels`` found in the block under ``heading``: {label: value text}.

    The block ends at the next heading element or the next of ``other_headings``. Within
    it the first line that starts with a label (then ``:``, a cell break or nothing)
    gives the value; a label alone on its line takes the next line as its value.
    Labels not found are absent from the result.
    """
    lines = page_lines(page)
    want = _norm(heading)
    stops = {_norm(h) for h in other_headings} - {want}
    # A page may repeat its tab's name as a block heading ("Date & Time"): the block is
    # the first occurrence with the labels under it.
    for start in (i for i, (text, _) in enumerate(lines) if _norm(text) == want):
        block: list[str] = []
        for text, is_heading in lines[start + 1:]:
            if is_heading or _norm(text) in stops:
                break
            block.append(text)
        found = _labelled(block, labels)
        if found:
            return found
    return {}


def _labelled(block: list[str], labels: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    # Longest labels first: "Voltage(L1-N)" must not be taken by a shorter label.
    for label in sorted(labels, key=len, reverse=True):
        pattern = re.compile(r"\s*" + r"\s*".join(map(re.escape, label.split())) +
                             r"\s*(?::|\t|$)\s*(.*)$", re.IGNORECASE | re.DOTALL)
        for i, text in enumerate(block):
            match = pattern.match(text)
            if match is None:
                continue
            value = " ".join(match.group(1).replace("\t", " ").split()).lstrip(":").strip()
            if not value and i + 1 < len(block):
                value = " ".join(block[i + 1].replace("\t", " ").split())
            found[label] = value
            break
    return {label: found[label] for label in labels if label in found}


def number(text: str) -> float:
    """The first number of a field ("224.9 V", "30° C", "0,000 kWh")."""
    match = _NUMBER.search(text)
    if match is None:
        raise ValueError(f"no number in {text!r}")
    return float(match.group().replace(",", "."))


def hex_code(text: str) -> int:
    """An RTM code as the web client prints it: 0x0000, 0x00000000, 0x200000."""
    match = _HEX.search(text)
    if match is None:
        raise ValueError(f"no hex code in {text!r}")
    return int(match.group(), 16)


# -- the driver ------------------------------------------------------------------------------

class Upload:
    """A form with a file (an HTML file input), sent as multipart/form-data."""

    def __init__(self, fields: Mapping[str, str], file_field: str, filename: str,
                 data: bytes) -> None:
        self.fields, self.file_field = dict(fields), file_field
        self.filename, self.data = filename, data

    def encode(self) -> tuple[bytes, str]:
        """(body, Content-Type header)."""
        boundary = f"----evrig{os.urandom(12).hex()}"
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 f"{value}\r\n".encode() for name, value in self.fields.items()]
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\""
                     f"{self.file_field}\"; filename=\"{self.filename}\"\r\nContent-Type: "
                     "application/octet-stream\r\n\r\n".encode() + self.data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """An action's "303 See Other" is its success: not followed (the page it points to
    is read when a test asks for it)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OK = (200, 303)


class WebClient(WebConfig, WebCompact):
    """The charger's web client. ``pages`` is the profile's ``web_client`` table
    (tab, heading, fields per block)."""

    name = "charger web client"
    login_field = "pin"  # the login form's field (the EV PLUS's: Verification)
    secret = "admin PIN"  # what that field takes, as an error message names it

    def __init__(self, url: str, pages: Mapping[str, Any], *, admin_pin_env: str,
                 verify_tls: bool = False, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.pages = pages
        self.admin_pin_env = admin_pin_env
        self.timeout_s = timeout_s
        self._jar = http.cookiejar.CookieJar()
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self._jar), _NoRedirect()]
        if self.url.startswith("https://"):
            ctx = ssl.create_default_context()
            if not verify_tls:  # the charger's certificate is self-signed (000 §2.5.1)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        self._opener = urllib.request.build_opener(*handlers)
        self._logged_in = False
        self.settings_written = 0  # actions sent that may store a setting (not CONTROLS)

    # -- transport -------------------------------------------------------------------------
    def _request(self, path: str, form: Mapping[str, str] | Upload | None = None
                 ) -> tuple[int, str]:
        """(status, body) of one request (a POST with ``form``); redirects not followed.
        Raises InstrumentError naming the URL when the charger does not answer in time
        or cannot be reached."""
        url = self.url + path
        headers = {}
        if isinstance(form, Upload):
            data: bytes | None
            data, headers["Content-Type"] = form.encode()
        else:
            data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, headers=headers,
                                         method="POST" if form is not None else "GET")
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode("utf-8", "replace")
        except TimeoutError as exc:
            raise InstrumentError(self.name, url,
                                  f"no answer within {self.timeout_s:g} s") from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise InstrumentError(self.name, url,
                                      f"no answer within {self.timeout_s:g} s") from exc
            raise InstrumentError(self.name, url, f"cannot reach it ({reason})") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise InstrumentError(self.name, url, f"no valid answer ({exc!r})") from exc

    def _pin(self) -> str:
        pin = os.environ.get(self.admin_pin_env)
        if not pin:
            raise MissingWire(f"{self.name}: environment variable {self.admin_pin_env} "
                              "(charger.web.admin_pin_env) is not set; export the charger's "
                              f"{self.secret} in it")
        return pin

    def login(self) -> None:
        """Admin login with the PIN from the environment; InstrumentError if refused
        (the message names the variable, never its value)."""
        status, _ = self._request(LOGIN_PATH, {self.login_field: self._pin()})
        if status not in OK:
            self._logged_in = False
            raise InstrumentError(self.name, self.url + LOGIN_PATH,
                                  f"admin login refused (HTTP {status}): check the "
                                  f"{self.secret} in ${self.admin_pin_env}")
        self._logged_in = True

    def _admin(self, path: str, form: Mapping[str, str] | Upload | None = None) -> str:
        """A page or action behind the admin login: log in when the charger asks (first
        use, or a reboot ended the session), then once more."""
        if not self._logged_in:
            self.login()
        self.settings_written += form is not None and path not in CONTROLS
        status, body = self._request(path, form)
        if status == 403:
            self.login()
            status, body = self._request(path, form)
        if status not in OK:
            reason = _ERROR.search(body)  # the charger says why it refused
            raise InstrumentError(self.name, self.url + path, f"HTTP {status}" + (
                f": {html.unescape(reason['text'])}" if reason else ""))
        return body

    def page(self, tab: str) -> str:
        path = PATHS[tab]
        if path == "/index.html":
            status, body = self._request(path)
            if status == 200:
                return body
            if status != 403:
                raise InstrumentError(self.name, self.url + path, f"HTTP {status}")
        return self._admin(path)

    def _block(self, name: str, page: str | None = None) -> dict[str, str]:
        entry = self.pages[name]
        text = page if page is not None else self.page(entry.tab)
        others = [p.heading for p in self.pages.values()]
        values = parse_block(text, entry.heading, entry.fields, others)
        if not values:
            raise InstrumentError(self.name, self.url + PATHS[entry.tab],
                                  f"no '{entry.heading}' block with its fields on the page")
        return values

    # -- what a test reads -----------------------------------------------------------------
    def device_status(self) -> dict[str, str]:
        """Device Status by the manual's labels: {"OCPP Status": "Available", …}."""
        return self._block("device_status")

    def measurements(self) -> dict[str, float]:
        """Power Meter Measurements as numbers in the printed unit (kWh, kW, V, A, °C),
        by the quantity names of the profile's ``keys`` (``voltage_v``, ``current_l2_a``
        …; sim/charger/web_measurements.py)."""
        raw = self._block("measurements")
        keys = self.pages["measurements"].keys  # the profile names what each label is
        return {keys.get(label, label): number(value) for label, value in raw.items()}

    def diagnostics(self) -> dict[str, Any]:
        """Charge Point Diagnostics: ``rtm`` (the RTM Err Code as an int), ``opb``,
        ``prt``, and the Firmware Update Control fields under ``firmware_update``."""
        text = self.page(self.pages["rtm_information"].tab)
        rtm = self._block("rtm_information", text)
        out: dict[str, Any] = {"rtm": hex_code(rtm["RTM Err Code"]),
                               "opb": int(number(rtm["OPB Code"])),
                               "prt": int(number(rtm["PRT Code"])),
                               "labels": rtm}
        if "firmware_update" in self.pages:
            fw_entry = self.pages["firmware_update"]
            if fw_entry.tab != self.pages["rtm_information"].tab:  # COMPACT: its own tab
                text = self.page(fw_entry.tab)
            with_fw = parse_block(text, self.pages["firmware_update"].heading,
                                  self.pages["firmware_update"].fields,
                                  [p.heading for p in self.pages.values()])
            out["firmware_update"] = with_fw
        return out

    def rtm_code(self) -> int:
        return int(self.diagnostics()["rtm"])

    def main_fuse(self) -> dict[str, float]:
        """Main Fuse Limit and Main Fuse Reading in A (Configuration of External Devices)."""
        raw = self._block("main_fuse")
        return {label: number(value) for label, value in raw.items()}

    @property
    def firmware_version(self) -> str:
        return self.device_status()["Device Version"]

    def clear_faults(self) -> None:
        """Device Control → Clear Faults (CLEAR): resets the codes whose recovery
        includes web_clear (profile rtm_codes)."""
        self._admin(CLEAR_PATH, {})

    def set_main_fuse(self, amps: float) -> None:
        """Configuration of External Devices → Change Main Fuse Rating → SET."""
        self._admin(FUSE_PATH, {"fuse": f"{amps:g}"})

    def restart(self) -> None:
        """RESTART: a software reboot (reset reason CC_RST_SW). The charger answers, then
        its web client is gone until it is back up."""
        self._admin(RESTART_PATH, {})
        self._logged_in = False

    def close(self) -> None:
        self._jar.clear()
