"""How the EOL sees a fault on the unit, whichever family it is (design §5: faults are
vendor-neutral conditions; each profile says how its unit shows one).

- where the profile has an RTM register (EV NET, COMPACT): the condition's bits in it,
  read on the service console;
- where the fault row has a display string (EV PLUS, 003 §7.1.2): that string on the
  display, read through the bench's camera (``rig.display``);
- both where both exist. Recovery is the quickest action of the row's ``recovery``
  list that the bench can give (by itself, Clear Faults, unplugging, a supply power
  cycle — in that order): the one a station's operator would be told to use, since a
  power cycle costs a boot of every unit.
"""

from __future__ import annotations

import re
from typing import Any

from evrig.rig.errors import InstrumentError
from evrig.testcases.eol.steps import power_cycle

BOOT_S = 60.0  # spec seconds from mains on until the unit is back (protection.checks)
# A row's recoveries, quickest first: the EOL applies the first of these the row lists.
QUICKEST = ("auto", "web_clear", "unplug", "power_cycle")


def _rtm(charger: Any) -> int | None:
    try:
        return int(charger.rtm_code())
    except InstrumentError:  # the board is off or booting
        return None


def showing(rig: Any, charger: Any, fault: Any) -> bool:
    """Whether the unit shows ``fault`` now, in every way its profile says it does."""
    shown = True
    if fault.rtm is not None:
        value = _rtm(charger)
        shown = value is not None and value & fault.rtm.code == fault.rtm.code
    display = getattr(rig, "display", None)
    if fault.display and display is not None:
        shown = shown and display.text() == fault.display
    return shown


def shows_fault(rig: Any, charger: Any, clock: Any, fault: Any, timeout: float) -> float:
    """Wait until the unit shows ``fault``; spec seconds it took. On a display the
    string is waited for first (its reader stamps each frame), then the register."""
    t0 = clock.now()
    display = getattr(rig, "display", None)
    if fault.display and display is not None:
        display.wait_for(f"^{re.escape(fault.display)}$", timeout)
    assert clock.wait_until(lambda: showing(rig, charger, fault), timeout), \
        f"{fault.condition} not shown within {timeout:g} s"
    return clock.now() - t0


def fault_strings(spec: Any) -> set[str]:
    return {f.display for f in spec.conditions.values() if f.display}


def recover(rig: Any, ev: Any, charger: Any, clock: Any, fault: Any, eol: Any) -> str:
    """Apply the row's quickest recovery the bench can give; the rule used. A power
    cycle's power-down and boot count as the charger's delays (steps.power_cycle)."""
    rules = sorted(fault.recovery, key=lambda r: QUICKEST.index(r) if r in QUICKEST
                   else len(QUICKEST))
    for rule in rules:
        if rule == "auto":
            return rule
        if rule == "web_clear":
            charger.clear_faults()
            return rule
        if rule == "unplug":
            ev.unplug()
            return rule
        if rule == "power_cycle" and charger.has_mains:
            t_on = power_cycle(charger, clock, ev, eol)
            assert clock.wait_until(lambda: _booted(charger), BOOT_S, poll=0.1), \
                "the unit did not come back after the power cycle"
            eol.delay("boot", clock.now() - t_on,
                      f"{fault.condition}: power-cycle recovery, mains on to booted")
            return rule
    raise AssertionError(f"{fault.condition}: no recovery of {fault.recovery} on this bench")


def _booted(charger: Any) -> bool:
    try:
        return charger.status().get("boot") == "Accepted"
    except InstrumentError:
        return False
