"""Parametrisation over the charger profile's tables: a testcase that asks for
``derating_row`` runs once per row of ``spec.temperature_derating``, one that asks
for ``pp_band`` once per entry of ``spec.pp_bands``, ``fuse_row`` once per row of
``spec.fuse_derating`` (none: no FuseLimit, no test). Collection happens before the
rig is built: :func:`evrig.fixtures.params.run_profile` reads the profile from the
same rig file the ``rig`` fixture will use (no instrument is touched)."""

from __future__ import annotations

import pytest

from evrig.fixtures.params import run_profile


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "derating_row" in metafunc.fixturenames:
        rows = run_profile(metafunc.config).temperature_derating.rows
        metafunc.parametrize("derating_row", rows, ids=[f"{r.max_temp_c:g}C" for r in rows])
    if "pp_band" in metafunc.fixturenames:
        bands = run_profile(metafunc.config).pp_bands
        metafunc.parametrize("pp_band", bands, ids=[f"{b.nominal_ohm:g}ohm" for b in bands])
    if "fuse_row" in metafunc.fixturenames:
        table = run_profile(metafunc.config).fuse_derating
        fuse_rows = table.rows if table is not None else ()
        metafunc.parametrize("fuse_row", fuse_rows,
                             ids=[f"{r.circuit_a:g}A" for r in fuse_rows])
