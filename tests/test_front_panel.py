"""The twin's front panel as the Cabur EV PLUS shows it (sim/charger/front_panel.py,
003 §7.1): the belt, the four indicators and the character display, from the twin's
firmware driven without a bench (tests/twin_doubles.py) with the evplus profile.

Expected values come from the profile (blink periods, rotation period, strings) and are
checked against 003's own words where 003 prints them ("ERR OVP", 'ccc.0' V).

The last test closes the loop a bench will use: the twin's panel rendered, served as a
network camera does, read back through the camera driver (drivers/camera).
"""

from __future__ import annotations

import dataclasses

import pytest

from evrig.drivers.camera import Camera, PanelObserver, load_panel
from evrig.rig.clock import Clock
from evrig.rig.loop import LoopThread
from evrig.rig.profile import Profile, load_profile
from evrig.sim.charger.front_panel import (
    WIFI_ROW,
    FrontPanel,
    PanelFacts,
    check_profile,
    panel_at,
)
from evrig.sim.charger.twin import BOOT_DELAY_S
from evrig.sim.instruments.camera_server import CameraServer
from evrig.sim.instruments.panel_render import PanelRenderer, PanelState
from tests.twin_doubles import Bench

SPEC: Profile = load_profile("evplus")
DISPLAY = SPEC.display
assert DISPLAY is not None
ITEM_S = DISPLAY.item_s
BELT = SPEC.led
INDICATORS = ("wifi", "plug", "charging", "fault")


class PanelBench(Bench):
    """A firmware (tests/twin_doubles.Bench) as the twin the panel reads: powered since
    spec time 0, the panel refreshed after each evaluation as the twin's on_evaluated
    listeners are."""

    def __init__(self, variant: str = "7S") -> None:
        super().__init__(variant, SPEC)
        self.powered = True
        self.powered_at: float | None = 0.0
        self.panel = FrontPanel(SPEC, self.clock, lambda: self)

    def step(self, dt: float = 0.0) -> int:
        rtm = super().step(dt)
        self.panel.refresh()
        return rtm

    def after_self_test(self) -> None:
        self.step(BOOT_DELAY_S)

    def at(self, dt: float = 0.0) -> PanelState:
        """The panel ``dt`` spec seconds from now (the facts of the last evaluation)."""
        return self.panel.state_at(self.clock.t + dt)


def colours(bench: PanelBench, light: str, seconds: float, step: float = 0.05) -> list[str]:
    return [bench.at(i * step).lights[light] for i in range(round(seconds / step))]


def assert_blinks(bench: PanelBench, light: str, colour: str, blink: str) -> None:
    """``light`` alternates ``colour`` and unlit at the profile's blink class: lit for
    ``duty`` of each period, two periods sampled."""
    spec = SPEC.lights[light].blink[blink]
    step = spec.period_s / 40
    seen = colours(bench, light, 2 * spec.period_s, step)
    assert set(seen) == {colour, "dark_grey"}, seen
    assert seen.count(colour) / len(seen) == pytest.approx(spec.duty, abs=0.03)
    changes = sum(a != b for a, b in zip(seen, seen[1:], strict=False))
    assert changes in (3, 4)  # two periods: one on and one off phase each


def test_the_profile_has_every_row_the_rules_select() -> None:
    check_profile(SPEC)
    broken = dataclasses.replace(SPEC, display=None)
    with pytest.raises(ValueError, match="display"):
        FrontPanel(broken, Bench().clock, lambda: None)


def test_off_then_the_white_self_test_then_green_stand_by() -> None:
    bench = PanelBench()
    assert set(bench.panel.state_at(-1).lights.values()) == {"dark_grey"}  # before power
    bench.panel.refresh()  # power-on (the twin calls its listeners at once)
    self_test = bench.at(BOOT_DELAY_S / 2)
    # 003 §7.1.1: white, no blinking, during the power-on self-test; nothing else lit.
    assert self_test.lights[BELT.name] == "white"
    assert BELT.powerup is not None and BELT.powerup.online == ("white", "white")
    assert all(self_test.lights[name] == "dark_grey" for name in INDICATORS)
    assert self_test.display == "" and self_test.unit is None
    bench.after_self_test()
    assert bench.fw.connector_status() == "Available"
    assert_blinks(bench, BELT.name, "green", "slow")  # 003 §7.1.1 Stand-By
    assert_blinks(bench, "wifi", "green", "blink")  # WIFI_ROW: client mode, connected
    assert WIFI_ROW == "ClientConnected"
    assert {bench.at().lights[n] for n in ("plug", "charging", "fault")} == {"dark_grey"}


