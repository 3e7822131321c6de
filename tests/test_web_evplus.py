"""The Cabur EV PLUS web app (003 §8.1.2, §12): the twin's pages (sim/charger/
web_evplus*.py), the driver (drivers/charger/web_evplus.py) round trip against them on a
virtual bench, the firmware's part (Max Current cap, charging records, the reader's
Read mode) without a bench, and the bench keeper's restore of what a test changed
through the web app (fixtures/web_reset.py)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from evrig.drivers import api
from evrig.drivers.charger.web_client import Upload
from evrig.drivers.charger.web_evplus import WebEvPlus
from evrig.fixtures.bench_reset import BenchKeeper
from evrig.rig.assembly import Rig
from evrig.rig.config import load_rig
from evrig.rig.errors import InstrumentError
from evrig.rig.profile import Profile, load_profile
from evrig.rig.profile_ocpp import WebPage
from evrig.rig.typed_yaml import Invalid
from evrig.sim.charger.web_evplus_upgrade import form_parts
from tests.twin_doubles import Bench

ROOT = Path(__file__).resolve().parent.parent
SPEC: Profile = load_profile("evplus")
PASSWORD_ENV = "RIG_TEST_EVPLUS_PASSWORD"
PASSWORD = "864213"  # not the factory 123456: nothing may pass by chance
pytestmark = pytest.mark.xdist_group("evplus-web")  # one bench for the module


# -- without a bench ---------------------------------------------------------------------------
def test_an_upload_is_the_multipart_form_the_twin_reads():
    image = b"EVPLUS-FW V1\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    body, content_type = Upload({"Upgrade file checksum": "abc"}, "file", "x.bin",
                                image).encode()
    parts = form_parts(content_type, body)
    assert parts == {"Upgrade file checksum": (None, b"abc"), "file": ("x.bin", image)}
    assert form_parts("application/x-www-form-urlencoded", b"a=1") == {}


def test_choices_must_be_labels_of_the_block():
    with pytest.raises(Invalid, match=r"a label of fields \(Power\)"):
        WebPage(tab="t", heading="h", fields=("Power",), choices={"Colour": ("a", "b")},
                note="n")
    with pytest.raises(Invalid, match="two or more different choices"):
        WebPage(tab="t", heading="h", fields=("Power",), choices={"Power": ("a", "a")},
                note="n")


def test_max_current_caps_the_offer_and_is_the_device_limit():
    bench = Bench("7S", SPEC)
    bench.fw.nvm.max_current_a = 10
    bench.charge(5.0)
    assert bench.fw.offered_current() == 10 and bench.fw.limit_reason == "device"


def test_a_session_that_ends_is_a_charging_record():
    bench = Bench("7S", SPEC)
    bench.charge(16.0)
    bench.run(60)
    bench.fw.stop_transaction("Local")
    records = bench.fw.nvm.charge_records
    assert len(records) == 1
    record = records[0]
    assert list(record) == list(SPEC.web_client["history"].fields)
    assert (record["No."], record["Start Mode"], record["Stop Mode"], record["Id"]) == \
        ("1", "RFID", "RFID", "7")  # 7: the transactionId the test link gives
    assert record["Energy"].endswith("kWh") and float(record["Energy"][:-3]) > 0


def test_a_card_read_for_pairing_is_not_used_to_charge():
    bench = Bench("7S", SPEC)
    bench.step()  # stand-by: Available
    bench.fw.reading_until = bench.clock.now() + 60
    asyncio.run(bench.fw._present_tag("CARD-R"))
    assert bench.fw.last_card == "CARD-R" and bench.fw.authorization is None
    assert bench.fw.reading_until is None  # only the next card


# -- the driver against the twin on a virtual bench -------------------------------------------
class Served:
    def __init__(self, rig: Rig, records: list[logging.LogRecord]) -> None:
        self.rig = rig
        self.records = records

    @property
    def web(self) -> WebEvPlus:
        assert isinstance(self.rig.web, WebEvPlus)
        return self.rig.web

    @property
    def twin(self) -> Any:
        return self.rig.bench.twin


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """rigs/sim-evplus-7s.yaml with the password in our variable; every log record of
    the module kept (the password must never be in one)."""
    rig_file = yaml.safe_load((ROOT / "rigs" / "sim-evplus-7s.yaml").read_text())
    rig_file["charger"]["web"]["admin_pin_env"] = PASSWORD_ENV
    rig_file["instruments"].pop("camera", None)  # the camera is not under test here
    path = tmp_path_factory.mktemp("evplus") / "rig.yaml"
    path.write_text(yaml.safe_dump(rig_file))
    records: list[logging.LogRecord] = []
    handler, root = _Keep(records), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_ENV, PASSWORD)
        rig = Rig(load_rig(path))
        try:
            rig.csms.wait_connected(60)
            yield Served(rig, records)
        finally:
            rig.close()
            root.removeHandler(handler)
            root.setLevel(level)


def test_the_rig_builds_the_web_app_driver_and_the_protocol_holds(served):
    web: api.WebApp = served.web  # the driver against the Protocol, where mypy reads tests
    assert callable(web.upgrade)
    assert served.rig.charger is not None and served.rig.charger.web is None  # console


def test_state_and_settings_round_trip(served):
    web, twin = served.web, served.twin
    state = web.state()
    assert list(state) == list(SPEC.web_client["charger_state"].fields)
    assert state["Software Version"] == twin.nvm.firmware_version
    assert state["Grid Voltage"].endswith("V") and state["Fan Status"] == "Stop"
    assert web.state_values()["Grid Frequency"] == 50.0
    assert web.settings() == {"Charger Power": "7kW", "RFID Type": "CPU",
                              "Charging Mode": "Case B", "CP Type": "0.8V",
                              "Max Current": "32"}  # as built (profile note)
    web.set_settings({"RFID Type": "M1", "Max Current": "20"})
    assert twin.nvm.system_parameters["RFID Type"] == "M1" and twin.nvm.max_current_a == 20
    web.set_settings({"RFID Type": "CPU", "Max Current": "32"})


@pytest.mark.parametrize("amps", ["5", "33", "16.5", "x"])
def test_max_current_outside_the_range_is_refused_with_the_reason(served, amps):
    before = served.web.settings()
    with pytest.raises(InstrumentError, match=r"Max Current: accepted range 6 - 32 A"):
        served.web.set_settings({"Max Current": amps})
    assert served.web.settings() == before


def test_pages_and_actions_need_the_password(served):
    url = served.web.url
    for path in ("/config.html", "/rfid.html", "/upgrade.html"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + path, timeout=5)
        assert refused.value.code == 403
    request = urllib.request.Request(url + "/config", data=b"Max+Current=6", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403 and served.twin.nvm.max_current_a != 6
    with urllib.request.urlopen(url + "/state.html", timeout=5) as page:  # public
        assert page.status == 200


def test_wrong_password_is_refused_and_never_logged(served, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(PASSWORD_ENV, "000000")
    web = WebEvPlus(served.web.url, SPEC.web_client, admin_pin_env=PASSWORD_ENV)
    with pytest.raises(InstrumentError, match="login refused") as refused:
        web.settings()
    assert PASSWORD_ENV in str(refused.value) and "000000" not in str(refused.value)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert web.settings()["Max Current"]
    texts = [r.getMessage() for r in [*served.records, *caplog.records]]
    assert any(PASSWORD_ENV in t for t in texts)  # the bench names the variable …
    assert not [t for t in texts if PASSWORD in t or "000000" in t]  # … never the value


def test_pairing_a_fourth_card_is_refused(served):
    web, rig = served.web, served.rig
    assert rig.charger is not None
    for slot in (1, 2, 3):
        web.read_card()
        rig.charger.present_tag(f"CARD-{slot}")
        assert rig.clock.wait_until(lambda s=slot: web.card_read() == f"CARD-{s}", 10)
        web.write_card(slot)
    assert web.cards() == ["CARD-1", "CARD-2", "CARD-3"]
    web.read_card()
    rig.charger.present_tag("CARD-4")
    assert rig.clock.wait_until(lambda: web.card_read() == "CARD-4", 10)
    with pytest.raises(InstrumentError, match="at most 3 cards"):
        web.write_card(2)
    with pytest.raises(InstrumentError, match="no Card No. 4"):
        web.write_card(4)
    with pytest.raises(InstrumentError, match="CARD-1 is Card No. 1 already"):
        web.read_card()
        rig.charger.present_tag("CARD-1")
        assert rig.clock.wait_until(lambda: web.card_read() == "CARD-1", 10)
        web.write_card(3)
    for slot in (1, 2, 3):
        web.delete_card(slot)
    assert web.cards() == [None, None, None]


def test_ocpp_address_needs_ws_a_host_and_a_cpid(served):
    web = served.web
    address = web.ocpp_address()
    for bad in ("http://h:80/x/CP", "ws://h:80/x/", "ws://:80/CP", "ws://h:port/CP",
                "ws://h/CP?x=1"):
        with pytest.raises(InstrumentError, match="OCPP Address"):
            web.set_ocpp_address(bad)
    assert web.ocpp_address() == address


def test_md5_mismatch_and_wrong_image_results(served):
    web, twin, spec = served.web, served.twin, SPEC.upgrade
    assert spec is not None
    image = spec.image_header.encode() + b"V2\n" + bytes(100)
    web.upgrade(image, hashlib.md5(b"other").hexdigest())
    assert web.upgrade_status() == "E02 UP" and twin.nvm.upgrade_result == "checksum_mismatch"
    web.upgrade(b"EVNET-FW 1.5.8\n" + bytes(100))  # its own MD5: an image for another model
    assert web.upgrade_status() == "E04 UP" and twin.nvm.upgrade_result == "wrong_image"
    assert twin.nvm.firmware_version != "V2"


def test_the_keeper_restores_what_the_web_app_changed(served):
    """Settings, cards and the OCPP address back as the session found them; a failed
    upgrade's result off the display (a power cycle)."""
    web, rig, twin = served.web, served.rig, served.twin
    keeper = BenchKeeper(rig)
    keeper.before_test("baseline")
    assert keeper.baseline is not None and keeper.baseline.app is not None
    web.set_settings({"CP Type": "1.0V", "Max Current": "10"})
    web.read_card()
    assert rig.charger is not None
    rig.charger.present_tag("CARD-LEFT")
    assert rig.clock.wait_until(lambda: web.card_read() == "CARD-LEFT", 10)
    web.write_card(2)
    address = web.ocpp_address()
    web.set_ocpp_address(address + "-X")
    web.upgrade(b"EVNET-FW 1.5.8\n")
    assert twin.nvm.upgrade_result == "wrong_image"
    keeper.after_test("leaves the web app changed")
    assert web.settings() == keeper.baseline.app["settings"]
    assert web.cards() == [None, None, None] and web.ocpp_address() == address
    assert twin.nvm.upgrade_result is None and rig.csms.connected
