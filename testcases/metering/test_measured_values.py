"""The charger's own measurements reach the backend and its pages as measured: the
temperature sensors and the N–PE voltage (001 Appendix II MeterValuesSampledData
Temperature and Voltage.N; 000 §2.5.1 Power Meter Measurements Voltage(N),
Temperature(Package)/(Relay))."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

READ_S = 10.0  # spec seconds for a triggered MeterValues to arrive
# The values are read by TriggerMessage and on the web client's Power Meter Measurements
# (EV NET); a charger without them (EV PLUS: no TriggerMessage, 003 §8.1.4, and a web
# app without those fields, §8.1.2) is deselected.
pytestmark = pytest.mark.applies(operations=("TriggerMessage",), web=("measurements",))


def _sampled(csms) -> dict[str, float]:
    mark = csms.mark()
    result = csms.call(call.TriggerMessage(requested_message="MeterValues", connector_id=1))
    assert result.status == "Accepted", result
    frame = csms.wait_for("MeterValues", since=mark, timeout=READ_S)
    return {f"{v['measurand']}.{v['phase']}" if v.get("phase") else v["measurand"]:
            float(v["value"]) for mv in frame["meterValue"] for v in mv["sampledValue"]}


@pytest.fixture
def quiet_levels(spec) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two temperatures below the first derating row and two N–PE voltages below the
    neutral fault threshold: measured values that change nothing else."""
    first_row = spec.temperature_derating.rows[0].max_temp_c
    n_pe_max = spec.protections.neutral.n_pe_max_v
    return (first_row - 20, first_row - 8), (n_pe_max * 0.1, n_pe_max * 0.5)


def test_temperature_and_neutral_voltage_are_measured(csms, charger, faults, web, spec,
                                                      quiet_levels):
    wanted = set(spec.key("MeterValuesSampledData").default.split(","))
    assert {"Temperature", "Voltage.N"} <= wanted
    temperatures, neutral_volts = quiet_levels
    try:
        for temp_c, n_pe_v in zip(temperatures, neutral_volts, strict=True):
            charger.set_temperature(temp_c)
            faults.neutral_voltage(n_pe_v)
            values = _sampled(csms)
            assert values["Temperature"] == pytest.approx(temp_c, abs=0.5)
            assert values["Voltage.N"] == pytest.approx(n_pe_v, abs=0.5)
            page = web.measurements()
            assert page["neutral_v"] == pytest.approx(n_pe_v, abs=0.5)
            assert page["temperature_c"] == pytest.approx(temp_c, abs=1)
    finally:
        charger.set_temperature(None)
        faults.neutral_voltage(0)
