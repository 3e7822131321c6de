"""External MID meter on RS-485 (001 RS-485 peripherals, 004 §3.6; 001 VendorID2
0x400000 EVSE_FAULT_MISSING_EXT_EMETER).

With a MID meter configured the charger takes voltage, current, power and the energy
register from it and reports them in MeterValues (measurands of spec.meter_measurands).
A meter that stops answering is RTM 0x400000 with the profile's errorCode and recovery;
garbage, exception and late answers on the bus are survived.
"""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.rig.errors import MissingWire
from evrig.testcases.ocpp.steps import start_charging
from evrig.testcases.protection.checks import bits

# A MID meter testcase needs a MID meter on RS-485 (004 §3.6: Eastron SDM230/SDM630); on
# a bench with a CT clamp it does not apply (deselected: fixtures/applicability.py), nor
# on a charger whose RS-485 meter measures the installation for power management (EV
# PLUS 003 §10: testcases/evplus/test_power_management.py).
pytestmark = pytest.mark.applies(meter=("sdm230", "sdm630"), meter_use="metering")

MID_VALUES = ("voltage_l1", "current_l1", "power_l1", "import_kwh")
# Our stimulus: readings no internal meter of the bench would produce.
READINGS = {"voltage_l1": 231.7, "current_l1": 9.3, "power_l1": 2140.0, "import_kwh": 1234.5}
# Spec seconds for the charger to take a new reading: poll period 1 s + one poll cycle
# (four requests, each answered at once) + a firmware tick, doubled (profile rs485).
READ_S = 4.0
# Spec seconds from the meter going silent to 0x400000: spec.rs485.missing_after (3)
# failed cycles, each poll period (1 s) + response timeout (1 s) + the quiet time after it
# (1 s) = 9 s; allowed 20 s.
MISSING_S = 20.0
# Spec seconds from the meter answering again to the cleared code: the request in
# flight when it comes back may still time out (response timeout 1 s + quiet time 1 s),
# then the poll period (1 s), one good cycle (four requests) and a firmware tick:
# about 3.5 s, doubled (profile rs485).
RECOVER_S = 7.0
SAMPLE_S = 5  # MeterValueSampleInterval for the test (default 60 s)


def _polls(charger) -> int:
    return int(charger.status()["rs485_polls"])


def _wait_polled(clock, charger, cycles: int = 2) -> None:
    """``cycles`` more poll cycles of the charger (so the last stimulus is read)."""
    start = _polls(charger)
    assert clock.wait_until(lambda: _polls(charger) >= start + cycles, READ_S * cycles,
                            poll=0.1), f"charger polls stuck at {start}"


@pytest.fixture
def mid_meter(meter, charger, clock):
    """The fake meter as the charger's MID meter (console ``rs485 meter``); skips on a
    rig whose meter map lacks the MID registers (a CT clamp map)."""
    missing = [n for n in MID_VALUES if n not in meter.map.registers]
    if missing:
        raise MissingWire(f"the rig's meter ({meter.model} map) has no {', '.join(missing)}: "
                          "a MID meter testcase needs instruments.meter.model sdm230/sdm630")
    charger.rs485_device("meter")
    try:
        yield meter
    finally:
        charger.rs485_device("none")


def _sampled(message) -> dict[tuple[str, str | None], float]:
    (meter_value,) = message["meterValue"]
    return {(sv.get("measurand", "Energy.Active.Import.Register"), sv.get("phase")):
            float(sv["value"]) for sv in meter_value["sampledValue"]}


def _expected(spec) -> dict[tuple[str, str | None], float]:
    """What MeterValues must carry, from the stimulus, for the profile's measurands the
    meter provides (L1 / L1-N)."""
    by_measurand = {
        "Voltage": READINGS["voltage_l1"],
        "Current.Import": READINGS["current_l1"],
        "Power.Active.Import": READINGS["power_l1"],
        "Energy.Active.Import.Register": READINGS["import_kwh"] * 1000.0,
    }
    out = {}
    for m in spec.meter_measurands:
        if m.measurand in by_measurand and m.phase in ("L1", "L1-N"):
            unit_factor = {"kWh": 0.001, "kW": 0.001}.get(m.unit, 1.0)
            out[(m.measurand, m.phase)] = by_measurand[m.measurand] * unit_factor
    return out


def _trigger_meter_values(csms):
    mark = csms.mark()
    result = csms.call(call.TriggerMessage(requested_message="MeterValues", connector_id=1))
    assert result.status == "Accepted", result
    return csms.wait_for("MeterValues", since=mark, timeout=READ_S)


