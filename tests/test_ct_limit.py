"""The charger twin's RS-485 master: ExtTransformerCurrentLimit arithmetic, the
missing-meter rule (0x400000), and the master against the real meter emulator on a
pty pair (timeouts, bad CRC, exception answers counted, never fatal)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import pytest

from evrig.drivers.meter.emulator import MeterEmulator
from evrig.rig.clock import Clock
from evrig.rig.profile import load_profile
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.board import BareBoard
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.firmware import Firmware, Nvm
from evrig.sim.charger.modbus_master import (
    MeterData,
    MissingDevice,
    ModbusMaster,
    ext_transformer_limit,
    pdu_address,
)
from evrig.sim.charger.smart_charging import SmartCharging
from evrig.sim.electrical import Circuit
from evrig.sim.pty_pair import PtyPair

PROFILE = load_profile("evnet-7kw")
SETTINGS = PROFILE.rs485
MISSING = PROFILE.rtm("EVSE_FAULT_MISSING_EXT_EMETER")
SPEED = 20.0  # only where no meter answers (nothing to wait for but the timeouts)
# The master against the meter emulator over a pty: the wall clock, as on a real rig.
# At speed 20 the 1 s response timeout was 50 ms of wall time, which a loaded host's
# emulator thread missed now and then (a "timeout" that was the test's, not the meter's).
WIRE_SPEED = 1.0


# -- arithmetic ------------------------------------------------------------------------
@pytest.mark.parametrize(("fuse", "house", "own", "limit"), [
    (40.0, [20.0], [0.0], 20.0),  # nothing charging: what the house leaves
    (40.0, [30.0], [10.0], 20.0),  # the clamp sees the EV too: added back
    (40.0, [45.0], [0.0], 0.0),  # the house alone above the fuse: never negative
    (60.0, [0.0], [0.0], 60.0),
    (40.0, [10.0, 25.0, 5.0], [0.0, 0.0, 0.0], 15.0),  # the worst phase wins
    (40.0, [10.0, 25.0, 5.0], [8.0, 8.0, 8.0], 23.0),
    (40.0, [5.0], [8.0], 40.0),  # own > measured (skew between readings): house 0
])
def test_ext_transformer_limit(fuse, house, own, limit):
    assert ext_transformer_limit(fuse, house, own) == pytest.approx(limit)


def test_no_household_reading_no_limit():
    assert ext_transformer_limit(40.0, [], []) is None


def test_pdu_address_is_register_minus_30001():
    assert pdu_address(30001) == 0 and pdu_address(30007) == 6 and pdu_address(30073) == 72
    with pytest.raises(ValueError):
        pdu_address(40001)


def test_profile_registers_match_the_manual_table():
    regs = SETTINGS.meter_registers
    assert (regs["voltage_l1"], regs["current_l1"], regs["power_l1"]) == (30001, 30007, 30013)
    assert (regs["import_kwh"], regs["export_kwh"]) == (30073, 30075)
    assert (SETTINGS.baud, SETTINGS.parity, SETTINGS.stopbits, SETTINGS.device_id) == (
        9600, "N", 1, 1)


# -- missing meter ---------------------------------------------------------------------
def test_missing_after_n_failed_cycles_and_back_at_the_first_answer():
    m = MissingDevice(3)
    assert not m.record(False) and not m.record(False)
    assert m.record(False)  # the third in a row
    assert m.record(False)
    assert not m.record(True)  # recovery: the first valid answer
    assert not m.record(False) and not m.record(False)  # counts again from zero


def test_missing_needs_consecutive_failures():
    m = MissingDevice(3)
    for answered in (False, False, True, False, False, True):
        assert not m.record(answered)


def test_missing_after_must_be_positive():
    with pytest.raises(ValueError):
        MissingDevice(0)


# -- firmware: the hooks ---------------------------------------------------------------
class _Link:
    def __init__(self) -> None:
        self.outbox: deque[Any] = deque()
        self.online = True

    def enqueue(self, msg: Any) -> None:
        pass


class _FixedClock(Clock):
    def now(self) -> float:
        return 0.0


def _firmware() -> tuple[Firmware, BareBoard]:
    nvm = Nvm(config=ConfigStore(PROFILE), auth=AuthStore(), smart=SmartCharging(230, 1),
              firmware_version="t")
    fw = Firmware(profile=PROFILE, variant=PROFILE.variant("S"), clock=_FixedClock(),
                  relays=lambda: {}, pp_ohms=lambda: 220,
                  link_factory=lambda f: _Link(),  # type: ignore[arg-type,return-value]
                  nvm=nvm, serial="T1", circuit=Circuit(1), board=(board := BareBoard()))
    fw.boot_status = "Accepted"
    return fw, board


def test_missing_meter_sets_and_clears_0x400000_with_its_error_code():
    fw, board = _firmware()
    board.meter_missing = True
    fw.evaluate()
    flags = 0
    for other in MISSING.sets_also:
        flags |= other
    assert fw.rtm == MISSING.code | flags
    assert fw.error_code() == (MISSING.ocpp_error_code, f"0x{MISSING.code | flags:04X}")
    board.meter_missing = False
    fw.evaluate()
    assert fw.rtm == 0 and fw.error_code() == ("NoError", None)


def test_ct_limit_is_the_offer_with_its_reason():
    fw, board = _firmware()
    board.ct_a = 14.0
    assert fw.offered_current() == 14.0
    assert fw.limit_reason == "ExtTransformerCurrentLimit"
    board.ct_a = None
    assert fw.offered_current() == 32.0
    assert fw.limit_reason != "ExtTransformerCurrentLimit"


def test_mid_meter_readings_replace_the_internal_meter():
    fw, board = _firmware()
    board.meter = MeterData([231.5], [9.5], [2150.0], 12.5)
    fw.evaluate()
    reading = fw.meter
    assert (reading.voltage_v, reading.current_a, reading.energy_wh) == (231.5, 9.5, 12500.0)
    assert reading.value("Power.Active.Import", "L1") == 2150.0


# -- the master on a pty pair against the meter emulator ---------------------------------
@pytest.fixture
def wire():
    clock = Clock(WIRE_SPEED)
    with PtyPair() as pair, MeterEmulator(pair.ports[0], "sdm230", clock=clock) as meter:
        yield clock, pair, meter


def _master(clock: Clock, port: str, device: str) -> ModbusMaster:
    return ModbusMaster(port=port, clock=clock, settings=SETTINGS, phases=1,
                        device=lambda: device)


async def _cycles(master: ModbusMaster, device: str, n: int) -> None:
    for _ in range(n):
        await master.poll_once(device)


def test_master_reads_the_meter(wire):
    clock, pair, meter = wire
    meter.set_values(voltage_l1=231.5, current_l1=9.5, power_l1=2150.0, import_kwh=12.5)
    master = _master(clock, pair.ports[1], "meter")
    master._polling = "meter"

    async def run() -> None:
        await _cycles(master, "meter", 1)
        await master.close()

    asyncio.run(run())
    assert master.meter == MeterData([231.5], [9.5], [2150.0], 12.5, 0.0)
    assert master.counters.errors == 0 and master.counters.answered == 1
    registers = {p.register for p in meter.polls}
    assert registers == {30001, 30007, 30013, 30073, 30075}  # single phase: no '*' rows


def test_master_ct_limit_follows_the_clamp(wire):
    clock, pair, meter = wire
    master = _master(clock, pair.ports[1], "ct")
    master._polling = "ct"

    async def run() -> None:
        meter.set_current(25.0)
        await _cycles(master, "ct", 1)
        assert master.ct_limit(40.0, [0.0]) == pytest.approx(15.0)
        assert master.fuse_reading() == pytest.approx(25.0)
        meter.set_current(5.0)
        await _cycles(master, "ct", 1)
        assert master.ct_limit(40.0, [0.0]) == pytest.approx(35.0)
        await master.close()

    asyncio.run(run())


def test_silent_meter_goes_missing_and_comes_back(wire):
    clock, pair, meter = wire
    master = _master(clock, pair.ports[1], "meter")
    master._polling = "meter"

    async def run() -> None:
        await _cycles(master, "meter", 1)
        meter.silence(True)
        await _cycles(master, "meter", SETTINGS.missing_after - 1)
        assert not master.meter_missing
        await _cycles(master, "meter", 1)
        assert master.meter_missing and master.meter_data() is None
        assert master.counters.timeouts == SETTINGS.missing_after
        meter.silence(False)
        await _cycles(master, "meter", 1)
        assert not master.meter_missing and master.meter_data() is not None
        await master.close()

    asyncio.run(run())


def test_bad_crc_and_exceptions_are_counted_not_fatal(wire):
    clock, pair, meter = wire
    meter.set_values(voltage_l1=231.0)
    master = _master(clock, pair.ports[1], "meter")
    master._polling = "meter"

    async def run() -> None:
        meter.corrupt_crc(True)
        await _cycles(master, "meter", 1)
        assert master.counters.garbage == 1 and master.meter is None
        meter.corrupt_crc(False)
        meter.exception(4)
        await _cycles(master, "meter", 1)
        assert master.counters.exceptions == len(master._registers("meter"))
        assert not master.meter_missing  # an exception answer is a valid frame
        meter.exception(None)
        await _cycles(master, "meter", 1)
        assert master.meter is not None and master.meter.voltage_v == [231.0]
        await master.close()

    asyncio.run(run())


def test_no_port_counts_as_timeout_and_never_raises():
    master = ModbusMaster(port="/nonexistent/tty", clock=Clock(SPEED), settings=SETTINGS,
                          phases=1, device=lambda: "meter")
    master._polling = "meter"

    async def run() -> None:
        for _ in range(SETTINGS.missing_after):
            await master.poll_once("meter")
        await master.close()

    asyncio.run(run())
    assert master.meter_missing and master.counters.timeouts == SETTINGS.missing_after


def test_run_is_cancellable_mid_request(wire):
    """Power off cancels the poller even while pymodbus waits for an answer (pymodbus
    turns a cancellation into an error; the master must not swallow it)."""
    clock, pair, meter = wire
    meter.silence(True)
    master = _master(clock, pair.ports[1], "meter")

    async def run() -> None:
        task = asyncio.create_task(master.run())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2.0)

    asyncio.run(run())
