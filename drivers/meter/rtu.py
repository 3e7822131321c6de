"""Modbus RTU slave on a serial line: frames by length and inter-frame silence, decodes
with pymodbus.

Why not pymodbus's ``ModbusSerialServer`` (3.11): its RTU framer keeps every byte it
received in one buffer and hunts through all of it again on each read. A bogus header
makes it wait for the bytes it announces, which then come from the master's next
requests (a meter deaf for 18-60 s after a few bytes of noise); a long burst costs a CRC
over every (start, length) pair (65 KB of noise: minutes at full CPU). The framer is
picked by name (``FramerType``), so it cannot be swapped, and there is no hook between
the port and the framer. A real meter does what :class:`RtuFramer` does:

* a frame is complete when its length (from pymodbus's PDU classes,
  ``calculateRtuFrameSize``) has arrived and its CRC holds — answered at once, without
  waiting for the silence after it;
* anything else (unknown function, bad CRC, a frame longer than the 256 bytes RTU
  allows) makes the rest of the burst garbage: it is counted and dropped, unread,
  until the line has been silent for :func:`silence_s`; a frame cut short is dropped
  at that silence too. So whatever came before, the first good frame after a silence
  is answered, and each byte costs O(1) work.

:class:`RtuSlave` puts the framer between a pyserial port and pymodbus's request
decoder and datastore contract (``ModbusPDU.update_datastore``): pymodbus still
decodes and encodes every PDU; only the framing is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypedDict

import serial
from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusBaseDeviceContext
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU

MAX_ADU = 256  # Modbus over serial line V1.02 §2.5.1: id + PDU (253) + CRC
# A USB-RS485 adapter hands bytes over in packets (FTDI: every 16 ms by default), so one
# frame can arrive in two reads that far apart: never take less as the end of a frame.
SILENCE_FLOOR_S = 0.02
REOPEN_S = 0.5  # a port that failed (adapter unplugged) is tried again this often
_log = logging.getLogger(__name__)


def silence_s(baud: int) -> float:
    """The silence that ends a frame: 3.5 characters of 11 bits (1.75 ms above 19200
    baud, V1.02 §2.5.1.1), never under :data:`SILENCE_FLOOR_S`."""
    t35 = 3.5 * 11 / baud if baud <= 19200 else 0.00175
    return max(t35, SILENCE_FLOOR_S)


@dataclass
class LineCounters:
    """What the slave heard on its line since it started."""

    frames: int = 0  # frames with a good CRC, any device id
    ignored: int = 0  # good frames not answered: another id, a broadcast, not a request
    garbage: int = 0  # bursts (silence to silence) that held bytes of no good frame
    garbage_bytes: int = 0  # the bytes of those bursts


class RtuFramer:
    """Cuts a byte stream into RTU frames (see the module docstring); no I/O, no clock
    of its own: the caller says when bytes came (``now``, wall seconds)."""

    def __init__(self, decoder: DecodePDU, silence: float,
                 counters: LineCounters | None = None) -> None:
        self.decoder = decoder
        self.silence = silence
        self.counters = counters or LineCounters()
        self._buf = bytearray()  # the frame in progress
        self._junk = 0  # bytes dropped since the last silence
        self._dropping = False  # the rest of this burst is garbage
        self._last: float | None = None  # when the last byte came

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """The frames (id + PDU + CRC) that ``data`` completes; a silence since the last
        byte first ends the burst before (a read may run late; the gap still counts)."""
        if self._last is not None and now - self._last >= self.silence:
            self._end_burst()
        self._last = now
        if self._dropping:
            self._junk += len(data)
            return []
        self._buf += data
        frames = []
        while self._buf:
            size = self._frame_size()
            if size == 0:  # the header is not all there yet
                break
            if size < 0:
                self._drop()
                break
            if len(self._buf) < size:
                break
            frame = bytes(self._buf[:size])
            if not FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big")):
                self._drop()
                break
            del self._buf[:size]
            self.counters.frames += 1
            frames.append(frame)
        return frames

    def expire(self, now: float) -> float:
        """Called when the line may have gone quiet: ends the burst if it has been
        silent for :attr:`silence`; else the seconds left to wait (0.0 = nothing
        pending)."""
        if self._last is None or not (self._buf or self._junk or self._dropping):
            return 0.0
        left = self._last + self.silence - now
        if left > 0:
            return left
        self._end_burst()
        return 0.0

    def _frame_size(self) -> int:
        """The whole frame's length from its header; 0 = need more bytes, -1 = no frame
        starts here."""
        if len(self._buf) < FramerRTU.MIN_SIZE:
            return 0
        head = bytes(self._buf[:MAX_ADU])
        try:
            pdu_class = self.decoder.lookupPduClass(head)
            size = pdu_class.calculateRtuFrameSize(head) if pdu_class else -1
        except Exception:  # a PDU class that cannot size this header: not a frame
            return -1
        return -1 if size > MAX_ADU or 0 < size < FramerRTU.MIN_SIZE else size

    def _drop(self) -> None:
        self._junk += len(self._buf)
        self._buf.clear()
        self._dropping = True

    def _end_burst(self) -> None:
        junk = self._junk + len(self._buf)
        if junk:
            self.counters.garbage += 1
            self.counters.garbage_bytes += junk
        self._buf.clear()
        self._junk = 0
        self._dropping = False


class LineSettings(TypedDict):
    """The serial line's framing, as ``serial.Serial`` takes it."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: int


