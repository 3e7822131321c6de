"""Fixtures of the end-of-line sequence: the ``eol`` step helper (charger delays,
operator prompts, unit facts for the record), the supply kept on between steps and
the optional LED observer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evrig.fixtures.session import EOL_FACTS
from evrig.rig.errors import MissingWire
from evrig.testcases.eol.steps import NO_LED, EolStep


@pytest.fixture
def eol(request: pytest.FixtureRequest, rig: Any) -> EolStep:
    """What a step adds to the unit record besides measurements (``rig run eol``
    collects it; a plain pytest run keeps it on the test item only)."""
    runner = request.config.pluginmanager.get_plugin("rig-eol")
    step = EolStep(request.config, rig, runner)
    request.node.stash[EOL_FACTS] = step
    return step


@pytest.fixture
def led_if_fitted(request: pytest.FixtureRequest) -> Any:
    """The LED observer (``led`` fixture) where the rig has one, else None: for a step
    that looks at the light when it can and checks the rest without it."""
    try:
        return request.getfixturevalue("led")
    except pytest.FixtureLookupError:
        return None


@pytest.fixture
def led_observer(led_if_fitted: Any) -> Any:
    """The LED observer where the rig has one; otherwise the step skips, naming the
    missing wire."""
    if led_if_fitted is None:
        pytest.skip(NO_LED)
    return led_if_fitted


@pytest.fixture
def mains(_bench: Any) -> Iterator[Any]:
    """The AC source feeding the unit, for a step that moves the supply: back at nominal
    after the step, not switched off as the ``ac_source`` fixture leaves it — the next
    step needs the unit up, and switching it off costs a boot (2-3 spec seconds a step).
    The rig's safe state still switches it off at the end of the run and on Ctrl-C."""
    if _bench.ac_source is None:
        raise MissingWire("this rig has no ac source (instruments.ac_source)")
    try:
        yield _bench.ac_source
    finally:
        _bench.supply_nominal()
