"""The LED ring shows the profile's pattern (001 Appendix I) for every connector
status, online and offline; constant yellow on power-up until the backend accepts the
boot (000 §2.5); LightIntensity dims it without changing its colours.

Expected colours and blink come from ``spec.led``; the blink rate is the profile's
``lights.ring.blink`` class of the row (a recorded choice: the manuals give none)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.led.stimuli import STIMULI, Bench

PERIOD_TOLERANCE = 0.10  # the observed blink period within 10 % of the profile's
DUTY_TOLERANCE = 0.10  # absolute, on a 0..1 duty


def assert_blink_timing(obs, pattern, spec, status: str) -> None:
    blink = spec.led.blink_of(status)
    assert blink is not None, f"profile: no blink class for the blinking row {status}"
    assert obs.period_s is not None, f"blink period not measurable: {obs}"
    assert obs.period_s == pytest.approx(blink.period_s, rel=PERIOD_TOLERANCE), obs
    duty = obs.duty_of(pattern[0])
    assert duty is not None and abs(duty - blink.duty) <= DUTY_TOLERANCE, obs


def test_status_pattern(led_case, csms, ev, charger, clock, led, spec, request):
    """Reach the status through real stimuli; the ring shows that row's patches for
    the online/offline column: identical = steady, different = blinking between them."""
    status, online = led_case
    stimulus = STIMULI.get(status)
    assert stimulus is not None, f"no stimulus for LED row {status}: add one to stimuli.py"
    web = request.getfixturevalue("web") if spec.offline_mode and not online else None
    bench = Bench(csms, ev, charger, clock, online, spec, web)
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
    the boot Pending; once it accepts, the ring shows Available (online)."""
    if spec.led.powerup is None:
        pytest.skip("this model's light has no power-up row in its profile")
    csms.respond("BootNotification", lambda p: {"status": "Pending", "interval": 10,
                                                "currentTime": csms.state.now_iso()})
    charger.power_cycle()
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
