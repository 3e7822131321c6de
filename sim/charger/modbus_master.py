"""The charger's RS-485 channel 1: a Modbus RTU master polling a CT clamp or a MID meter.

The real EVNET polls one device on its RS-485 port (001 "RS-485 peripherals", 004 §3.6):
a CT clamp upstream of the house's main fuse — the household current that the
ExtTransformerCurrentLimit (001 VendorID1 3) keeps below c_MainFuseLimit — or a MID
meter upstream of the charger, whose readings replace the internal meter's. The twin does
the same over a serial line (a pty on the virtual bench) with pymodbus' async serial
client; line settings, registers and timing come from the profile's ``rs485`` table.

A bus is noisy: timeouts, garbage, bad CRCs and Modbus exception answers are counted
and never end the poller; ``missing_after`` cycles without a valid frame while a MID
meter is configured is RTM 0x400000, cleared by the next valid answer. Whatever the
noise, the next poll after it is read: :class:`AnswerFramer` gives pymodbus only the
answer it waits for (pymodbus 3.11's own RTU framer hunts through all it received on
every read, a CRC per start and length: 65 KB of noise held the twin's loop a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evrig.rig.clock import RS485_WIRE, Clock
from evrig.rig.profile import Rs485
from evrig.sim.charger.answer_framer import AnswerFramer

# The response timeout is kept in spec seconds on the bench clock (``Clock.within``);
# pymodbus's own wall timeout is only a bound for a wedged line, never reached first.
WALL_BOUND_S = 10.0
# Wall seconds a request may hold spec time on the virtual bench while it is on the wire
# (Clock.in_flight). The flight ends when the answer's bytes are read, or when the meter
# says it will not answer now (silent, late: Clock.delivered); the cap only bounds a
# cable with nobody at the far end, and is far above a busy host's pty delay.
IN_FLIGHT_WALL_S = 1.0
INPUT_REGISTER_BASE = 30001  # the manuals' numbering; PDU address = register - base
DEVICES = ("none", "ct", "meter")

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # the twin counts errors itself
log = logging.getLogger(__name__)


def pdu_address(register: int) -> int:
    """30001-based input register (as the manuals print it) → Modbus PDU address."""
    if not INPUT_REGISTER_BASE <= register < INPUT_REGISTER_BASE + 10000:
        raise ValueError(f"{register} is not an input register (30001..39999)")
    return register - INPUT_REGISTER_BASE


def ext_transformer_limit(fuse_a: float, household_a: Sequence[float],
                          own_a: Sequence[float]) -> float | None:
    """ExtTransformerCurrentLimit (001 VendorID1 3): on each phase the charger may draw
    what the main fuse leaves after the rest of the house — fuse − (household − own) —
    the lowest phase wins, never below 0. The CT clamp measures the whole house,
    the charger included, hence the charger's own current is added back. None without
    a household reading."""
    if not household_a:
        return None
    limits = []
    for phase, house in enumerate(household_a):
        own = own_a[phase] if phase < len(own_a) else 0.0
        limits.append(fuse_a - max(0.0, house - own))
    return max(0.0, min(limits))


class MissingDevice:
    """0x400000 logic: ``after`` consecutive failed poll cycles → missing; the first
    cycle with a valid frame → present again (recovery auto)."""

    def __init__(self, after: int) -> None:
        if after < 1:
            raise ValueError(f"missing_after must be >= 1, got {after}")
        self.after = after
        self.failed_in_row = 0

    @property
    def missing(self) -> bool:
        return self.failed_in_row >= self.after

    def record(self, answered: bool) -> bool:
        self.failed_in_row = 0 if answered else self.failed_in_row + 1
        return self.missing

    def reset(self) -> None:
        self.failed_in_row = 0


@dataclass
class MeterData:
    """A MID meter's readings per phase (L1 first) and its import register."""

    voltage_v: list[float] = field(default_factory=list)
    current_a: list[float] = field(default_factory=list)
    power_w: list[float] = field(default_factory=list)
    import_kwh: float | None = None
    export_kwh: float | None = None
    total_power_w: float | None = None  # the meter's total register, where it has one


