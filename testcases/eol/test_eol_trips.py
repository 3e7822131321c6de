"""End-of-line steps 8–10 (after the enclosure steps): the protections every unit must
show before it leaves the line — residual current, over- and undervoltage, and the
main light for Available, Charging and a fault.

Each fault is a vendor-neutral condition of the profile (design §5), shown as that
unit shows it (testcases/eol/unit_faults.py: RTM register, display string) and
recovered by the quickest action of its row's ``recovery`` the bench can give: an EV
NET clears a voltage fault by itself and a residual-current trip at Clear Faults, an
EV PLUS never recloses after a protection trip (003 §5) and stays dead until unplugged
or power-cycled. The supply steps use ``mains`` (conftest.py): the unit stays powered
into the next step. Limits from the profile (``spec``).
"""

from __future__ import annotations

import pytest

from evrig.testcases.eol.steps import (
    NO_LED,
    authorised_in_b,
    led_seen,
    led_window,
    live,
    time_until_outlet,
)
from evrig.testcases.eol.unit_faults import recover, showing, shows_fault
from evrig.testcases.protection.checks import REACT_S, VOLT_MARGIN_V

pytestmark = pytest.mark.eol


def _latched(rig, ev, charger, clock, spec, led, measure, eol, fault, since: float,
             side: str) -> None:
    """After the cause went (at ``since``): the unit does not reclose (003 §5). The main
    light is watched for one window of its blink — the look it needs anyway, the
    charger's delay — and must show Faulted throughout; then the fault is still shown
    and the outlet never came live since the cause went (its sense stamps every edge).

    A reclosing firmware recloses as soon as the cause is gone (its recovery's reaction,
    within the budget); this one window is the EOL's check of this unit. The longer dwell
    that shows a firmware latches for good (HOLD_S) is the regression's, on each firmware
    release (testcases/protection, testcases/evplus): the EOL checks the unit runs it."""
    if led is not None:
        led_seen(led, clock, spec, measure, eol, "Faulted",
                 f"{side}voltage_led_faulted_held_s")
    else:  # no light to look at: the same window, the sequence's own time
        eol.note(f"{side}voltage: light not observed while latched ({NO_LED})")
        clock.sleep(led_window(spec))
    reclosed = any(live for _, live in ev.outlet_edges(since))
    held = showing(rig, charger, fault) and not reclosed and not ev.outlet_live()
    measure(f"{side}voltage_latched", float(held), low=1, high=1)


def _shown(rig, charger, clock, eol, fault) -> None:
    """The unit shows the fault: how long it took is its delay (display, RTM)."""
    with eol.charger_wait("response", f"{fault.condition} shown"):
        shows_fault(rig, charger, clock, fault, REACT_S)


def _cleared(rig, charger, clock, eol, fault, rule: str) -> None:
    """After the recovery ``rule``: the fault goes from the unit's display/RTM."""
    with eol.charger_wait("response", f"{fault.condition} cleared ({rule})"):
        assert clock.wait_until(lambda: not showing(rig, charger, fault), REACT_S), \
            f"{fault.condition} still shown after {rule}"


# -- 8. residual current: AC and DC trip times ------------------------------------------
@pytest.mark.parametrize("condition", [
    pytest.param("leakage_ac", marks=pytest.mark.applies(conditions=("leakage_ac",)),
                 id="ac"),
    pytest.param("leakage_dc", marks=pytest.mark.applies(conditions=("leakage_dc",)),
                 id="dc")])
def test_rcd_trip(rig, csms, ev, charger, clock, spec, ac_load, faults, measure, eol,
                  condition):
    """Leakage at the rated residual current while charging at the minimum current:
    the outlet goes dead within the trip time and the unit shows the fault; it clears
    with the profile's recovery (EV NET: Clear Faults; EV PLUS: a power cycle)."""
    fault = spec.fault(condition)
    dc = condition == "leakage_dc"
    kind = "dc" if dc else "ac"
    ma = spec.protections.rcd.dc_ma if dc else spec.protections.rcd.ac_ma
    trip_max = float(spec.ratings[f"rcd_{kind}_trip_max_s"].value)
    authorised_in_b(csms, ev, charger, eol=eol)
    live(clock, ev, ac_load, spec, measure, eol, float(spec.ratings["min_current_a"].value),
         f"rcd_{kind}_contactor_close_s")
    t0 = clock.now()
    faults.leakage(ma, dc=dc)
    tripped = time_until_outlet(ev, t0, live=False, timeout=2 * trip_max)
    measure(f"rcd_{kind}_trip_s", tripped, high=trip_max, unit="s")
    eol.delay("rcd trip", tripped, kind)
    _shown(rig, charger, clock, eol, fault)
    if fault.rtm is not None:
        code = fault.rtm.code
        measure(f"rcd_{kind}_rtm_code", charger.rtm_code() & code, low=code, high=code)
    faults.leakage(0, dc=dc)
    rule = recover(rig, ev, charger, clock, fault, eol)
    eol.fact(f"rcd_{kind}_recovery", rule)
    _cleared(rig, charger, clock, eol, fault, rule)


