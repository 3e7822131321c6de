"""The fake CT clamp / MID meter: a Modbus RTU slave on a serial port.

The charger is the Modbus master on its RS-485 Channel 1; it polls the meter (function
0x04, input registers) for voltage, current, power and energy. This emulator is that
meter: a Modbus RTU slave serving the registers of a map file
(:mod:`drivers.meter.maps`) whose values a test changes while the charger polls —
``set_current(16)`` and the charger sees 16 A on its next poll. It also misbehaves on
demand: ``silence``, ``exception``, ``corrupt_crc``, ``delay``. Its own loop thread
(:class:`rig.loop.LoopThread`) keeps tests plain ``def``.

How it hooks into pymodbus 3.11 — through its public extension points, no subclassing
of its internals:

* **The line is ours** (:mod:`drivers.meter.rtu`): pymodbus's serial server frames by
  hunting through everything it ever received, so a few bytes of noise left it deaf for
  up to a minute and 65 KB wedged it for minutes. :class:`~drivers.meter.rtu.RtuSlave`
  frames as a meter does — by length, and by inter-frame silence after garbage — and
  hands each good frame to pymodbus's decoder; garbage counts in :attr:`MeterEmulator.line`.
* **The datastore is ours.** :class:`MeterContext` derives from
  ``ModbusBaseDeviceContext``, whose contract is "implement async_getValues /
  async_setValues". Every read and write of the meter's id reaches it with the PDU
  address as sent on the wire. It records the :class:`Poll`, waits the injected
  ``delay`` (an ``await``, so only that answer is late), and returns an ``ExcCodes``
  member for an injected or genuine exception — which pymodbus turns into the
  exception response itself.
* **Outgoing frames pass ``trace_packet``** (pymodbus's meaning: what it returns goes
  on the wire): ``b""`` for ``silence`` (request decoded and counted, nothing sent) and
  the frame with its CRC inverted for ``corrupt_crc``.

The one-off: pymodbus's ready-made ``ModbusDeviceContext`` adds 1 to every address
before it reads its data block (a block made for register "1" then answers PDU 0).
We do not use it: :class:`MeterContext` gets the PDU address unshifted, and the map
converts register numbers exactly once (30001 → 0, :attr:`maps.Register.address`).
``tests/test_meter_emulator.py`` pins both behaviours, so a pymodbus upgrade that moves
the offset fails there and not on a production line.

Requests to other ids get no answer, like a meter sharing a bus. Reads inside the map's
span that hit no value (the SDM230's gap at 30003-30006) read 0, as on an Eastron;
beyond the last value: exception 02 (illegal address). The meter takes no configuration
over the bus: writes get exception 01.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusBaseDeviceContext

from evrig.drivers.meter.polls import Poll, describe_poll  # describe_poll: re-exported (cli)
from evrig.drivers.meter.rtu import LineCounters, RtuSlave
from evrig.rig.clock import RS485_WIRE, Clock
from evrig.rig.errors import InstrumentError
from evrig.rig.loop import LoopThread
from evrig.rig.tables.meter_maps import MeterMap, Register, float_to_words, load_map

if TYPE_CHECKING:
    from evrig.rig.config import MeterConfig

__all__ = ["BAUDS", "LineCounters", "MeterContext", "MeterEmulator", "Poll", "describe_poll"]

BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
EXCEPTION_CODES = tuple(int(c) for c in ExcCodes)  # 1-8, 10, 11
MAX_READ = 125  # registers per read (Modbus application protocol §6.3/6.4)


class MeterContext(ModbusBaseDeviceContext):
    """pymodbus's view of the meter: every request for its id lands here, unshifted."""

    def __init__(self, emulator: MeterEmulator) -> None:
        self._emulator = emulator

    def reset(self) -> None:
        self._emulator.safe_state()

    async def async_getValues(self, func_code: int, address: int,  # noqa: N802 (pymodbus)
                              count: int = 1) -> list[int] | ExcCodes:
        return await self._emulator._serve(func_code, address, count)

    async def async_setValues(self, func_code: int, address: int,  # noqa: N802 (pymodbus)
                              values: list[int] | list[bool]) -> ExcCodes | None:
        result = await self._emulator._serve(func_code, address, len(values), write=True)
        return result if isinstance(result, ExcCodes) else None

    def getValues(self, func_code: int, address: int,  # noqa: N802 (pymodbus)
                  count: int = 1) -> list[int] | ExcCodes:
        """The words at ``address`` without faults or poll records (for inspection)."""
        return self._emulator._read(func_code, address, count)


