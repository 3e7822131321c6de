"""The production report as a person sees it: headless Chromium (Debian's ``chromium``
and ``chromium-driver``, driven by selenium: tests/browser.py) opens the HTML file
offline, the test waits until every plot has been laid out with a size, then reads the
yield and Cpk figures shown on the page and compares them with the same figures
computed from the store's raw rows (tests/report_reference.py). Skipped, saying what
to install, where there is no browser. The screenshot:
reports/screenshots/production-report.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evrig.rig.cli import main
from tests import report_reference as ref
from tests.browser import browser, screenshot
from tests.report_units import make_store


def test_the_page_shows_the_stores_yield_and_cpk(tmp_path: Path) -> None:
    url, _ = make_store(tmp_path, 800, seed=21)
    out = tmp_path / "report.html"
    assert main(["report", "--database", url, "--reports", str(tmp_path), "-o", str(out)]) == 0
    with browser(1280, 1600) as driver:
        check_page(driver, out, tmp_path)
        shot = screenshot(driver, out, "production-report")
    assert shot["scroll_width"] <= shot["viewport"], "the page is wider than the window"
    print(f"screenshot: {shot['path']}")


def check_page(driver: Any, out: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(out.resolve().as_uri())
    assert len(driver.find_elements(By.CSS_SELECTOR, "svg")) > 10
    # rendered: every plot laid out with a size, its bars drawn
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.querySelectorAll('svg')]"
        ".every(s => s.getBoundingClientRect().width > 100 && s.querySelector('path'))"))

    def text(element_id: str, selector: str = ".v") -> str:
        found = driver.find_element(By.ID, element_id).find_element(By.CSS_SELECTOR, selector)
        return str(found.text).strip()

    raw = ref.rows(str(tmp_path / "results.sqlite"))
    expected = ref.yields(raw)
    assert text("kpi-units") == str(expected.units)
    assert text("kpi-runs") == str(expected.runs)
    assert text("kpi-retests") == str(expected.retests)
    assert float(text("kpi-yield").rstrip(" %")) == pytest.approx(
        100 * expected.yield_, abs=0.005)
    assert float(text("kpi-fpy").rstrip(" %")) == pytest.approx(
        100 * expected.first_pass_yield, abs=0.005)

    for profile, name in [("evnet-7kw", "pwm_duty_32a_pct"),
                          ("evnet-compact", "meter_energy_error_pct"),
                          ("evnet-7kw", "rcd_ac_trip_s")]:  # upper limit only
        xs, low, high = ref.values(raw, profile, name)
        cpk, ppk = ref.cpk_ppk(xs, low, high)
        row = driver.find_element(By.CSS_SELECTOR, f"tr[id^='cap-{profile}-{name}-']")
        shown_cpk = row.find_element(By.CSS_SELECTOR, "td.cpk").text.split()[0]
        shown_ppk = row.find_element(By.CSS_SELECTOR, "td.ppk").text
        assert float(shown_cpk) == pytest.approx(cpk, abs=0.005), name
        assert float(shown_ppk) == pytest.approx(ppk, abs=0.005), name
        card = driver.find_element(By.CSS_SELECTOR, f"div[id^='dist-{profile}-{name}-']")
        assert card.find_element(By.CSS_SELECTOR, "svg").size["height"] > 50
        assert f"Cpk {cpk:.2f}" in card.text