def test_stand_by_rotates_voltage_and_frequency() -> None:
    bench = PanelBench()
    bench.after_self_test()
    shown = [(s.display, s.unit) for s in
             (bench.at(ITEM_S * (i + 0.5)) for i in range(4))]
    # 003 §7.1.2: ccc.0 V and cc.c Hz; current, energy and minutes only in a session.
    assert shown == [("230.0", "V"), ("50.0", "Hz"), ("230.0", "V"), ("50.0", "Hz")]


def test_plugged_in_is_steady_blue_with_the_plug_indicator() -> None:
    bench = PanelBench()
    bench.after_self_test()
    bench.plug()
    assert bench.fw.connector_status() == "Preparing"
    seen = colours(bench, BELT.name, 4.0)
    assert set(seen) == {"blue"}  # 003 §7.1.1 Charging mode setup: blue, no blinking
    assert set(colours(bench, "plug", 4.0)) == {"white"}  # 003 §7.1.3 steady white


def test_charging_blinks_blue_slowly_and_rotates_five_values() -> None:
    bench = PanelBench()
    bench.after_self_test()
    bench.charge(amps=16)
    bench.run(15 * 60, tick=1.0)  # a quarter of an hour at 16 A, 230 V
    assert bench.fw.connector_status() == "Charging"
    assert_blinks(bench, BELT.name, "blue", "slow")  # 003 §7.1.1 Charging mode
    assert set(colours(bench, "charging", 4.0)) == {"white"}  # 003 §7.1.3 steady
    assert set(colours(bench, "plug", 4.0)) == {"white"}
    # The rotation began with the session: find its phase from the first item.
    facts = bench.panel.facts
    start = max(facts.rotation_since, facts.self_test_until)
    items = DISPLAY.items(True)
    assert [i.quantity for i in items] == ["voltage_v", "current_a", "frequency_hz",
                                           "energy_kwh", "duration_min"]
    first = (int((bench.clock.t - start) // ITEM_S) // len(items) + 1) * len(items)
    shown = [bench.panel.state_at(start + ITEM_S * (first + i + 0.5)) for i in range(5)]
    # 003 §7.1.2 formats with the unit lit beside each: 230 V, 16 A, 50 Hz,
    # 920 Wh (230 V x 16 A x 0.25 h), 15 whole minutes.
    assert [(s.display, s.unit) for s in shown] == [
        ("230.0", "V"), ("16.0", "A"), ("50.0", "Hz"), (" 0.9", "kWh"), (" 15", "Min")]


def test_a_pause_blinks_the_belt_fast_and_the_charging_indicator() -> None:
    bench = PanelBench()
    bench.after_self_test()
    bench.charge(amps=16)
    bench.relays["r_c"] = False  # the EV pauses (state C -> B)
    bench.run(1.0)
    assert bench.fw.connector_status() == "SuspendedEV"
    assert_blinks(bench, BELT.name, "blue", "fast")  # 003 §7.1.1 Pause
    assert_blinks(bench, "charging", "white", "blink")  # 003 §7.1.3 suspended
    assert bench.at().display != "" and bench.at().unit is not None  # still rotating


def test_overvoltage_shows_err_ovp_on_a_red_belt() -> None:
    bench = PanelBench()
    bench.after_self_test()
    high = SPEC.protections.voltage.high_v + 5
    bench.circuit.update(lambda c: setattr(c.supply, "volts", [high]))
    bench.step(0.25)
    assert bench.fw.connector_status() == "Faulted"
    state = bench.at()
    assert state.display == SPEC.fault("overvoltage").display == "ERR OVP"  # 003 §7.1.2
    assert state.unit is None
    assert set(colours(bench, BELT.name, 4.0)) == {"red"}  # 003 §7.1.1 Error mode
    assert set(colours(bench, "fault", 4.0)) == {"red"}  # 003 §7.1.3 steady red


def test_overvoltage_during_a_session_is_not_reclosed() -> None:
    """003 §5: a session that tripped does not resume when the voltage is back (the
    profile lists no auto recovery for overvoltage); ERR OVP stays while plugged."""
    assert not SPEC.fault("overvoltage").auto_recovery
    bench = PanelBench()
    bench.after_self_test()
    bench.charge(amps=16)
    high = SPEC.protections.voltage.high_v + 5
    bench.circuit.update(lambda c: setattr(c.supply, "volts", [high]))
    bench.step(0.25)
    assert bench.fw.connector_status() == "Faulted"
    nominal = float(SPEC.ratings["nominal_voltage_v"].value)
    bench.circuit.update(lambda c: setattr(c.supply, "volts", [nominal]))
    bench.run(10)
    assert bench.fw.connector_status() == "Faulted" and bench.at().display == "ERR OVP"


def test_err_ocp_stays_after_the_cause_until_the_user_unplugs() -> None:
    """003 §5: protections are not reclosed automatically. The overcurrent trip (a
    latched condition of the twin) keeps ERR OCP and the red belt once the EV draws
    nothing; unplugging (the profile's recovery) brings stand-by back."""
    reclosing = SPEC.protections.reclosing
    assert reclosing is not None and not reclosing.automatic
    assert "overcurrent" in reclosing.conditions
    assert not SPEC.fault("overcurrent").auto_recovery
    bench = PanelBench()
    bench.after_self_test()
    bench.charge(amps=16)
    trip = SPEC.protections.overcurrent.hw_trip_factor * SPEC.ratings["max_current_a"].value
    bench.circuit.set_load(trip + 1)  # above the hardware trip: at once
    bench.step(0.25)
    bench.circuit.set_load(0)  # the cause is gone
    bench.run(60)
    state = bench.at()
    assert state.display == "ERR OCP" and state.lights[BELT.name] == "red"
    assert state.lights["fault"] == "red"
    bench.unplug()
    assert bench.fw.connector_status() == "Available"
    assert bench.at().display in ("230.0", "50.0")  # the stand-by rotation again
    assert_blinks(bench, BELT.name, "green", "slow")
    assert bench.at().lights["fault"] == "dark_grey"


def test_snapshots_keep_what_the_panel_showed_before_a_change() -> None:
    bench = PanelBench()
    bench.after_self_test()
    before = bench.clock.t
    bench.run(1.0)
    bench.plug()  # seen at before + 1
    assert bench.panel.state_at(before + 0.5).lights["plug"] == "dark_grey"
    assert bench.at(0.01).lights["plug"] == "white"
    bench.powered = False  # the board loses its supply
    bench.panel.refresh()
    assert set(bench.at(0.01).lights.values()) == {"dark_grey"} and bench.at().display == ""


# -- the rules alone --------------------------------------------------------------------
ON = PanelFacts(powered=True, rotation_since=0.0)


def test_the_highest_ranked_fault_is_the_one_shown() -> None:
    """With several faults, the first in the profile's `faults:` order (its choice)."""
    both = dataclasses.replace(ON, status="Faulted", faults=("overcurrent", "overvoltage"))
    assert panel_at(SPEC, both, 1.0).display == "ERR OCP"
    assert SPEC.fault("overcurrent").rank < SPEC.fault("overvoltage").rank


@pytest.mark.parametrize("result", sorted(SPEC.upgrade.results if SPEC.upgrade else ()))
def test_an_upgrade_result_replaces_the_display(result: str) -> None:
    assert SPEC.upgrade is not None
    facts = dataclasses.replace(ON, upgrade_result=result, faults=("overvoltage",))
    state = panel_at(SPEC, facts, 1.0)
    assert state.display == SPEC.upgrade.results[result].display  # 003 §7.1.2, §12
    assert state.unit is None and state.display.endswith(" UP")


def test_the_twin_panel_reads_back_through_the_camera() -> None:
    """Charging: the twin's display, rendered and served over HTTP as MJPEG, reads
    back through the camera driver as the value and unit the panel shows."""
    bench = PanelBench()
    bench.after_self_test()
    bench.charge(amps=16)
    state = bench.at()
    assert state.display.strip() and state.unit is not None
    table = load_panel(SPEC.model)
    frame = PanelRenderer(table).render(state)
    loop = LoopThread("panel-camera")
    server = CameraServer(lambda: frame, fps=10, now=Clock().now)
    loop.run(server.start())
    try:
        with Camera(server.url, clock=Clock(), name="panel camera") as camera:
            observer = PanelObserver(camera, table.display, table.camera, SPEC.lights)
            reading = observer.reading()
    finally:
        loop.run(server.stop())
        loop.stop()
    assert (reading.text, reading.unit) == (state.display, state.unit)
