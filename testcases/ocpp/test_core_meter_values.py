"""OCTT module 09: meter values (Core)."""

from __future__ import annotations

from datetime import datetime

import pytest

from evrig.testcases.ocpp.steps import (
    configure,
    read_config,
    remote_charging,
    remote_stop,
)

SAMPLES = 3  # the OCTT wants at least three MeterValues.req
SAMPLE_INTERVAL_S = 10  # the test's own MeterValueSampleInterval (PNA 15, EVR 2)
ALIGNED_INTERVAL_S = 15  # the test's own ClockAlignedDataInterval (PNA 15)


def _expected(spec) -> set[tuple[str, str | None, str]]:
    """(measurand, phase, unit) of every entry of the profile's measurand table."""
    return {(m.measurand, m.phase, m.unit) for m in spec.meter_measurands}


def _csl_from_spec(spec) -> str:
    """The profile's measurand table written as a configuration value (measurand.phase)."""
    return ",".join(f"{m.measurand}.{m.phase}" if m.phase else m.measurand
                    for m in spec.meter_measurands)




def _check_values(message, tx_id: int, context: str, expected: set) -> datetime:
    """One MeterValues.req: connector 1, the transaction, one meterValue whose sampled
    values carry exactly the expected measurands, all with ``context``."""
    assert message["connectorId"] == 1
    assert message.get("transactionId") == tx_id, message.brief()
    (meter_value,) = message["meterValue"]
    got = {(sv.get("measurand", "Energy.Active.Import.Register"), sv.get("phase"),
            sv.get("unit", "Wh")) for sv in meter_value["sampledValue"]}
    assert got == expected, message.brief()
    contexts = {sv.get("context", "Sample.Periodic") for sv in meter_value["sampledValue"]}
    assert contexts == {context}, message.brief()
    for sv in meter_value["sampledValue"]:
        float(sv["value"])  # Raw values are numbers
    return datetime.fromisoformat(meter_value["timestamp"].replace("Z", "+00:00"))


@pytest.mark.octt("TC_070_CS")
def test_sampled_meter_values(csms, ev, spec):
    """MeterValueSampleInterval set by the test, ClockAlignedDataInterval=0;
    MeterValuesSampledData is read and must be the profile's default (the manual's
    list). Remote-started charging → at least three MeterValues.req at the interval
    (±1 s) with the transactionId, carrying exactly the configured measurands
    (spec.meter_measurands: measurand, phase, unit), context Sample.Periodic, and no
    clock-aligned values → RemoteStop → StopTransaction Remote + SN Finishing."""
    configure(csms, MeterValueSampleInterval=SAMPLE_INTERVAL_S, ClockAlignedDataInterval=0)
    sampled = read_config(csms, "MeterValuesSampledData")
    assert sampled == spec.key("MeterValuesSampledData").default
    tx_id = remote_charging(csms, ev)
    csms.forbid("MeterValues", meterValue=[{"sampledValue": [{"context": "Sample.Clock"}]}])
    messages = [csms.wait_for("MeterValues", timeout=SAMPLE_INTERVAL_S + 5,
                              transactionId=tx_id) for _ in range(SAMPLES)]
    stamps = [_check_values(m, tx_id, "Sample.Periodic", _expected(spec)) for m in messages]
    for earlier, later in zip(messages, messages[1:], strict=False):
        assert later.timestamp - earlier.timestamp == pytest.approx(SAMPLE_INTERVAL_S, abs=1)
    for earlier, later in zip(stamps, stamps[1:], strict=False):
        assert (later - earlier).total_seconds() == pytest.approx(SAMPLE_INTERVAL_S, abs=1)
    remote_stop(csms, tx_id)


@pytest.mark.octt("TC_071_CS")
def test_clock_aligned_meter_values(csms, ev, spec):
    """MeterValueSampleInterval=0, ClockAlignedDataInterval set by the test,
    MeterValuesAlignedData set by the test to the profile's measurand table (its default
    is empty). Charging → at least three MeterValues.req, context Sample.Clock, carrying
    exactly those measurands, timestamps exactly on the interval's clock boundaries
    (seconds of the day a multiple of the interval: OCPP 1.6 §9.1.7 identifies an
    aligned interval by its clock time) and one interval apart; no sampled values →
    RemoteStop → StopTransaction Remote."""
    configure(csms, MeterValueSampleInterval=0, ClockAlignedDataInterval=ALIGNED_INTERVAL_S,
              MeterValuesAlignedData=_csl_from_spec(spec))
    tx_id = remote_charging(csms, ev)
    csms.forbid("MeterValues",
                meterValue=[{"sampledValue": [{"context": "Sample.Periodic"}]}])
    messages = [csms.wait_for("MeterValues", timeout=ALIGNED_INTERVAL_S + 5,
                              transactionId=tx_id) for _ in range(SAMPLES)]
    stamps = [_check_values(m, tx_id, "Sample.Clock", _expected(spec)) for m in messages]
    for stamp in stamps:
        midnight = stamp.replace(hour=0, minute=0, second=0, microsecond=0)
        seconds = (stamp - midnight).total_seconds()
        assert seconds % ALIGNED_INTERVAL_S == 0, stamp.isoformat()
    for earlier, later in zip(stamps, stamps[1:], strict=False):
        assert (later - earlier).total_seconds() == ALIGNED_INTERVAL_S
    remote_stop(csms, tx_id)
