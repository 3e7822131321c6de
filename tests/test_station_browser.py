"""The operator's station as an operator uses it: a real ``rig station`` process on the
virtual bench (rigs/sim.yaml), its page in headless Chromium at 1280x800 (Debian's
``chromium`` and ``chromium-driver`` through selenium: tests/browser.py; without them
these tests skip, saying what to install), driven with the keyboard as a barcode
scanner and an operator would: the serial typed + Enter, Y/N for the prompts,
Escape + Enter to abort.

One station for the module and few full runs (each is a whole EOL on a 2-core
machine): a unit that passes; a unit that fails twice over — the fault board's tamper
relay held closed during the identity step (tests/station_fault_plugin.py, loaded into
the units' runs through ``PYTEST_PLUGINS``) and the beep question answered No; an
abort at a prompt; a station stopped mid-run and started again, the page reconnecting
by itself and showing what happened to that unit. Screenshots of PASS and FAIL go to
docs/ (the README shows them) and reports/screenshots/.
"""

from __future__ import annotations

import base64
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evrig.rig.records import read_record
from tests.browser import SHOTS, browser, viewport
from tests.station_proc import ROOT, SIM, StationProc

pytestmark = pytest.mark.xdist_group("station")  # one worker: a bench and a browser

RUN_S = 420.0  # a whole EOL with its certificate PDF on a loaded machine, and margin
STEP_S = 120.0
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("station")


@pytest.fixture(scope="module")
def station(folder: Path) -> Iterator[StationProc]:
    # --prompt-timeout: the test answers every prompt; a loaded machine may be slow to.
    # --shift-start: a shift that began a minute ago holds every unit of the module
    # (at 05:59 the default shifts would put the first unit in the shift before).
    began = (datetime.now() - timedelta(minutes=1)).strftime("%H:%M")
    proc = StationProc(folder, SIM, 0, "--prompt-timeout", "300", "--shift-start", began,
                       env={"PYTEST_PLUGINS": "tests.station_fault_plugin"})
    proc.start()
    try:
        yield proc
    finally:
        proc.kill()


@pytest.fixture(scope="module")
def page(station: StationProc) -> Iterator[Any]:
    with browser(1280, 800) as driver:
        viewport(driver, 1280, 800)  # the line's touch screen
        driver.get(station.url)
        wait(driver, 60, lambda d: d.execute_script(
            "return document.body.dataset.link === 'up'"))
        yield driver


# -- helpers -----------------------------------------------------------------------------
def wait(driver: Any, seconds: float, condition: Any, message: str = "") -> Any:
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition, message)


def keys(driver: Any, text: str) -> None:
    """Keys to whatever has the focus, as a scanner or a keyboard sends them."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(text).perform()


def scan(driver: Any, serial: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.ID, "serial")
    wait(driver, 60, lambda d: field.is_enabled() and d.switch_to.active_element == field,
         "the serial field is not ready for the scanner")
    keys(driver, serial + Keys.ENTER)
    wait(driver, 60, lambda d: d.execute_script(
        "return !!(state && state.unit && state.unit.serial === arguments[0])", serial),
        f"unit {serial} did not start")


def prompt(driver: Any, contains: str) -> str:
    """Wait for the operator prompt whose question contains ``contains``."""
    from selenium.webdriver.common.by import By

    def shown(d: Any) -> bool:
        ended = d.find_element(By.ID, "verdict")
        if ended.is_displayed():  # the run ended instead: say how, not "no prompt"
            raise AssertionError(f"waiting for {contains!r}: {ended.text}")
        box = d.find_element(By.ID, "prompt")
        return box.is_displayed() and contains in d.find_element(
            By.ID, "prompt-question").text

    wait(driver, STEP_S, shown, f"no prompt {contains!r}")
    return str(driver.find_element(By.ID, "prompt-question").text)


def answer(driver: Any, contains: str, key: str) -> None:
    prompt(driver, contains)
    keys(driver, key)
    wait(driver, 30, lambda d: not d.execute_script(
        "const p = state.unit.prompt; return p && p.question.includes(arguments[0])",
        contains), f"the answer to {contains!r} did not reach the station")


def verdict(driver: Any, outcome: str, seconds: float = RUN_S) -> dict[str, Any]:
    from selenium.webdriver.common.by import By

    wait(driver, seconds, lambda d: d.find_element(By.ID, "verdict").is_displayed(),
         "no verdict on the page")
    box = driver.find_element(By.ID, "verdict")
    assert box.get_attribute("data-outcome") == outcome, box.text
    word = driver.find_element(By.ID, "verdict-word")
    return {"text": str(box.text), "word": str(word.text),
            "font_px": float(word.value_of_css_property("font-size").rstrip("px")),
            "colour": str(box.value_of_css_property("background-color"))}


def shoot(driver: Any, name: str) -> Path:
    """The window as the operator sees it, 1280x800, to reports/screenshots and docs/."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    DOCS.mkdir(exist_ok=True)
    shutil.copyfile(path, DOCS / f"{name}.png")
    return path


