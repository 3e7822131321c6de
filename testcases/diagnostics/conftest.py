"""``code_stimulus``: each stimulus of a code the rig's profile lists.
``clear_stimulus``: one stimulus (testcases/protection/stimuli.py) per distinct
recovery rule set of the profile — enough to see Clear Faults clear exactly the codes
whose recovery lists web_clear, without repeating every code (test_rtm_codes does)."""

from __future__ import annotations

import pytest

from evrig.fixtures.params import run_profile
from evrig.testcases.protection.stimuli import STIMULI, Stimulus


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "code_stimulus" in metafunc.fixturenames:
        # Every stimulus of a code this rig's profile lists.
        codes = run_profile(metafunc.config).rtm_codes
        metafunc.parametrize("code_stimulus", [
            pytest.param(s, id=s.id, marks=[pytest.mark.socketed] if s.socketed else [])
            for s in STIMULI if s.code in codes])
    if "clear_stimulus" not in metafunc.fixturenames:
        return
    spec = run_profile(metafunc.config)
    chosen: dict[tuple[str, ...], Stimulus] = {}
    for stim in STIMULI:
        if stim.code not in spec.rtm_codes:
            continue  # another family's code (the EV NET 7 kW's 0x0060)
        if not spec.fault(spec.rtm(stim.code).condition or "").stops_charging:
            continue  # a soft fault: Clear Faults' test expects Faulted first
        key = tuple(sorted(spec.rtm(stim.code).recovery))
        # A socket-only stimulus is not the representative when another exists: the
        # tethered run would skip its whole recovery class.
        if key not in chosen or getattr(chosen[key], "socketed", False) and not stim.socketed:
            chosen[key] = stim
    params = [pytest.param(s, id=s.id, marks=[pytest.mark.socketed] if s.socketed else [])
              for s in chosen.values()]
    metafunc.parametrize("clear_stimulus", params)
