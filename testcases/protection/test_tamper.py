"""The terminal-panel (service cover) tamper sensor (004 §4.5): "This 'soft' fault does
not preclude the charger from operating and may be cleared via the web client or a
power cycle ... Further tamper events will be reported to the OCPP backend at every
occurrence." Code, errorCode, stops_charging and recovery from the profile."""

from __future__ import annotations

import pytest

from evrig.testcases.protection.checks import (
    REACT_S,
    Bench,
    charge,
    expect_drawing,
    limit_offer,
    offered_a,
)

OPENINGS = 3  # enough to tell "every occurrence" from "the first" (our choice)


@pytest.fixture
def bench(csms, ev, charger, clock, spec, ac_source, ac_load, faults) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 ac_source=ac_source, ac_load=ac_load, faults=faults)


@pytest.mark.applies(conditions=("tamper_panel",))
def test_every_service_cover_opening_is_reported(bench: Bench):
    """Charging; the service cover opened and closed OPENINGS times: each opening is
    one more StatusNotification with the profile's errorCode and the code in
    vendorErrorCode, although the bit is still set from the first; a soft fault
    (stops_charging false) never stops the session; Clear Faults then clears it."""
    b = bench
    entry = next(e for e in b.spec.rtm_codes.values() if e.condition == "tamper_panel")
    soft = not b.spec.fault("tamper_panel").stops_charging
    draw = offered_a(b.spec)
    limit_offer(b, draw)
    charge(b, draw)
    reports = []
    for opening in range(1, OPENINGS + 1):
        mark = b.csms.mark()
        b.faults.service_cover(True)
        sn = b.csms.wait_for("StatusNotification", since=mark, timeout=REACT_S, connectorId=1,
                             errorCode=entry.ocpp_error_code)
        assert int(sn["vendorErrorCode"], 16) & entry.code == entry.code, sn.payload
        reports.append(sn.payload)
        b.faults.service_cover(False)
        assert b.clock.wait_until(lambda: b.charger.rtm_code() & entry.code, REACT_S), \
            f"opening {opening}: {entry.hex} not in the RTM register"
        if soft:
            assert sn["status"] != "Faulted", f"{entry.hex} is soft (004 §4.5): {sn.payload}"
            expect_drawing(b, draw)
    assert len(reports) == OPENINGS
    if "web_clear" in entry.recovery:
        mark = b.csms.mark()
        b.charger.clear_faults()
        assert b.clock.wait_until(lambda: b.charger.rtm_code() & entry.code == 0, REACT_S)
        b.csms.wait_for("StatusNotification", since=mark, timeout=REACT_S, connectorId=1,
                        errorCode="NoError")
