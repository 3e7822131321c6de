"""A pytest plugin the station's browser tests load into the units' runs (through
``PYTEST_PLUGINS``, which the station passes on to each ``rig run eol``): for a unit
whose serial starts with ``FAULT-`` it closes the fault board's tamper relay during the
identity step, through the ``faults`` fixture and its real driver, so the charger
raises its tamper bit and the step's RTM measurement fails honestly. The ``faults``
fixture opens the relay again when the step ends, as it does after any testcase."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

PREFIX = "FAULT-"
STEP = "test_identity_and_rtm"


@pytest.fixture(autouse=True)
def _tamper_for_fault_units(request: pytest.FixtureRequest) -> Iterator[None]:
    runner = request.config.pluginmanager.get_plugin("rig-eol")
    serial = str(getattr(runner, "serial", "") or "")
    if request.node.name != STEP or not serial.startswith(PREFIX):
        yield
        return
    faults = request.getfixturevalue("faults")
    charger = request.getfixturevalue("charger")
    clock = request.getfixturevalue("clock")
    faults.tamper(True)
    # the charger's answer to the relay: its RTM register, read as the step reads it
    clock.wait_until(lambda: charger.rtm_code() != 0, 5.0)
    yield
