"""The EV PLUS twin through the virtual bench's transports (rig.assembly.Rig with the EV
PLUS rig files): the card on the service console (§9), the meter on RS-485 (§10), the
phase on the AC source (ERR MIS), the backend's Reset (§5). The rules themselves are
tests/test_twin_evplus.py. Expected values come from the profile; every wait is in
spec seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ocpp.v16 import call

from evrig.rig.assembly import Rig
from evrig.rig.config import load_rig
from evrig.rig.profile import Profile, load_profile
from evrig.sim.charger.power_management import contracted_power_limit

SPEC: Profile = load_profile("evplus")
RIGS = Path(__file__).resolve().parents[1] / "rigs"
NOMINAL_V = float(SPEC.ratings["nominal_voltage_v"].value)
RATED_A = float(SPEC.ratings["max_current_a"].value)
MIN_A = float(SPEC.ratings["min_current_a"].value)
TAG, OTHER_TAG = "TAG-ACCEPTED-01", "TAG-ACCEPTED-02"


@contextmanager
def evplus_bench(name: str) -> Iterator[Rig]:
    rig = Rig(load_rig(RIGS / name))
    try:
        rig.csms.wait_connected(60)
        assert rig.clock.wait_until(
            lambda: rig.charger is not None and rig.charger.status().get("boot") == "Accepted",
            60, poll=0.25)
        yield rig
    finally:
        rig.close()


def _status(rig: Rig) -> dict[str, str]:
    assert rig.charger is not None
    return rig.charger.status()


def _plug(rig: Rig) -> None:
    rig.ev.plug(cable_amps=32)
    rig.csms.wait_for("StatusNotification", connectorId=1, status="Preparing")


def _start(rig: Rig, tag: str = TAG) -> None:
    _plug(rig)
    assert rig.charger is not None
    rig.charger.present_tag(tag)
    rig.csms.wait_for("StartTransaction", connectorId=1, idTag=tag)
    rig.ev.set_state("C")
    rig.csms.wait_for("StatusNotification", connectorId=1, status="Charging")


def test_rfid_flow_on_the_bench() -> None:
    """§9: a card at the lit reader starts; another card does not stop; the same card
    stops; the Case B lock holds in between. A card at the dark reader is not read."""
    with evplus_bench("sim-evplus-7s.yaml") as rig:
        assert rig.charger is not None
        rig.charger.present_tag(TAG)  # nothing plugged: the reader is dark
        rig.csms.assert_none("Authorize", 3.0)
        _start(rig)
        assert _status(rig)["lock"] == "locked"
        mark = rig.csms.mark()
        rig.charger.present_tag(OTHER_TAG)
        rig.csms.assert_none("StopTransaction", 3.0)
        assert not [m for m in rig.csms.history.calls("Authorize") if m.index >= mark]
        assert _status(rig)["connector"] == "Charging"
        rig.charger.present_tag(TAG)
        stop = rig.csms.wait_for("StopTransaction")
        assert stop["reason"] == "Local" and stop["idTag"] == TAG
        assert rig.clock.wait_until(lambda: _status(rig)["lock"] == "unlocked", 5)


def test_a_paired_card_starts_without_the_backend() -> None:
    with evplus_bench("sim-evplus-7s.yaml") as rig:
        twin = rig.bench.twin
        twin.nvm.rfid_cards[0] = "PAIRED-0001"  # written in the web app (§8.1.2 step 11)
        _plug(rig)
        rig.csms.disconnect(refuse_reconnect=True)
        assert rig.clock.wait_until(lambda: _status(rig)["backend"] == "offline", 30)
        assert rig.charger is not None
        rig.charger.present_tag("NOT-PAIRED-1")
        rig.clock.sleep(2.0)
        assert twin.fw is not None and twin.fw.authorization is None
        rig.charger.present_tag("PAIRED-0001")
        assert rig.clock.wait_until(lambda: twin.fw is not None and twin.fw.tx is not None, 10)
        rig.csms.reconnect_allowed()
        start = rig.csms.wait_for("StartTransaction", timeout=60)
        assert start["idTag"] == "PAIRED-0001"


def test_power_management_with_the_sdm230() -> None:
    """§10's example on the bench: Max Current 16 A, the other loads' 2 kW → the EV is
    offered (3.68 − 2) kW; the loads grow past the 6 A minimum → SuspendedEVSE; they
    shrink → Charging again."""
    with evplus_bench("sim-evplus-7s.yaml") as rig:
        assert rig.charger is not None and rig.meter is not None
        rig.bench.twin.nvm.max_current_a = 16  # the web app's Max Current (§10 step 4)
        rig.charger.rs485_device("meter")
        ev_a = 5.0

        def loads(other_w: float) -> None:  # the meter sees the loads and the EV
            rig.meter.set_current((other_w + ev_a * NOMINAL_V) / NOMINAL_V)

        loads(2000.0)
        _start(rig)
        rig.ac_load.set_current(ev_a)
        rig.ac_load.enable(True)
        want = contracted_power_limit(16, NOMINAL_V, 1, 2000.0, 0.0)
        assert rig.clock.wait_until(
            lambda: abs(float(_status(rig)["offered"]) - want) < 0.1, 15), \
            (want, str(_status(rig)))
        assert _status(rig)["limit"] == "external_meter"
        assert abs(rig.ev.offered_current() - want) < 0.5
        mark = rig.csms.mark()
        loads(16 * NOMINAL_V - (MIN_A - 1) * NOMINAL_V)  # leaves 5 A: below the minimum
        rig.csms.wait_for("StatusNotification", since=mark, connectorId=1,
                          status="SuspendedEVSE", timeout=15)
        mark = rig.csms.mark()
        loads(1000.0)
        rig.csms.wait_for("StatusNotification", since=mark, connectorId=1,
                          status="Charging", timeout=15)


def test_a_reset_does_not_reclose_a_trip() -> None:
    """003 §5: the backend's Reset reboots the charger but the trip stays; a
    RemoteStartTransaction is refused; unplugging (the row's recovery) clears it and a
    new card charges again."""
    with evplus_bench("sim-evplus-7s.yaml") as rig:
        assert rig.charger is not None and rig.ac_load is not None
        _start(rig)
        rig.ac_load.set_current(SPEC.protections.overcurrent.hw_trip_factor * RATED_A + 1)
        rig.ac_load.enable(True)
        fault = SPEC.fault("overcurrent")
        rig.csms.wait_for("StatusNotification", connectorId=1, status="Faulted",
                          errorCode=fault.ocpp_error_code, timeout=10)
        rig.ac_load.enable(False)
        mark = rig.csms.mark()
        assert rig.csms.call(call.Reset(type="Soft")).status == "Accepted"
        rig.csms.wait_for("BootNotification", since=mark, timeout=60)
        rig.csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Faulted",
                          errorCode=fault.ocpp_error_code, timeout=30)
        result = rig.csms.call(call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
        assert result.status == "Rejected"
        mark = rig.csms.mark()
        rig.ev.unplug()
        rig.csms.wait_for("StatusNotification", since=mark, connectorId=1,
                          status="Available", errorCode="NoError", timeout=10)
        _start(rig)


def test_err_mis_on_the_22c_bench() -> None:
    with evplus_bench("sim-evplus-22c.yaml") as rig:
        assert rig.ac_source is not None
        _start(rig)
        rig.ac_source.set_voltage(0.0, phase=2)
        rig.csms.wait_for("StatusNotification", connectorId=1, status="Faulted",
                          errorCode=SPEC.fault("phase_missing").ocpp_error_code, timeout=10)
        fw = rig.bench.twin.fw
        assert fw is not None and fw.active == {"phase_missing"}
        rig.ac_source.set_voltage(NOMINAL_V, phase=2)
        rig.clock.sleep(3.0)
        assert _status(rig)["connector"] == "Faulted"  # not reclosed