# -- 9. over/undervoltage: trip, and recovery as the profile says -----------------------
def test_voltage_trip_and_recovery(rig, csms, ev, charger, clock, spec, mains, ac_load,
                                   led_if_fitted, measure, eol):
    """Charging; the supply just outside the software band (above, then below): the
    outlet goes dead, the unit shows the fault; back at nominal it recovers by itself
    where the profile says so (recovery auto, the load draws again), else it stays
    dead, its light Faulted, until its recovery (a new session follows for the next
    side)."""
    volt = spec.protections.voltage
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    amps = float(spec.ratings["min_current_a"].value)
    session = False
    for side, volts, condition in (("over", volt.high_v + VOLT_MARGIN_V, "overvoltage"),
                                   ("under", volt.low_v - VOLT_MARGIN_V, "undervoltage")):
        fault = spec.fault(condition)
        if not session:
            authorised_in_b(csms, ev, charger, eol=eol)
            live(clock, ev, ac_load, spec, measure, eol, amps, f"{side}voltage_close_s")
        t0 = clock.now()
        mains.set_voltage(volts)
        tripped = time_until_outlet(ev, t0, live=False, timeout=REACT_S)
        measure(f"{side}voltage_trip_s", tripped, high=REACT_S, unit="s")
        eol.delay(f"{side}voltage trip", tripped)
        _shown(rig, charger, clock, eol, fault)
        t0 = clock.now()
        mains.set_voltage(nominal)
        if fault.auto_recovery:
            back = time_until_outlet(ev, t0, live=True, timeout=2 * REACT_S)
            measure(f"{side}voltage_recovery_s", back, high=REACT_S, unit="s")
            eol.delay(f"{side}voltage recovery", back, "auto recovery incl. contactor close")
            assert not showing(rig, charger, fault)
            session = True
        else:
            _latched(rig, ev, charger, clock, spec, led_if_fitted, measure, eol, fault, t0,
                     side)
            rule = recover(rig, ev, charger, clock, fault, eol)
            eol.fact(f"{side}voltage_recovery", rule)
            _cleared(rig, charger, clock, eol, fault, rule)
            session = False
    if session:
        assert ac_load.measure().current > 0.5


# -- 10. the main light: Available, Charging, Faulted -----------------------------------
def test_led_colours(rig, csms, ev, charger, clock, spec, mains, ac_load, led_observer,
                     measure, eol):
    """The main light (EV NET ring, EV PLUS belt) shows the profile's online pattern for
    Available, Charging and Faulted (an overvoltage); after the cause goes, Charging
    again where the fault recovers by itself, else Available after its recovery (that
    the light stays Faulted until then is step 9's, for both voltage faults)."""
    def seen(status: str, name: str) -> None:
        led_seen(led_observer, clock, spec, measure, eol, status, name)

    fault = spec.fault("overvoltage")
    seen("Available", "led_available_s")
    authorised_in_b(csms, ev, charger, eol=eol)
    live(clock, ev, ac_load, spec, measure, eol, float(spec.ratings["min_current_a"].value),
         "led_contactor_close_s")
    seen("Charging", "led_charging_s")
    mains.set_voltage(spec.protections.voltage.high_v + VOLT_MARGIN_V)
    seen("Faulted", "led_faulted_s")
    mains.set_voltage(float(spec.ratings["nominal_voltage_v"].value))
    if fault.auto_recovery:
        seen("Charging", "led_charging_again_s")
    else:
        recover(rig, ev, charger, clock, fault, eol)
        seen("Available", "led_available_again_s")
