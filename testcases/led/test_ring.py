"""The main light (the EV NET ring or bar, the EV PLUS belt) shows the profile's pattern
(001 Appendix I, 003 §7.1.1) for every connector status, online and offline; the
power-up row until the backend accepts the boot (000 §2.5) or for the power-on
self-test (003 §7.1.1, profile ``powerup_until``); LightIntensity dims it without
changing its colours where the profile has the key.

Expected colours and blink come from ``spec.led``; the blink rate is the profile's
``blink`` class of the row (a recorded choice: the manuals give none)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.led.stimuli import STIMULI, Bench
from evrig.testcases.ocpp.steps import offline_needs_web

PERIOD_TOLERANCE = 0.10  # the observed blink period within 10 % of the profile's
DUTY_TOLERANCE = 0.10  # absolute, on a 0..1 duty
OFF_S = 5.0  # spec seconds the charger stays unpowered in the power-up testcase
# Spec seconds per look at a power-up light that lasts only its self-test (003 gives it
# no time; the look must fit in it several times): its colour is in no other row.
SELF_TEST_LOOK_S = 0.5


def _sample_s(obs) -> float:
    """The observation's sampling interval (median spacing): 0.05 s for the ring's
    colour sensor, a frame (0.1 s at 10 frames/s) for a camera."""
    times = [s.t for s in obs.samples]
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    return gaps[len(gaps) // 2] if gaps else 0.0


def assert_blink_timing(obs, pattern, spec, status: str) -> None:
    """The period within PERIOD_TOLERANCE of the row's blink class; the duty within
    DUTY_TOLERANCE, or one sample of the period where the instrument samples coarser
    (a camera at 10 frames/s sees a 0.5 s blink in 5 frames: duty in steps of 0.2)."""
    blink = spec.led.blink_of(status)
    assert blink is not None, f"profile: no blink class for the blinking row {status}"
    assert obs.period_s is not None, f"blink period not measurable: {obs}"
    assert obs.period_s == pytest.approx(blink.period_s, rel=PERIOD_TOLERANCE), obs
    duty = obs.duty_of(pattern[0])
    tolerance = max(DUTY_TOLERANCE, _sample_s(obs) / blink.period_s)
    assert duty is not None and abs(duty - blink.duty) <= tolerance + 1e-9, obs


def test_status_pattern(led_case, csms, ev, charger, clock, led, spec, request):
    """Reach the status through real stimuli; the ring shows that row's patches for
    the online/offline column: identical = steady, different = blinking between them."""
    status, online = led_case
    stimulus = STIMULI.get(status)
    assert stimulus is not None, f"no stimulus for LED row {status}: add one to stimuli.py"
    web = request.getfixturevalue("web") if offline_needs_web(spec) and not online else None
    bench = Bench(csms, ev, charger, clock, online, spec, web)
    if not online:
        bench.prepare_offline()
    stimulus(bench)
    bench.wait_connector(status)
    assert (charger.status().get("backend") == "online") == online
    pattern = spec.led.rows[status].pattern(online)
    obs = led.wait_for(status, online=online, timeout=15)
    assert obs.matches(pattern)
    if spec.led.rows[status].blinking(online):
        assert_blink_timing(obs, pattern, spec, status)


def test_powerup_yellow_until_boot_accepted(csms, charger, clock, led, spec):
    """Power-up: the ring lights constant yellow and stays so while the backend answers
    the boot Pending; once it accepts, the ring shows Available (online). A light whose
    power-up row lasts only the self-test (profile ``powerup_until: self_test``, EV
    PLUS 003 §7.1.1: white while "performing the power on tests") shows that row at
    power-on and stand-by while the boot is still Pending."""
    if spec.led.powerup is None:
        pytest.skip("this model's light has no power-up row in its profile")
    csms.respond("BootNotification", lambda p: {"status": "Pending", "interval": 10,
                                                "currentTime": csms.state.now_iso()})
    if spec.led.powerup_until == "self_test":
        charger.power(False)
        clock.sleep(OFF_S)
        charger.power(True)
        led.wait_for("Powerup", timeout=10, window=SELF_TEST_LOOK_S)
        csms.wait_for("BootNotification", timeout=60)
        led.wait_for("Available", online=False, timeout=10)  # the tests passed: stand-by
    else:
        charger.power_cycle(OFF_S)
        csms.wait_for("BootNotification", timeout=60)
        led.wait_for("Powerup", timeout=10)
        held = led.observe(6.0)  # still pending: unchanged
        assert held.matches(spec.led.powerup.pattern(False)), held
    assert charger.status().get("boot") != "Accepted"
    mark = csms.mark()
    csms.respond("BootNotification", None)
    csms.wait_for("BootNotification", since=mark, timeout=30)
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available")
    led.wait_for("Available", online=True, timeout=10)


@pytest.mark.applies(keys=("LightIntensity",))
def test_light_intensity_dims(csms, clock, led, spec):
    """LightIntensity (ChangeConfiguration): a dimmer ring keeps its colour names and
    gets darker in proportion."""
    bright = led.wait_for("Available", online=True, timeout=10)
    key = spec.key("LightIntensity")
    percent = 30
    result = csms.call(call.ChangeConfiguration(key=key.name, value=str(percent)))
    assert result.status == "Accepted"
    clock.sleep(1.0)  # the firmware applies it at its next refresh
    dim = led.wait_for("Available", online=True, timeout=10)
    ratio = dim.brightness() / bright.brightness()
    assert ratio == pytest.approx(percent / int(key.default), abs=0.08), (bright, dim)
