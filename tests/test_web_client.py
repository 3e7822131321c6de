"""The charger web client driver (drivers/charger/web_client.py): its label parser on
saved pages (the twin's, a COMPACT-like table page, and one with the odd markup an
embedded web server emits), its login and its errors; the twin's server (sim/charger/
web_client.py) with a stand-in firmware."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from evrig.drivers.charger.web_client import WebClient, hex_code, number, parse_block
from evrig.rig.errors import InstrumentError, MissingWire
from evrig.rig.loop import LoopThread
from evrig.rig.profile import load_profile
from evrig.sim.charger.web_client import WebClientServer, session_pin

DATA = Path(__file__).parent / "data"
PROFILE = load_profile("evnet-7kw")
PAGES = PROFILE.web_client
HEADINGS = [p.heading for p in PAGES.values()]
PIN_ENV = "RIG_TEST_WEB_PIN"


def block(page: str, name: str) -> dict[str, str]:
    entry = PAGES[name]
    return parse_block((DATA / page).read_text(encoding="utf-8"), entry.heading,
                       entry.fields, HEADINGS)


# -- the parser on saved pages -----------------------------------------------------------

def test_twin_page_gives_every_device_status_field_by_the_manuals_labels():
    status = block("web_twin_index.html", "device_status")
    assert list(status) == list(PAGES["device_status"].fields)
    assert status["EVSE Status"] == "Faulted"
    assert status["Charger Limit"] == "ProximityPilotLimit"
    assert status["Plug&Charge"] == "Enabled"


def test_twin_diagnostics_rtm_err_code_in_the_manuals_format():
    rtm = block("web_twin_diagnostics.html", "rtm_information")
    assert rtm == {"OPB Code": "1", "PRT Code": "1", "RTM Err Code": "0x0100"}
    # "Status" is under Log Over Network too: the block is parsed within its heading.
    assert block("web_twin_diagnostics.html", "firmware_update")["Status"] == "Idle"


def test_odd_markup_whitespace_entities_and_value_on_the_next_line():
    rtm = block("web_odd_diagnostics.html", "rtm_information")
    assert rtm == {"OPB Code": "1", "PRT Code": "1", "RTM Err Code": "0x00200100"}
    assert hex_code(rtm["RTM Err Code"]) == 0x200100  # 004 prints 8 hex digits
    update = block("web_odd_diagnostics.html", "firmware_update")
    assert update["Status"] == "Downloading" and update["Progress"] == "42%"
    network = block("web_odd_diagnostics.html", "network_information")
    assert network["WiFi MAC"] == "b8:f0:09:94:8d:2c"  # <dt>/<dd>, no colon
    assert "ETH MAC" not in network


def test_compact_table_page_and_numbers_in_their_units():
    status = block("web_compact_index.html", "device_status")
    assert status["Charger Limit"] == "Cable (0.0A)"
    assert status["Device Version"].startswith("2.164.4.")
    values = {k: number(v) for k, v in block("web_compact_index.html", "measurements").items()}
    assert values["Voltage(L1-N)"] == 224.8 and values["Voltage(N)"] == 1.2
    assert values["Temperature(Relay)"] == -3.0
    assert values["Power(imported from grid)"] == 1.234  # a decimal comma
    assert "Device Model(efuse)" not in status


def test_missing_heading_gives_nothing_and_numbers_refuse_text():
    assert block("web_compact_index.html", "rtm_information") == {}
    with pytest.raises(ValueError, match="no number"):
        number("N/A")
    with pytest.raises(ValueError, match="no hex code"):
        hex_code("none")


# -- the driver against the twin's server ------------------------------------------------

class StubFirmware:
    """What the twin's Charge Point Diagnostics page and Clear Faults touch."""

    def __init__(self) -> None:
        self.rtm_seen = 0x0100  # the register as the application CPU read it
        self.firmware_status = "Idle"
        self.cleared = 0

    def clear_faults(self) -> None:
        self.cleared += 1
        self.rtm_seen = 0


@pytest.fixture
def served() -> Iterator[tuple[Any, WebClientServer, LoopThread]]:
    loop = LoopThread("web-test")
    twin = SimpleNamespace(powered=True, fw=StubFirmware(),
                           profile=SimpleNamespace(web_client={}))  # no COMPACT blocks
    server = WebClientServer(twin, lambda: "246810")
    loop.run(server.start(), timeout=5)
    try:
        yield twin, server, loop
    finally:
        loop.run(server.stop(), timeout=5)
        loop.stop()


def client(url: str, timeout_s: float = 2.0) -> WebClient:
    return WebClient(url, PAGES, admin_pin_env=PIN_ENV, timeout_s=timeout_s)


def test_login_then_diagnostics_and_clear_faults(served, monkeypatch):
    twin, server, _ = served
    monkeypatch.setenv(PIN_ENV, "246810")
    web = client(server.url)
    assert web.diagnostics()["rtm"] == 0x0100  # logs in on the way (admin page)
    web.clear_faults()
    assert twin.fw.cleared == 1 and web.rtm_code() == 0


def test_wrong_pin_names_the_url_and_the_variable(served, monkeypatch):
    _, server, _ = served
    monkeypatch.setenv(PIN_ENV, "000000")
    with pytest.raises(InstrumentError) as err:
        client(server.url).diagnostics()
    message = str(err.value)
    assert f"{server.url}/login" in message and "admin login refused" in message
    assert PIN_ENV in message and "000000" not in message


def test_unset_pin_variable_is_a_missing_wire(served, monkeypatch):
    _, server, _ = served
    monkeypatch.delenv(PIN_ENV, raising=False)
    with pytest.raises(MissingWire, match=f"{PIN_ENV} .*is not set"):
        client(server.url).diagnostics()


def test_powered_off_charger_does_not_answer(served, monkeypatch):
    twin, server, _ = served
    monkeypatch.setenv(PIN_ENV, "246810")
    twin.powered = False
    with pytest.raises(InstrumentError, match=f"{server.url}/index.html"):
        client(server.url).device_status()


def test_closed_port_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(InstrumentError, match=f"{url}/index.html: cannot reach it"):
        client(url).device_status()


def test_silent_server_fails_within_the_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts (the kernel does), never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(InstrumentError, match=r"/index.html: no answer within 0.5 s"):
            client(url, timeout_s=0.5).device_status()
        assert time.monotonic() - start < 2.0


def test_session_pin_is_random_exported_and_kept(monkeypatch):
    monkeypatch.delenv(PIN_ENV, raising=False)
    pin = session_pin(PIN_ENV)
    assert pin.isdigit() and len(pin) == 6
    import os

    assert os.environ[PIN_ENV] == pin
    assert session_pin(PIN_ENV) == pin  # a PIN already set is kept


def test_web_url_sim_only_on_the_virtual_bench(tmp_path):
    from evrig.rig.config import load_rig
    from evrig.rig.errors import RigFileError

    path = tmp_path / "real.yaml"
    path.write_text("profile: evnet-7kw\nbench: real\ninstruments:\n  ev: {backend: rpi}\n"
                    "charger:\n  web: {url: sim}\n")
    with pytest.raises(RigFileError, match="charger.web.url: a real bench needs"):
        load_rig(path)
    path.write_text("profile: evnet-7kw\ncharger:\n  web: {url: ftp://x}\n")
    with pytest.raises(RigFileError, match="charger.web.url"):
        load_rig(path)