class MeterEmulator:
    """A fake CT clamp / MID meter answering Modbus RTU on ``port``.

    ``model`` picks a built-in map (ct, sdm230, sdm630); ``map_file`` replaces it.
    ``device_id`` and ``baud`` default to the map's ``serial`` block (id 1, 9600 8N1
    per the EVNET manuals). ``clock`` gives spec time for poll timestamps and delays.
    ``on_poll`` is called (on the emulator's loop thread) with each :class:`Poll`.
    """

    def __init__(self, port: str, model: str = "ct", *, device_id: int | None = None,
                 baud: int | None = None, map_file: str | Path | None = None,
                 clock: Clock | None = None,
                 on_poll: Callable[[Poll], None] | None = None) -> None:
        self.port = port
        self.map: MeterMap = load_map(map_file if map_file is not None else model)
        self.model = self.map.model
        self.device_id = self.map.serial.id if device_id is None else device_id
        self.baud = self.map.serial.baud if baud is None else baud
        if not 1 <= self.device_id <= 247:
            raise ValueError(f"Modbus id must be 1..247, got {self.device_id}")
        if self.baud not in BAUDS:
            raise ValueError(f"baud must be one of {', '.join(map(str, BAUDS))}, "
                             f"got {self.baud}")
        self.clock = clock or Clock(1.0)
        self.on_poll = on_poll
        self._lock = threading.Lock()
        self._polled = threading.Condition(self._lock)
        self._polls: list[Poll] = []
        self._values: dict[str, float] = {}
        self._words: dict[int, list[int]] = {}
        self._silent = False
        self._exception: int | None = None
        self._corrupt = False
        self._delay = 0.0
        self._loop: LoopThread | None = None
        self._server: RtuSlave | None = None
        self.safe_state()

    @classmethod
    def from_config(cls, config: MeterConfig, *, port: str | None = None,
                    map_base: Path | None = None, clock: Clock | None = None,
                    on_poll: Callable[[Poll], None] | None = None) -> MeterEmulator:
        """From the rig file's ``instruments.meter``. ``port`` overrides its port (the
        virtual bench's pty); ``map_base`` is the folder a relative ``map`` is read from
        (the rig file's folder: ``RigConfig.resolve``)."""
        map_file = None
        if config.map is not None:
            map_file = (map_base or Path()) / config.map
        return cls(port or config.port, config.model, device_id=config.id, baud=config.baud,
                   map_file=map_file, clock=clock, on_poll=on_poll)

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> MeterEmulator:
        """Open the port and answer; InstrumentError if the port cannot be opened."""
        if self._server is not None:
            return self
        self._loop = LoopThread(f"meter-{self.model}", self.clock)
        try:
            self._server = self._loop.run(self._start_server())
        except Exception:
            self._loop.stop()
            self._loop = None
            raise
        return self

    async def _start_server(self) -> RtuSlave:
        s = self.map.serial
        server = RtuSlave(self.port, device_id=self.device_id, context=MeterContext(self),
                          baudrate=self.baud, bytesize=s.bytesize, parity=s.parity,
                          stopbits=s.stopbits, trace_packet=self._trace_packet)
        try:
            await server.start()
        except (OSError, ValueError) as exc:  # SerialException is an OSError
            raise InstrumentError("meter emulator", self.port,
                                  f"cannot open serial port ({exc})") from None
        return server

    def stop(self) -> None:
        """Stop answering and close the port. Idempotent."""
        server, loop = self._server, self._loop
        self._server = self._loop = None
        if loop is None:
            return
        try:
            if server is not None:
                loop.run(server.stop(), timeout=5.0)
        finally:
            loop.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def line(self) -> LineCounters:
        """What the meter heard on its line since it started (a copy): good frames,
        frames for other ids, and garbage (noise, bad CRC, frames cut short) counted
        per burst between two silences and in bytes."""
        server = self._server
        return LineCounters(**vars(server.counters)) if server else LineCounters()

    def __enter__(self) -> MeterEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- values ---------------------------------------------------------------------------

    def set_values(self, **values: float) -> None:
        """Set values by their map names (``voltage_l1=231.5``); served from the next
        request on. Unknown name → ValueError listing the map's names."""
        unknown = [n for n in values if n not in self.map.registers]
        if unknown:
            raise ValueError(f"{self.model} has no value {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(self.map.names)}")
        words = {}
        for name, value in values.items():
            try:
                words[name] = float_to_words(float(value))
            except (OverflowError, TypeError, ValueError):
                raise ValueError(f"{name}: {value!r} is not a float32 number") from None
        with self._lock:
            for name, (hi, lo) in words.items():
                reg = self.map.registers[name]
                self._values[name] = float(values[name])
                table = self._words[reg.function]
                table[reg.address], table[reg.address + 1] = hi, lo

    def set_current(self, a: float, phase: int = 1) -> None:
        """The current the meter measures on ``phase`` (1..3), in A RMS.

        Where the map has them, the values that follow from it follow too: power
        (V × I × PF), apparent power (V × I) of that phase and the total power. A test
        wanting inconsistent values sets them afterwards with :meth:`set_values`.
        """
        name = f"current_l{phase}"
        if name not in self.map.registers:
            phases = [n[-1] for n in self.map.names if n.startswith("current_l")]
            raise ValueError(f"{self.model} has no phase {phase}; phases: "
                             f"{', '.join(phases) or 'none'}")
        if not math.isfinite(a) or a < 0:
            raise ValueError(f"current must be a finite number >= 0 A, got {a!r}")
        updates = {name: float(a)}
        volts = self._values.get(f"voltage_l{phase}")
        if volts is not None:
            pf = self._values.get(f"power_factor_l{phase}", 1.0)
            for key, value in ((f"power_l{phase}", volts * a * pf),
                               (f"apparent_power_l{phase}", volts * a)):
                if key in self.map.registers:
                    updates[key] = value
            if "total_power" in self.map.registers:
                updates["total_power"] = sum(
                    updates.get(f"power_l{p}", self._values.get(f"power_l{p}", 0.0))
                    for p in (1, 2, 3))
        self.set_values(**updates)

    def value(self, name: str) -> float:
        """The value served under ``name`` (as set, before float32 rounding)."""
        if name not in self.map.registers:
            raise ValueError(f"{self.model} has no value {name!r}; "
                             f"known: {', '.join(self.map.names)}")
        with self._lock:
            return self._values[name]

    @property
    def values(self) -> dict[str, float]:
        with self._lock:
            return dict(self._values)

    # --- faults ---------------------------------------------------------------------------

    def silence(self, on: bool = True) -> None:
        """No answer at all (requests are still counted in :attr:`polls`)."""
        with self._lock:
            self._silent = bool(on)

    def exception(self, code: int | None) -> None:
        """Answer every request with Modbus exception ``code`` (e.g. 4 = device failure);
        None answers normally again."""
        if code is not None and code not in EXCEPTION_CODES:
            raise ValueError(f"Modbus exception code must be one of "
                             f"{', '.join(map(str, EXCEPTION_CODES))} or None, got {code!r}")
        with self._lock:
            self._exception = code

    def corrupt_crc(self, on: bool = True) -> None:
        """Answer with a wrong CRC (both CRC bytes inverted): the master must drop it."""
        with self._lock:
            self._corrupt = bool(on)

    def delay(self, seconds: float) -> None:
        """Answer ``seconds`` (spec time) late; 0 = at once."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"delay must be >= 0 s, got {seconds!r}")
        with self._lock:
            self._delay = float(seconds)

    def safe_state(self) -> None:
        """Answering, default values, no faults. Polls are kept (see clear_polls)."""
        with self._lock:
            self._silent = self._corrupt = False
            self._exception = None
            self._delay = 0.0
            self._values = {name: reg.default for name, reg in self.map.registers.items()}
            self._apply_serial_settings()
            self._words = {f: _image(self.map.table(f), self._values) for f in (3, 4)}

    def _apply_serial_settings(self) -> None:
        """The holding registers that describe the line serve the line really used."""
        regs = self.map.registers
        if "meter_id" in regs:
            self._values["meter_id"] = float(self.device_id)
        if "baud" in regs:
            codes = regs["baud"].codes
            self._values["baud"] = codes.get(self.baud, float(self.baud)) if codes \
                else float(self.baud)

    # --- polls ----------------------------------------------------------------------------

    @property
    def polls(self) -> list[Poll]:
        """Every request received for this id so far, oldest first (a copy)."""
        with self._lock:
            return list(self._polls)

    def clear_polls(self) -> None:
        with self._lock:
            self._polls.clear()

    def wait_for_poll(self, timeout: float = 10.0, since: int | None = None) -> Poll:
        """The first poll with index >= ``since`` (default: the next one), waiting at most
        ``timeout`` spec seconds; TimeoutError otherwise."""
        with self._polled:
            index = len(self._polls) if since is None else since
        if not self.clock.wait_condition(self._polled, lambda: len(self._polls) > index,
                                         timeout):
            raise TimeoutError(f"meter emulator on {self.port}: no poll within "
                               f"{timeout:g} s (spec)")
        with self._polled:
            return self._polls[index]

    # --- serving (loop thread) ------------------------------------------------------------

    def _read(self, function: int, address: int, count: int) -> list[int] | ExcCodes:
        if function not in (3, 4):
            return ExcCodes.ILLEGAL_FUNCTION
        if not 1 <= count <= MAX_READ:
            return ExcCodes.ILLEGAL_VALUE
        table = self._words[function]
        if address < 0 or address + count > len(table):
            return ExcCodes.ILLEGAL_ADDRESS
        return table[address:address + count]

    async def _serve(self, function: int, address: int, count: int,
                     write: bool = False) -> list[int] | ExcCodes:
        with self._lock:
            if self._exception is not None:
                result: list[int] | ExcCodes = ExcCodes(self._exception)
            elif write:
                result = ExcCodes.ILLEGAL_FUNCTION
            else:
                result = self._read(function, address, count)
            words = () if isinstance(result, ExcCodes) else tuple(result)
            poll = Poll(self.clock.now(), function, address, count, words,
                        int(result) if isinstance(result, ExcCodes) else None, self._silent)
            self._polls.append(poll)
            self._polled.notify_all()
            delay = self._delay
            silent = self._silent
        if silent or delay:
            # Nothing crosses the cable now: the master's timeout runs in spec time
            # (on the virtual bench; a no-op on a real one).
            self.clock.delivered(RS485_WIRE)
        if self.on_poll is not None:
            try:
                self.on_poll(poll)
            except Exception:  # an observer's bug must not turn into a meter fault
                logging.getLogger(__name__).exception("on_poll callback failed")
        if delay:
            await self.clock.asleep(delay)
        return result  # a write is always refused: an ExcCodes

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """Every frame passes through here; what we return is used (sent: on the wire)."""
        if not sending:
            return data
        with self._lock:
            silent, corrupt = self._silent, self._corrupt
        if silent:
            return b""
        if corrupt and len(data) >= 4:
            return data[:-2] + bytes((data[-2] ^ 0xFF, data[-1] ^ 0xFF))
        return data


def _image(table: list[Register], values: dict[str, float]) -> list[int]:
    """The words of one register table from PDU address 0 to its last value; gaps 0."""
    if not table:
        return []
    words = [0] * (max(r.address for r in table) + 2)
    for reg in table:
        words[reg.address], words[reg.address + 1] = float_to_words(values[reg.name])
    return words
