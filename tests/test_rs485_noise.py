"""Noise on RS-485 never leaves the meter emulator, or the twin's Modbus master, deaf or
wedged: after any garbage, the first good frame that follows a silence is served.

The four kinds of noise a user found (64 random bytes: deaf 18 s; one bogus 7-byte
header: 30 s; 500 bad-CRC frames: 23 s; 65 KB: 12 minutes at 90 % CPU in pymodbus's
RTU framer), each on both ends of the line, over the pty pair the virtual bench uses;
then the framing rules on their own, with the clock in the test's hands.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import serial

from evrig.drivers.meter.emulator import MeterEmulator
from evrig.drivers.meter.rtu import SILENCE_FLOOR_S, LineCounters, RtuFramer, silence_s
from evrig.rig.clock import Clock
from evrig.rig.profile import load_profile
from evrig.rig.tables.meter_maps import float_to_words, words_to_float
from evrig.sim.charger.modbus_master import AnswerFramer, ModbusMaster
from evrig.sim.pty_pair import PtyPair
from tests.test_meter_emulator import crc16

SETTINGS = load_profile("evnet-7kw").rs485
BOUND_S = 5.0  # a good request after the noise is answered this soon (wall): the first
# request is answered (counters), and never the 18-60 s of deafness users saw; the bound
# leaves room for a busy machine
CPU_S = 1.0  # and the noise costs the process at most this much CPU


def adu(*pdu: int, device: int = 1) -> bytes:
    frame = bytes((device, *pdu))
    return frame + crc16(frame)


def read_request(function: int, address: int, count: int = 2) -> bytes:
    return adu(function, address >> 8, address & 0xFF, count >> 8, count & 0xFF)


def noise(kind: str) -> bytes:
    rnd = random.Random(485)
    if kind == "64 random bytes":
        return rnd.randbytes(64)
    if kind == "bogus 7-byte header":  # write 123 registers: announces 246 more bytes
        return bytes((1, 0x10, 0x00, 0x00, 0x00, 0x7B, 0xF6))
    if kind == "500 bad-CRC frames":
        bad = read_request(4, 0)
        return (bad[:-2] + bytes((bad[-2] ^ 0xFF, bad[-1] ^ 0xFF))) * 500
    return rnd.randbytes(65 * 1024)


KINDS = ["64 random bytes", "bogus 7-byte header", "500 bad-CRC frames", "65 KB random"]


@pytest.fixture
def line() -> Iterator[tuple[PtyPair, MeterEmulator, serial.Serial]]:
    """The meter on one end; on the other a raw port for noise (not exclusive, so the
    twin's master can open the same end to poll)."""
    with PtyPair() as pair, MeterEmulator(pair.ports[0], "sdm630", clock=Clock(1.0)) as meter, \
            serial.Serial(pair.ports[1], 9600, timeout=BOUND_S) as raw:
        yield pair, meter, raw


def inject(meter: MeterEmulator, raw: serial.Serial, data: bytes) -> float:
    """Put ``data`` on the line; return when the meter has seen the silence after it
    (so the next bytes are a new frame on a pty too, where bytes carry no timing)."""
    raw.write(data)
    raw.flush()
    start = time.monotonic()
    while meter.line.garbage_bytes < len(data):
        assert time.monotonic() - start < BOUND_S, f"meter heard {meter.line} of noise"
        time.sleep(0.005)
    return start


# --- the meter emulator after noise -----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_meter_answers_the_first_request_after_noise(line, kind: str) -> None:
    _pair, meter, raw = line
    meter.set_values(voltage_l1=231.5)
    cpu = time.process_time()
    garbage = noise(kind)
    start = inject(meter, raw, garbage)
    raw.write(read_request(4, 0))  # 30001, as the twin polls it
    answer = raw.read(9)
    assert time.monotonic() - start < BOUND_S + silence_s(9600)
    assert answer[:3] == bytes((1, 4, 4)) and answer[7:] == crc16(answer[:7]), answer.hex()
    assert words_to_float(int.from_bytes(answer[3:5]), int.from_bytes(answer[5:7])) == 231.5
    raw.write(read_request(3, 20))  # holding 40021: the meter's id
    answer = raw.read(9)
    assert answer == adu(3, 4, *float_to_words(1.0)[0].to_bytes(2, "big"),
                         *float_to_words(1.0)[1].to_bytes(2, "big"))
    assert time.process_time() - cpu < CPU_S
    counters = meter.line
    assert counters.garbage >= 1 and counters.garbage_bytes == len(garbage)  # counted
    assert counters.frames == 2 and [p.register for p in meter.polls] == [30001, 40021]


@pytest.mark.parametrize("kind", KINDS)
def test_twin_master_reads_the_meter_after_noise(line, kind: str) -> None:
    pair, meter, raw = line
    meter.set_current(12.5)
    inject(meter, raw, noise(kind))
    master = ModbusMaster(port=pair.ports[1], clock=Clock(1.0), settings=SETTINGS, phases=1,
                          device=lambda: "meter")
    master._polling = "meter"

    async def cycle() -> None:
        try:
            await master.poll_once("meter")
        finally:
            await master.close()

    start = time.monotonic()
    asyncio.run(cycle())
    assert time.monotonic() - start < BOUND_S
    assert master.counters.answered == 1 and master.counters.errors == 0
    assert master.meter is not None and master.meter.current_a == [12.5]


def test_request_glued_to_noise_is_lost_and_the_next_after_silence_answered(line) -> None:
    """No silence, no new frame (as on a real meter): the request that follows noise
    without a gap is part of the garbage; the master's retry after a silence is not."""
    _pair, meter, raw = line
    raw.write(b"\x01\x10\x00\x00\x00\x7b\xf6" + read_request(4, 0))
    raw.timeout = 0.2
    assert raw.read(9) == b""
    raw.timeout = BOUND_S
    raw.write(read_request(4, 0))
    assert len(raw.read(9)) == 9
    assert meter.line.garbage == 1 and meter.line.garbage_bytes == 15


def test_back_to_back_requests_are_each_answered(line) -> None:
    """A complete frame is served at once, by its length: no silence needed between
    good frames (a master polling fast)."""
    _pair, meter, raw = line
    raw.write(read_request(4, 0) + read_request(4, 6) + read_request(4, 0, count=4))
    assert len(raw.read(9 + 9 + 13)) == 31
    assert [p.register for p in meter.polls] == [30001, 30007, 30001]
    assert meter.line.garbage == 0


# --- the twin's master facing garbage answers ---------------------------------------------


GOOD = 16.0


def good_answer(value: float = GOOD) -> bytes:
    hi, lo = float_to_words(value)
    return adu(4, 4, *hi.to_bytes(2, "big"), *lo.to_bytes(2, "big"))


class FakeMeter:
    """A slave on the far end that answers each request with what ``script`` says."""

    def __init__(self, port: str, script: Callable[[int, bytes], bytes]) -> None:
        self.port = port
        self.script = script
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._open.wait(5), f"fake meter could not open {port}"

    def _run(self) -> None:
        with serial.Serial(self.port, 9600, timeout=0.05) as port:
            self._open.set()
            request = b""
            while not self._stop.is_set():
                # Requests are 8 bytes; a read cut short by its timeout (a busy host)
                # keeps what it got, so the next read completes the same request.
                request += port.read(8 - len(request))
                if len(request) == 8:
                    self.requests.append(request)
                    port.write(self.script(len(self.requests), request))
                    request = b""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


def run_master(port: str, cycles: int, speed: float = 0.5) -> tuple[ModbusMaster, list[float]]:
    """``cycles`` poll cycles of the CT clamp (one request each); their wall times.
    At ``speed`` 0.5 the master waits 2 s for an answer: room for a loaded host (a
    4.5 KB garbage answer crosses the pty pair's copying thread first)."""
    master = ModbusMaster(port=port, clock=Clock(speed), settings=SETTINGS, phases=1,
                          device=lambda: "ct")
    master._polling = "ct"
    took: list[float] = []

    async def run() -> None:
        try:
            for _ in range(cycles):
                start = time.monotonic()
                await master.poll_once("ct")
                took.append(time.monotonic() - start)
        finally:
            await master.close()

    asyncio.run(run())
    return master, took


@pytest.mark.parametrize("kind", KINDS)
def test_master_reads_the_next_poll_after_a_garbage_answer(kind: str) -> None:
    garbage = noise(kind)
    with PtyPair() as pair:
        fake = FakeMeter(pair.ports[0], lambda n, _r: garbage if n == 1 else good_answer())
        cpu = time.process_time()
        try:
            master, took = run_master(pair.ports[1], 3)
        finally:
            fake.close()
    c = master.counters
    assert (c.polls, c.answered, c.garbage, c.timeouts) == (3, 2, 1, 0)
    assert c.stray_bytes == len(garbage)  # every byte of it counted, none taken
    assert master.household_a == [GOOD]
    assert max(took[1:]) < BOUND_S and time.process_time() - cpu < CPU_S


def test_master_finds_the_answer_after_noise_and_counts_late_bytes() -> None:
    """Noise before the answer on the same request, and noise after it (arriving
    between polls): the answer is read, the next poll too, and the noise counted."""
    prefix, suffix = noise("64 random bytes"), noise("bogus 7-byte header")
    with PtyPair() as pair:
        fake = FakeMeter(pair.ports[0], lambda n, _r: prefix + good_answer(n) + suffix)
        try:
            master, _took = run_master(pair.ports[1], 2)
        finally:
            fake.close()
    c = master.counters
    assert (c.answered, c.errors, c.stray_bytes) == (2, 0, 2 * (len(prefix) + len(suffix)))
    assert master.household_a == [2.0]


def test_answer_framer_takes_pymodbus_whole_buffer_and_returns_only_the_answer() -> None:
    """The contract with pymodbus 3.11's ``trace_packet``: it passes the request, then
    everything received since, growing; it drops the frame it decodes from the front."""
    framer = AnswerFramer()
    assert framer(True, read_request(4, 6)) == read_request(4, 6)
    answer = good_answer()
    buffer = b"\x01\x04\x04\x00" + b"\xff" * 3  # a false start, cut short
    assert framer(False, buffer) == b""
    buffer += answer[:4]
    assert framer(False, buffer) == b""
    buffer += answer[4:] + b"\x00\x01"
    assert framer(False, buffer) == answer
    assert framer(False, buffer[len(answer):] + b"\x02") == b""  # late: no request waits
    assert framer.received == len(buffer) + 1 and framer.stray == framer.received - len(answer)
    framer(True, read_request(4, 6))
    exception = adu(0x84, 2)
    assert framer(False, exception) == exception


# --- the framing rules, on the test's clock ---------------------------------------------


def framer() -> RtuFramer:
    from pymodbus.pdu import DecodePDU

    return RtuFramer(DecodePDU(True), silence_s(9600), LineCounters())


def test_silence_is_three_and_a_half_characters_with_a_floor_for_usb_adapters() -> None:
    assert silence_s(1200) == pytest.approx(3.5 * 11 / 1200)
    assert silence_s(9600) == SILENCE_FLOOR_S == silence_s(115200)


def test_a_header_cut_short_waits_for_the_silence_then_the_next_frame_is_served() -> None:
    f = framer()
    request = read_request(4, 0)
    assert f.feed(noise("bogus 7-byte header"), 0.0) == []
    assert f.feed(request, 0.005) == []  # no silence yet: still the bogus frame's bytes
    assert f.expire(0.01) > 0
    assert f.expire(0.03) == 0.0 and f.counters.garbage == 1
    assert f.feed(request, 0.1) == [request]
    assert f.counters == LineCounters(frames=1, garbage=1, garbage_bytes=15)


def test_a_late_read_still_sees_the_silence() -> None:
    """The silence timer may not have run (a busy loop): the gap before the new bytes
    ends the burst all the same."""
    f = framer()
    request = read_request(4, 0)
    f.feed(b"\x01\x10\x00\x00\x00\x7b\xf6", 0.0)
    assert f.feed(request, 1.0) == [request]


def test_a_frame_split_by_the_adapter_is_one_frame() -> None:
    f = framer()
    request = read_request(4, 0)
    assert f.feed(request[:3], 0.0) == []
    assert f.feed(request[3:], SILENCE_FLOOR_S * 0.8) == [request]


def test_noise_costs_constant_work_per_byte() -> None:
    f = framer()
    data = noise("65 KB random") * 4
    cpu = time.process_time()
    for i in range(0, len(data), 1024):
        assert f.feed(data[i:i + 1024], i * 1e-6) == []
    assert time.process_time() - cpu < 0.5
    f.expire(10.0)
    assert f.counters.garbage_bytes == len(data) and f.counters.frames == 0