def test_meter_readings_in_meter_values(csms, ev, charger, clock, spec, mid_meter):
    """MID meter values → MeterValues during a session: Voltage.L1-N, Current.Import.L1,
    Power.Active.Import.L1, Energy.Active.Import.Register (kWh register × 1000 in Wh),
    as the profile's measurand table names them."""
    expected = _expected(spec)
    assert expected, "the profile lists no measurand a MID meter provides"
    mid_meter.set_values(**READINGS)
    _wait_polled(clock, charger)
    result = csms.call(call.ChangeConfiguration(key="MeterValueSampleInterval",
                                                value=str(SAMPLE_S)))
    assert result.status == "Accepted"
    start_charging(csms, ev, charger)
    message = csms.wait_for("MeterValues", timeout=SAMPLE_S * 3)
    values = _sampled(message)
    for key, value in expected.items():
        assert key in values, f"{key} missing in {message.brief()}"
        assert values[key] == pytest.approx(value, abs=0.051), key
    assert charger.rtm_code() == 0


def test_silent_meter_is_missing_and_recovers(csms, charger, clock, spec, mid_meter):
    """Meter silent → RTM 0x400000 within MISSING_S, SN Faulted with the profile's
    errorCode and the code in vendorErrorCode; answering again → cleared when the
    profile's recovery is auto."""
    fault = spec.rtm("EVSE_FAULT_MISSING_EXT_EMETER")
    _wait_polled(clock, charger)
    assert charger.rtm_code() & fault.code == 0
    mark = csms.mark()
    mid_meter.silence(True)
    sn = csms.wait_for("StatusNotification", since=mark, timeout=MISSING_S, connectorId=1,
                       status="Faulted")
    assert sn["errorCode"] == fault.ocpp_error_code
    assert sn.get("vendorId") == spec.ocpp.vendor_ids["rtm"]
    mask = bits(spec, fault.code)
    assert int(sn["vendorErrorCode"], 16) & mask == mask, sn["vendorErrorCode"]
    assert charger.rtm_code() & mask == mask
    assert int(charger.status()["rs485_timeouts"]) >= spec.rs485.missing_after

    mark = csms.mark()
    heard = len(mid_meter.polls)
    mid_meter.silence(False)
    if "auto" in fault.recovery:
        try:
            csms.wait_for("StatusNotification", since=mark, timeout=RECOVER_S, connectorId=1,
                          status="Available", errorCode="NoError")
        except AssertionError as exc:  # say where the poller was (a rare failure under load)
            polls = mid_meter.polls[heard:]
            raise AssertionError(
                f"{exc}\nafter silence(False): meter heard {len(polls)} polls "
                f"({sum(not p.silent for p in polls)} answered), last at "
                f"{polls[-1].timestamp if polls else None}, now {clock.now():.3f}; "
                f"bench clock: lagging barriers {getattr(clock, 'lagging', None)}, hold "
                f"lapses {getattr(clock, 'hold_lapses', None)}; "
                f"charger: {charger.status()}") from None
        assert charger.rtm_code() & fault.code == 0
    else:
        csms.assert_none("StatusNotification", RECOVER_S, connectorId=1, errorCode="NoError")


@pytest.mark.parametrize("misbehaviour", ["garbage", "exception", "late"])
def test_bad_answers_are_survived(csms, charger, clock, spec, mid_meter, misbehaviour):
    """Bad CRC frames, Modbus exception answers and answers later than the charger waits,
    until the charger has met one (about a poll cycle): counted, no 0x400000 (fewer than
    missing_after failed cycles),
    and the next good answers are read (a triggered MeterValues shows the new value)."""
    fault = spec.rtm("EVSE_FAULT_MISSING_EXT_EMETER")
    _wait_polled(clock, charger)
    errors = int(charger.status()["rs485_errors"])
    if misbehaviour == "garbage":
        mid_meter.corrupt_crc(True)
    elif misbehaviour == "exception":
        mid_meter.exception(4)  # SLAVE_DEVICE_FAILURE
    else:
        mid_meter.delay(spec.rs485.response_timeout_s * 3)
    # Misbehave until the charger has met it: the cycle under way when the meter turned
    # may still get good answers, so one more cycle *starting* is not enough.
    assert clock.wait_until(lambda: int(charger.status()["rs485_errors"]) > errors,
                            READ_S * 2, poll=0.1), \
        f"the charger never counted the {misbehaviour} answer: {charger.status()}"
    mid_meter.safe_state()
    mid_meter.set_values(voltage_l1=READINGS["voltage_l1"])
    # Three cycles started = two whole cycles read after the meter behaves again; the
    # first of them may still meet an answer sent late before it (misbehaviour "late").
    _wait_polled(clock, charger, cycles=3)
    status = charger.status()
    assert int(status["rs485_errors"]) > errors, status
    assert charger.rtm_code() & fault.code == 0, str(status)
    assert status["connector"] == "Available", status
    values = _sampled(_trigger_meter_values(csms))
    assert values[("Voltage", "L1-N")] == pytest.approx(READINGS["voltage_l1"], abs=0.051)
