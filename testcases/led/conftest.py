"""A testcase that asks for ``led_case`` runs once per row of the profile's LED table
and per column (online, offline): ``(status, online)``. Reserved has no row in the
EVNET table (profile note), so it is not among them."""

from __future__ import annotations

import pytest

from evrig.fixtures.params import run_profile


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "led_case" in metafunc.fixturenames:
        rows = run_profile(metafunc.config).led.rows
        cases = [(status, online) for status in rows for online in (True, False)]
        metafunc.parametrize("led_case", cases, ids=[
            f"{s}-{'online' if on else 'offline'}" for s, on in cases])
