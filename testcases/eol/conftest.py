"""Fixtures of the end-of-line sequence: the ``eol`` step helper (charger delays,
operator prompts, unit facts for the record) and the optional LED observer."""

from __future__ import annotations

from typing import Any

import pytest

from evrig.fixtures.session import EOL_FACTS
from evrig.testcases.eol.steps import EolStep


@pytest.fixture
def eol(request: pytest.FixtureRequest, rig: Any) -> EolStep:
    """What a step adds to the unit record besides measurements (``rig run eol``
    collects it; a plain pytest run keeps it on the test item only)."""
    runner = request.config.pluginmanager.get_plugin("rig-eol")
    step = EolStep(request.config, rig, runner)
    request.node.stash[EOL_FACTS] = step
    return step


@pytest.fixture
def led_observer(request: pytest.FixtureRequest) -> Any:
    """The LED observer (``led`` fixture) where the rig has one; otherwise the step
    skips, naming the missing wire."""
    try:
        return request.getfixturevalue("led")
    except pytest.FixtureLookupError:
        pytest.skip("this rig has no LED observer (instruments.led: the led fixture is "
                    "not installed)")