@dataclass
class Counters:
    polls: int = 0  # poll cycles started
    answered: int = 0  # cycles with every request answered by a valid frame
    timeouts: int = 0  # requests nobody answered
    garbage: int = 0  # requests answered by bytes that never made a valid frame (CRC …)
    exceptions: int = 0  # Modbus exception responses
    stray_bytes: int = 0  # bytes received that were no part of a valid answer (noise)

    @property
    def errors(self) -> int:
        return self.timeouts + self.garbage + self.exceptions


class _NoFrame(Exception):
    """A request without a valid answer frame."""


class ModbusMaster:
    """Polls the device ``device()`` names ("none", "ct", "meter") on ``port``."""

    def __init__(self, *, port: str, clock: Clock, settings: Rs485, phases: int,
                 device: Callable[[], str], on_update: Callable[[], None] = lambda: None,
                 client_factory: Callable[..., Any] | None = None) -> None:
        self.port = port
        self.clock = clock
        self.settings = settings
        self.phases = phases
        self.device = device
        self.on_update = on_update
        self._client_factory = client_factory
        self.counters = Counters()
        self.phase = "idle"  # where the poll loop is (diagnostics: console rs485_phase)
        self.missing = MissingDevice(settings.missing_after)
        self.household_a: list[float] | None = None  # CT clamp, per phase
        self.meter: MeterData | None = None  # MID meter
        self._polling: str = "none"
        self._client: Any = None
        self._framer = AnswerFramer()

    # -- what the firmware reads --------------------------------------------------------
    @property
    def meter_missing(self) -> bool:
        """RTM 0x400000: configured for a MID meter and it stopped answering."""
        return self._polling == "meter" and self.missing.missing

    @property
    def ct_missing(self) -> bool:
        """004 §4.2 RS485 Bus Device CT/Clamp configured and nothing answers (profile
        faults.ct_missing): the same missing_after rule as the meter's."""
        return self._polling == "ct" and self.missing.missing

    def fuse_reading(self) -> float:
        """The web client's 'Main Fuse Reading': the household current on the highest
        phase (0.0 A without a CT reading, as the manual's screenshot shows)."""
        return max(self.household_a) if self.household_a else 0.0

    def ct_limit(self, fuse_a: float, own_a: Sequence[float]) -> float | None:
        if self._polling != "ct" or self.household_a is None or self.missing.missing:
            return None
        return ext_transformer_limit(fuse_a, self.household_a, own_a)

    def meter_data(self) -> MeterData | None:
        if self._polling != "meter" or self.missing.missing:
            return None
        return self.meter

    # -- the poll loop --------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while True:
                device = self.device()
                if device != self._polling:
                    self._forget(device)
                if device != "none":
                    try:
                        await self.poll_once(device)
                    except Exception:  # noqa: BLE001 - a poller must never die of its bus
                        # Counted as a failed cycle and logged with its cause; the
                        # next cycle starts on a fresh connection.
                        log.exception("RS-485 master: poll cycle failed")
                        self.counters.garbage += 1
                        self.missing.record(False)
                        await self.close()
                    self.on_update()
                self.phase = f"sleep since {self.clock.now():.3f}"
                await self.clock.asleep(self.settings.poll_period_s)
        finally:
            await self.close()

    def _forget(self, device: str) -> None:
        self._polling = device
        self.household_a = None
        self.meter = None
        self.missing.reset()

    async def poll_once(self, device: str) -> None:
        """One poll cycle of every register of ``device`` for this unit's phases."""
        self.counters.polls += 1
        registers = self._registers(device)
        values: dict[str, float] = {}
        try:
            client = await self._connected()
            for name, register in registers.items():
                value = await self._read(client, register)
                if value is not None:
                    values[name] = value
        except _NoFrame:
            self.missing.record(False)
            await self._quiet()
            self.on_update()
            return
        self.missing.record(True)
        self.counters.answered += 1
        self._store(device, values)

    def _registers(self, device: str) -> dict[str, int]:
        table = self.settings.ct_registers if device == "ct" else self.settings.meter_registers
        out = {}
        for name, register in table.items():
            phase = re.search(r"_l(\d)$", name)
            if phase is None or int(phase.group(1)) <= self.phases:
                out[name] = register
        return out

    def _store(self, device: str, values: dict[str, float]) -> None:
        def per_phase(prefix: str, old: list[float] | None) -> list[float]:
            out = []
            for n in range(1, self.phases + 1):
                key = f"{prefix}_l{n}"
                if key in values:
                    out.append(values[key])
                elif old is not None and len(old) >= n:
                    out.append(old[n - 1])  # an exception answer keeps the last value
            return out

        if device == "ct":
            currents = per_phase("current", self.household_a)
            self.household_a = currents or self.household_a
            return
        old = self.meter or MeterData()
        self.meter = MeterData(
            voltage_v=per_phase("voltage", old.voltage_v),
            current_a=per_phase("current", old.current_a),
            power_w=per_phase("power", old.power_w),
            import_kwh=values.get("import_kwh", old.import_kwh),
            export_kwh=values.get("export_kwh", old.export_kwh),
            total_power_w=values.get("total_power", old.total_power_w),
        )

    # -- one request ----------------------------------------------------------------------
    def _timeout_wall(self) -> float:
        return max(self.clock.wall(self.settings.response_timeout_s) * 10, WALL_BOUND_S)

    def _make_client(self) -> Any:
        if self._client_factory is not None:
            return self._client_factory(self)
        from pymodbus import FramerType
        from pymodbus.client import AsyncModbusSerialClient

        s = self.settings
        return AsyncModbusSerialClient(
            self.port, framer=FramerType.RTU, baudrate=s.baud, bytesize=s.bytesize,
            parity=s.parity, stopbits=s.stopbits, timeout=self._timeout_wall(), retries=0,
            reconnect_delay=0, trace_packet=self._trace)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        data = self._framer(sending, data)
        self.counters.stray_bytes = self._framer.stray
        return data

    async def _connected(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        if not self._client.connected:
            self._framer.reset()
            try:
                ok = await self._client.connect()
            except Exception:
                ok = False
            if not ok:
                self.counters.timeouts += 1
                raise _NoFrame("cannot open the port")
        return self._client

    async def _read(self, client: Any, register: int) -> float | None:
        """The float32 at ``register``; None for an exception answer; _NoFrame when no
        valid frame came back."""
        from pymodbus.exceptions import ModbusException

        self.phase = f"read {register} since {self.clock.now():.3f}"
        try:
            # The response timeout in spec seconds: on the virtual bench a busy host slows
            # spec time and the meter's answer alike, so it is not read as a silent meter.
            # Spec time waits while the request and its answer cross the cable, which
            # no event loop sees (rig/bench_clock.py, in_flight).
            with self.clock.in_flight(IN_FLIGHT_WALL_S, RS485_WIRE) as flight:
                self._framer.on_answer = flight.end
                response = await self.clock.within(client.read_input_registers(
                    pdu_address(register), count=2, device_id=self.settings.device_id),
                    self.settings.response_timeout_s)
        except (ModbusException, OSError, ValueError, TimeoutError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from exc  # pymodbus turns a cancel into an error
            if self._framer.received:
                self.counters.garbage += 1
            else:
                self.counters.timeouts += 1
            raise _NoFrame(str(exc)) from None
        if response.isError():
            self.counters.exceptions += 1
            return None
        registers = list(getattr(response, "registers", []))
        if len(registers) != 2:
            self.counters.garbage += 1
            raise _NoFrame(f"{len(registers)} registers for 2")
        value = float(client.convert_from_registers(registers, client.DATATYPE.FLOAT32))
        if not math.isfinite(value):
            self.counters.garbage += 1
            return None
        return value

    async def _quiet(self) -> None:
        """After a failed request: one response time of silence, so that a late answer
        arrives while no request waits and is dropped instead of being taken for the
        next request's answer."""
        await self.clock.asleep(self.settings.response_timeout_s)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
