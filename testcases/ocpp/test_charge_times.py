"""Charge-off periods and the randomized delayed start (profile ``charge_times``;
001 App. II c_ChargeOffPeriod1/2, c_MaxStartDelay; 004 §4.2): the charger's clock is
the backend's currentTime; offline, on a week day inside an enabled period it does not
charge, outside one (or on a weekend) it does; a session started offline waits a
random 0..c_MaxStartDelay s before it draws."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import configure

SETTLE_S = 10.0  # spec seconds for the charger to react
# Only where the profile has charge-off periods for offline charging (EV NET COMPACT).
pytestmark = pytest.mark.applies(tables=("charge_times", "offline_mode"))


@pytest.fixture
def rules(spec):
    if spec.charge_times is None or spec.offline_mode is None:
        pytest.skip(f"{spec.model} has no charge-off periods for offline charging")
    return spec.charge_times


def _period(spec, key: str) -> tuple[int, int]:
    """(start, end) minutes of the day of the period's factory value."""
    _, start, end = spec.key(key).default.split(",")
    minutes = [int(t.split(":")[0]) * 60 + int(t.split(":")[1]) for t in (start, end)]
    return minutes[0], minutes[1]


def _day(weekday: int, minute: int) -> datetime:
    """A date in the coming weeks that falls on ``weekday``, at ``minute`` past 00:00."""
    base = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday
    return base + timedelta(days=weekday, minutes=minute)


def _set_clock(csms, clock, at: datetime) -> None:
    """The charger takes its time from Heartbeat.conf currentTime (OCPP 1.6 §4.6): the
    backend's clock is set to ``at`` and runs on from there (every later Heartbeat
    answers with it; the keeper restores the default answers after the test)."""
    t0 = clock.now()

    def heartbeat(_request: dict) -> dict:
        now = at + timedelta(seconds=clock.now() - t0)
        return {"currentTime": now.isoformat().replace("+00:00", "Z")}

    csms.respond("Heartbeat", heartbeat)
    # A BootNotification.conf sets the clock too: a boot during the test keeps it.
    csms.respond("BootNotification", lambda req: {
        **heartbeat(req), "status": "Accepted", "interval": csms.state.heartbeat_interval})
    # A Heartbeat or boot answered with the default time just before (the charger's
    # own, or one the keeper triggered, at the start of a session) may land after
    # ours: set the clock until the charger's next message shows it (bounded).
    for _ in range(3):
        mark = csms.mark()
        result = csms.call(call.TriggerMessage(requested_message="Heartbeat"))
        assert result.status == "Accepted"
        csms.wait_for("Heartbeat", since=mark, timeout=SETTLE_S)
        seen = _clock_of(csms)
        if timedelta(0) <= seen - at < timedelta(seconds=30):
            return
        clock.sleep(2.0)
    raise AssertionError(f"the charger's clock did not follow currentTime {at}: {seen}\n"
                         f"{csms.history.dump(40)}")


def _clock_of(csms) -> datetime:
    mark = csms.mark()
    assert csms.call(call.TriggerMessage(requested_message="StatusNotification",
                                         connector_id=1)).status == "Accepted"
    sn = csms.wait_for("StatusNotification", since=mark, connectorId=1, timeout=SETTLE_S)
    return datetime.fromisoformat(sn["timestamp"].replace("Z", "+00:00"))


def _offline_plug_in(csms, ev, charger, clock, spec) -> None:
    csms.disconnect(refuse_reconnect=True)
    csms.wait_disconnected(10)
    assert clock.wait_until(lambda: charger.status()["backend"] == "offline", 10)
    clock.sleep(spec.offline_mode.after_s)
    ev.plug(cable_amps=32)
    ev.set_state("C")


def test_the_clock_is_the_backends(csms, clock, spec, rules):
    at = _day(rules.weekdays[0], 9 * 60)
    _set_clock(csms, clock, at)
    seen = _clock_of(csms)
    assert timedelta(0) <= seen - at < timedelta(seconds=30), (seen, csms.history.dump(40))


@pytest.mark.parametrize(("when", "charges"), [
    ("week day, inside the first period", False),
    ("week day, inside the last period", False),
    ("week day, outside both periods", True),
    ("weekend, inside the first period's hours", True),
])
def test_charge_off_periods_offline(csms, ev, charger, clock, spec, rules, when, charges):
    # Each period is a no-charge window of its own (004 §4.2: Charge Off Period 1 and 2).
    start, end = _period(spec, rules.period_keys[-1 if "last" in when else 0])
    inside, outside = (start + end) // 2, max(_period(spec, k)[1] for k in rules.period_keys)
    weekend = next(d for d in range(7) if d not in rules.weekdays)
    minute = outside if "outside" in when else inside
    day = weekend if when.startswith("weekend") else rules.weekdays[0]
    configure(csms, **{rules.max_delay_key: 0})  # no random wait in this test
    _set_clock(csms, clock, _day(day, minute))
    _offline_plug_in(csms, ev, charger, clock, spec)
    expected = "Charging" if charges else "SuspendedEVSE"
    assert clock.wait_until(lambda: charger.status()["connector"] == expected, SETTLE_S,
                            poll=0.25), charger.status()
    assert (ev.read_cp().freq_hz > 0) == charges


def test_a_start_offline_waits_a_random_delay(csms, ev, charger, clock, spec, rules):
    delay_max = 20  # spec seconds: short enough for a test, the factory value is 600
    configure(csms, **{rules.max_delay_key: delay_max})
    _set_clock(csms, clock, _day(rules.weekdays[0], max(_period(spec, k)[1]
                                                for k in rules.period_keys)))
    _offline_plug_in(csms, ev, charger, clock, spec)
    plugged = clock.now()
    clock.sleep(1.0)  # the session has started; the draw waits for the delay
    first = charger.status()["connector"]
    # The EVSE waits (or the delay was short and the contactor is closing or closed).
    assert first in ("SuspendedEVSE", "SuspendedEV", "Charging"), first
    assert clock.wait_until(lambda: charger.status()["connector"] == "Charging",
                            delay_max + SETTLE_S, poll=0.25), charger.status()
    waited = clock.now() - plugged
    assert waited <= delay_max + SETTLE_S
