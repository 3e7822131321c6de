"""The bench keeper: whatever a testcase leaves behind through public interfaces, the
next testcase starts from an idle charger — and what the keeper cannot undo is an
error of the testcase that left it (its teardown), never of the ones after it.

Each case runs a small inner pytest session on the virtual bench in a subprocess (as
a user's repository would run), and reads the outcome of every phase from its JUnit
XML: a teardown error is ``failed on teardown``, a setup error ``failed on setup``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from evrig.rig.typed_yaml import load_yaml

ROOT = Path(__file__).resolve().parent.parent

HEADER = '''
from datetime import timedelta

from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, read_config, start_charging

KEY, LEFT_VALUE = "MeterValueSampleInterval", "17"
LEFT_LIMIT = 7.0  # A: the TxDefaultProfile a test leaves installed


def reserve(csms, rid):
    expiry = csms.state.utcnow() + timedelta(hours=1)  # as a failed reservation test leaves it
    result = csms.call(call.ReserveNow(
        connector_id=1, expiry_date=expiry.isoformat().replace("+00:00", "Z"),
        id_tag=ACCEPTED_TAG, reservation_id=rid))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")


def assert_idle(csms, charger):
    assert csms.connected
    assert charger.status()["connector"] == "Available", charger.status()
'''

LEAVES_EVERYTHING = HEADER + '''

def test_leaves_everything(csms, spec):
    assert spec.key(KEY).default != LEFT_VALUE
    for key, value in (("LocalAuthListEnabled", "true"), (KEY, LEFT_VALUE)):
        assert csms.call(call.ChangeConfiguration(key=key, value=value)).status == "Accepted"
    assert csms.call(call.SendLocalList(
        list_version=5, update_type="Full", local_authorization_list=[
            {"idTag": "TAG-LEFT-OVER", "idTagInfo": {"status": "Accepted"}}])).status \\
        == "Accepted"
    profile = {"chargingProfileId": 901, "stackLevel": 0,
               "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                   {"startPeriod": 0, "limit": LEFT_LIMIT}]}}
    assert csms.call(call.SetChargingProfile(
        connector_id=1, cs_charging_profiles=profile)).status == "Accepted"
    reserve(csms, 4711)
    assert csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative")).status \\
        == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable")
    csms.disconnect()  # and refuse reconnecting: the backend is offline
    csms.wait_disconnected()


def test_leaves_a_transaction_and_a_scripted_backend(csms, ev, charger):
    start_charging(csms, ev, charger)
    csms.respond("Authorize", {"idTagInfo": {"status": "Blocked"}})
    csms.respond("BootNotification", {"status": "Rejected", "currentTime": "2020-01-01T00:00:00Z",
                                      "interval": 300})


def test_leaves_a_fault_relay_closed_and_mains_off(faults, charger, csms):
    faults.pe_open(True)
    charger.power(False)
    csms.wait_disconnected(60)


def test_leaves_the_boot_rejected_for_an_hour(csms, charger, clock):
    csms.respond("BootNotification", {"status": "Rejected", "currentTime": "2020-01-01T00:00:00Z",
                                      "interval": 3600})
    charger.power_cycle()
    csms.wait_for("BootNotification", timeout=60)
    assert clock.wait_until(lambda: charger.status().get("boot") == "Rejected", 10)


def test_starts_idle(csms, charger, ev, spec):
    assert_idle(csms, charger)
    assert read_config(csms, KEY) == spec.key(KEY).default
    assert read_config(csms, "LocalAuthListEnabled") == spec.key("LocalAuthListEnabled").default
    schedule = csms.call(call.GetCompositeSchedule(connector_id=1, duration=600,
                                                   charging_rate_unit="A"))
    periods = (schedule.charging_schedule or {}).get("charging_schedule_period") or []
    assert LEFT_LIMIT not in [float(p["limit"]) for p in periods], periods
    assert csms.call(call.ChangeConfiguration(key="LocalAuthListEnabled", value="true")).status \\
        == "Accepted"
    assert csms.call(call.GetLocalListVersion()).list_version == 0
    start_charging(csms, ev, charger)  # default answers: the card is accepted again
'''

LEAVES_AN_UNKNOWN_RESERVATION = HEADER + '''

def test_leaves_a_reservation_nobody_knows(csms):
    reserve(csms, 4712)
    csms.reset()  # the history with the ReserveNow is gone: the id is unknown


def test_next(csms, charger):
    assert_idle(csms, charger)


def test_after_next(csms, charger):
    assert_idle(csms, charger)
'''


def _run(tmp_path: Path, source: str, rig: Path) -> dict[str, list[tuple[str, str]]]:
    """Run ``source`` as an inner pytest session; per test: its JUnit results as
    (tag, message), e.g. [] passed, [("error", 'failed on teardown with ...')]."""
    (tmp_path / "test_inner.py").write_text(source)
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_inner.py", "-q", "-p", "no:xdist",
         "-p", "no:cacheprovider", "--rig", str(rig), "--rootdir", str(tmp_path),
         f"--junitxml={junit}", "-o", "junit_family=xunit2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert junit.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    results: dict[str, list[tuple[str, str]]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        results[case.get("name", "")] = [
            (child.tag, child.get("message", "")) for child in case
            if child.tag in ("failure", "error", "skipped")]
    return results


def _sim_rig(tmp_path: Path, *, mains_switch: bool = True) -> Path:
    """rigs/sim.yaml; without ``mains_switch`` neither the AC source nor the fault
    board's mains relay: a bench that cannot power-cycle the charger."""
    source = ROOT / "rigs" / "sim.yaml"
    if mains_switch:
        return source
    rig = load_yaml(source)
    instruments = rig["instruments"]
    instruments.pop("ac_source", None)
    instruments.get("faults", {}).get("pins", {}).pop("mains_off", None)
    path = tmp_path / "no-mains.yaml"
    path.write_text(yaml.safe_dump(rig))
    return path