def step_status(driver: Any, step: str) -> str | None:
    """A step's status as the page shows it (one query: the list is redrawn at each
    change, an element found before may be gone by the next call)."""
    found = driver.execute_script(
        "const li = document.querySelector(`#steps li[data-step='${arguments[0]}']`);"
        "return li ? li.dataset.status : null", step)
    return None if found is None else str(found)


def touch_targets_are_big(driver: Any) -> None:
    """At 1280x800 every visible button is at least 48 px each way, and nothing makes
    the page scroll sideways."""
    sizes = driver.execute_script(
        "return [...document.querySelectorAll('button, input')].filter(b => b.offsetParent)"
        ".map(b => [b.id, b.getBoundingClientRect().width, b.getBoundingClientRect().height])")
    assert sizes and all(w >= 48 and h >= 48 for _, w, h in sizes), sizes
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
        " && window.innerHeight === 800")


def record_of(folder: Path, serial: str) -> Path:
    [path] = sorted((folder / "reports" / "units" / serial).glob("*/record.json"))
    return path


def store_rows(folder: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(folder / "reports" / "results.sqlite") as db:
        return list(db.execute("SELECT serial, outcome, station FROM units ORDER BY start"))


# -- the operator's cases ------------------------------------------------------------------
def test_a_unit_passes_from_the_page(page: Any, station: StationProc, folder: Path) -> None:
    from selenium.webdriver.common.by import By

    scan(page, "SN-PASS-1")
    question = prompt(page, "EOL harness connected")
    assert "SN-PASS-1" in question  # the scanned serial reaches the run
    # live progress: the power-up step runs, its first value shows as it is taken
    assert step_status(page, "power_up_and_boot") == "running"
    touch_targets_are_big(page)
    answer(page, "EOL harness connected", "y")
    answer(page, "beep at power-up", "y")
    wait(page, STEP_S, lambda d: d.execute_script(
        "return document.querySelectorAll("
        "'#steps li[data-status=running] tr[data-measurement]').length"),
        "no measurement shown while a step runs")
    shown = verdict(page, "passed")
    assert shown["word"] == "PASS" and shown["font_px"] >= 150
    assert shown["colour"] in ("rgba(11, 138, 52, 1)", "rgb(11, 138, 52)")
    wait(page, 30, lambda d: "SN-PASS-1" in d.find_element(By.ID, "last").text)
    assert page.find_element(By.ID, "yield").text == "100 %"
    shoot(page, "station-pass")
    # the record, certificate and trace of `rig run eol`, and its row in the store
    path = record_of(folder, "SN-PASS-1")
    record = read_record(path)
    assert record.outcome == "passed" and record.station == "sim-1"
    assert [p["answer"] for p in record.prompts] == ["y", "y"]
    assert not any(p["auto"] for p in record.prompts)
    for name in ("certificate.html", "trace.svg", "trace.json", "junit.xml"):
        assert (path.parent / name).exists(), name
    assert {"certificate", "trace"} <= set(record.files)
    assert store_rows(folder) == [("SN-PASS-1", "passed", "sim-1")]
    documents_are_served(page, station, "SN-PASS-1", record.run_id)


def documents_are_served(driver: Any, station: StationProc, serial: str, run_id: str) -> None:
    """The verdict links the unit's certificate and trace (HTML/SVG and PDF), touch-sized;
    the station serves them for the run on its page, and nothing else by that route."""
    links = driver.execute_script(
        "return [...document.querySelectorAll('#verdict-files a.doc')].map(a => "
        "[a.dataset.document, a.href, a.getBoundingClientRect().height])")
    href = {name: url for name, url, _ in links}
    assert set(href) == {"certificate", "certificate_pdf", "trace", "trace_pdf"}, links
    assert all(height >= 48 for *_, height in links), links
    with urllib.request.urlopen(href["certificate"], timeout=30) as reply:
        assert reply.headers["content-type"].startswith("text/html")
        assert serial in reply.read().decode("utf-8")
    for name in ("certificate_pdf", "trace_pdf"):
        with urllib.request.urlopen(href[name], timeout=30) as reply:
            assert reply.read(5) == b"%PDF-", name
    for path in (f"units/{run_id}/junit", "units/another-run/certificate",
                 f"units/{run_id}/..%2Frecord.json"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(station.url + path, timeout=30)
        assert refused.value.code == 404, path


def test_fault_board_and_a_no_answer_fail_the_unit(page: Any, station: StationProc,
                                                 folder: Path) -> None:
    """The tamper relay closed through the fault board fails the identity step's RTM
    check; "No" to the beep fails the power-up step. FAIL, both listed."""
    from selenium.webdriver.common.by import By

    scan(page, "FAULT-1")
    answer(page, "EOL harness connected", "y")
    answer(page, "beep at power-up", "n")
    wait(page, STEP_S, lambda d: step_status(d, "power_up_and_boot") == "failed",
         "the power-up step did not fail")
    shown = verdict(page, "failed")
    assert shown["word"] == "FAIL"
    failed = set(page.execute_script(
        "return [...document.querySelectorAll('#verdict-failed li')]"
        ".map(li => li.dataset.measurement)"))
    assert {"powerup_beep", "rtm_code"} <= failed, shown["text"]
    wait(page, 30, lambda d: "FAULT-1" in d.find_element(By.ID, "last").text)
    shoot(page, "station-fail")
    record = read_record(record_of(folder, "FAULT-1"))
    assert record.outcome == "failed"
    assert {m.name for m in record.failed_measurements} == {"powerup_beep", "rtm_code"}
    assert record.prompts[1]["answer"] == "n"
    steps = {s.name: s.outcome for s in record.steps}
    assert steps["power_up_and_boot"] == "failed" and steps["identity_and_rtm"] == "failed"
    assert page.find_element(By.ID, "yield").text == "50 %"


def test_abort_from_the_page(page: Any, station: StationProc, folder: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    scan(page, "SN-ABORT")
    answer(page, "EOL harness connected", "y")
    prompt(page, "beep at power-up")
    keys(page, Keys.ESCAPE)
    wait(page, 10, lambda d: d.find_element(By.ID, "confirm").is_displayed())
    keys(page, Keys.ENTER)
    shown = verdict(page, "aborted", seconds=STEP_S)
    assert shown["word"] == "ABORTED"
    record = read_record(record_of(folder, "SN-ABORT"))
    assert record.outcome == "aborted"
    logs = sorted((folder / "reports" / "station" / "logs").glob("*SN-ABORT.log"))
    assert "rig safe state" in logs[-1].read_text(), "the bench did not go to its safe state"


def test_restarted_station_shows_the_unit_in_progress(page: Any, station: StationProc,
                                                      folder: Path) -> None:
    """SIGTERM to the station mid-run: it aborts the unit and waits for its record; the
    page says it lost the station, then reconnects to the new one by itself and shows
    that unit's outcome."""
    from selenium.webdriver.common.by import By

    scan(page, "SN-RESTART")
    answer(page, "EOL harness connected", "y")
    prompt(page, "beep at power-up")
    assert station.stop() == 0, "".join(station.output)
    wait(page, 30, lambda d: d.execute_script("return document.body.dataset.link") == "down")
    assert page.find_element(By.ID, "link").text == "reconnecting…"
    station.start()  # the same port: the page's address
    wait(page, 120, lambda d: d.execute_script("return document.body.dataset.link") == "up",
         "the page did not reconnect")
    shown = verdict(page, "aborted", seconds=60)
    assert "SN-RESTART" in shown["text"]
    assert "station stopped during this unit's run" in shown["text"].lower(), shown["text"]
    assert read_record(record_of(folder, "SN-RESTART")).outcome == "aborted"