class RtuSlave:
    """Answers RTU requests for ``device_id`` on a serial port from ``context``.

    ``trace_packet`` has pymodbus's meaning: called with each frame received and each
    frame to be sent, and what it returns is used (``b""`` sends nothing). Requests are
    served concurrently, as pymodbus's server does, so one delayed answer does not hold
    back the line. Other ids get no answer (a meter sharing a bus).
    """

    def __init__(self, port: str, *, device_id: int, context: ModbusBaseDeviceContext,
                 baudrate: int, bytesize: int = 8, parity: str = "N", stopbits: int = 1,
                 trace_packet: Callable[[bool, bytes], bytes] = lambda _s, data: data
                 ) -> None:
        self.port = port
        self.device_id = device_id
        self.context = context
        self.settings: LineSettings = {"baudrate": baudrate, "bytesize": bytesize,
                                       "parity": parity, "stopbits": stopbits}
        self.trace_packet = trace_packet
        self.counters = LineCounters()
        self._decoder = DecodePDU(True)
        self._framer = RtuFramer(self._decoder, silence_s(baudrate), self.counters)
        self._encoder = FramerRTU(self._decoder)
        self._serial: serial.Serial | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False

    async def start(self) -> None:
        """Open the port; the pyserial error (no such device, busy, permission) if not."""
        self._open()

    def _open(self) -> None:
        port = serial.Serial(self.port, timeout=0, write_timeout=1.0, exclusive=True,
                             **self.settings)
        self._serial = port
        loop = asyncio.get_running_loop()
        if os.name == "nt":  # no add_reader for a COM port: poll it
            self._spawn(self._poll_reads())
        else:
            loop.add_reader(port.fileno(), self._readable)

    async def _poll_reads(self) -> None:
        while self._serial is not None:
            self._readable()
            await asyncio.sleep(0.001)

    async def stop(self) -> None:
        """Close the port and drop the requests being served. Idempotent."""
        self._stopped = True
        self._close()
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _close(self) -> None:
        port, self._serial = self._serial, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if port is None:
            return
        if os.name != "nt":
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(port.fileno())
        with contextlib.suppress(Exception):
            port.close()

    # --- receiving ------------------------------------------------------------------------

    def _readable(self) -> None:
        port = self._serial
        if port is None:
            return
        try:
            data = port.read(4096)
        except (serial.SerialException, OSError) as exc:
            self._lost(exc)
            return
        if not data:
            return
        for frame in self._framer.feed(data, time.monotonic()):
            self._take(frame)
        self._arm()

    def _arm(self) -> None:
        """Wake up when the line should have gone quiet, to end the burst."""
        if self._timer is None:
            delay = self._framer.silence
            self._timer = asyncio.get_running_loop().call_later(delay, self._quiet)

    def _quiet(self) -> None:
        self._timer = None
        left = self._framer.expire(time.monotonic())
        if left > 0:
            self._timer = asyncio.get_running_loop().call_later(left, self._quiet)

    def _lost(self, exc: BaseException) -> None:
        """The port failed (USB adapter pulled): close it and try again until stopped."""
        _log.warning("meter emulator: %s failed (%s); reopening", self.port, exc)
        self._close()
        self._spawn(self._reopen())

    async def _reopen(self) -> None:
        while not self._stopped and self._serial is None:
            await asyncio.sleep(REOPEN_S)
            with contextlib.suppress(serial.SerialException, OSError, ValueError):
                if not self._stopped:
                    self._open()

    def _take(self, frame: bytes) -> None:
        frame = self.trace_packet(False, frame)
        pdu = self._decoder.decode(frame[1:-2]) if len(frame) >= FramerRTU.MIN_SIZE else None
        if pdu is None or frame[0] != self.device_id or pdu.function_code & 0x80:
            self.counters.ignored += 1
            return
        pdu.dev_id = frame[0]
        self._spawn(self._answer(pdu))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- answering ------------------------------------------------------------------------

    async def _answer(self, request: ModbusPDU) -> None:
        try:
            # pymodbus annotates ModbusDeviceContext but serves any ModbusBaseDeviceContext,
            # its documented base for custom datastores (as pymodbus's own server does).
            response = await request.update_datastore(self.context)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception:  # the datastore's bug is the meter's failure, not the line's
            _log.exception("meter emulator: serving %s failed", request)
            response = ExceptionResponse(request.function_code, ExcCodes.DEVICE_FAILURE)
        response.dev_id = request.dev_id
        response.transaction_id = 0
        packet = self.trace_packet(True, self._encoder.buildFrame(response))
        port = self._serial
        if not packet or port is None:
            return
        try:
            port.write(packet)
        except (serial.SerialException, OSError) as exc:
            self._lost(exc)