def test_next_testcase_passes_whatever_the_last_one_left(tmp_path):
    """A reservation (one hour), an Inoperative connector, a TxDefaultProfile, changed
    keys, a local list and the backend offline; then an open transaction with a
    scripted backend; then a fault relay closed and the mains off; then a boot the
    backend rejected for an hour — each test ends cleanly, and the last one finds the
    charger idle with the baseline restored."""
    results = _run(tmp_path, LEAVES_EVERYTHING, _sim_rig(tmp_path))
    assert results == {
        "test_leaves_everything": [],
        "test_leaves_a_transaction_and_a_scripted_backend": [],
        "test_leaves_a_fault_relay_closed_and_mains_off": [],
        "test_leaves_the_boot_rejected_for_an_hour": [],
        "test_starts_idle": [],
    }, results


def test_what_the_keeper_cannot_undo_fails_the_test_that_left_it(tmp_path):
    """A reservation whose id the keeper cannot know: the leaving test errors in its
    teardown saying what is stuck and that the charger was power-cycled; the tests
    after it pass."""
    results = _run(tmp_path, LEAVES_AN_UNKNOWN_RESERVATION, _sim_rig(tmp_path))
    (tag, message), = results["test_leaves_a_reservation_nobody_knows"]
    assert tag == "error" and message.startswith("failed on teardown"), message
    assert "connector Reserved" in message, message
    assert "reservation id unknown" in message, message
    assert "power-cycled as the last resort: now idle" in message, message
    assert results["test_next"] == [], results
    assert results["test_after_next"] == [], results


def test_a_bench_stuck_for_good_skips_the_next_tests_naming_the_culprit(tmp_path):
    """Without a mains switch the last resort is not there: the leaving test errors in
    its teardown; the next ones do not error in setup — they skip, naming it."""
    results = _run(tmp_path, LEAVES_AN_UNKNOWN_RESERVATION,
                   _sim_rig(tmp_path, mains_switch=False))
    (tag, message), = results["test_leaves_a_reservation_nobody_knows"]
    assert tag == "error" and message.startswith("failed on teardown"), message
    assert "connector Reserved" in message and "no power cycle possible" in message, message
    for name in ("test_next", "test_after_next"):
        (tag, message), = results[name]
        assert tag == "skipped", results[name]
        assert "test_inner.py::test_leaves_a_reservation_nobody_knows" in message, message
        assert "connector Reserved" in message, message
