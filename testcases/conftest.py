"""Parametrisation over the charger profile's tables: a testcase that asks for
``derating_row`` runs once per row of ``spec.temperature_derating``, one that asks
for ``pp_band`` once per entry of ``spec.pp_bands``. Collection happens before the
rig is built, so the profile is read here from the same rig file the ``rig``
fixture will use (no instrument is touched)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest


@cache
def _profile(rig_file: str) -> Any:
    from evrig.rig.assembly import _profile_for
    from evrig.rig.config import load_rig

    return _profile_for(load_rig(rig_file))


def _spec(config: pytest.Config) -> Any:
    from evrig.fixtures.plugin import _rig_file  # the plugin's rule: --rig, $RIG_FILE, default

    return _profile(_rig_file(config))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "derating_row" in metafunc.fixturenames:
        rows = _spec(metafunc.config).temperature_derating.rows
        metafunc.parametrize("derating_row", rows, ids=[f"{r.max_temp_c:g}C" for r in rows])
    if "pp_band" in metafunc.fixturenames:
        bands = _spec(metafunc.config).pp_bands
        metafunc.parametrize("pp_band", bands, ids=[f"{b.nominal_ohm:g}ohm" for b in bands])
