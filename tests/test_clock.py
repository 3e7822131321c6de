"""The time base (rig/clock.py): spec time produced by the virtual bench."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from evrig.rig.bench_clock import BenchClock
from evrig.rig.clock import Clock
from evrig.rig.loop import LoopThread

SPEED = 20.0


@pytest.fixture
def bench():
    clock = BenchClock(SPEED)
    loop = LoopThread("clock-test", clock)
    yield clock, loop
    loop.stop()
    clock.close()


def test_spec_time_advances_at_about_the_speed(bench):
    clock, _ = bench
    t0, w0 = clock.now(), time.monotonic()
    time.sleep(0.5)
    rate = (clock.now() - t0) / (time.monotonic() - w0)
    assert 0.3 * SPEED < rate <= SPEED * 1.01


def test_a_busy_loop_holds_spec_time(bench):
    """While a bench loop cannot run (here: a callback blocks it for 0.3 s of wall
    time, 6 s of spec time at speed 20), spec time waits for it instead of jumping."""
    clock, loop = bench
    started = threading.Event()
    before: list[float] = []

    def block() -> None:
        before.append(clock.now())
        started.set()
        time.sleep(0.3)

    loop.call_soon(block)
    assert started.wait(2)
    time.sleep(0.25)
    during = clock.now() - before[0]
    assert during <= 2 * BenchClock.MAX_STEP_WALL * SPEED + 1e-9, \
        f"spec time moved {during:.3f} s while the loop was blocked"


def test_timers_fire_at_their_deadline_in_order(bench):
    """A timer runs with now() at its deadline: the ticker stops there and waits for
    the timer's loop before going on."""
    clock, loop = bench
    seen: list[tuple[str, float, float]] = []

    async def both() -> None:
        done = asyncio.Event()
        for name, s in (("late", 0.25), ("early", 0.1)):
            deadline = clock.now() + s  # the clock may step between these two lines
            clock.call_later(s, lambda n=name, d=deadline: seen.append((n, d, clock.now())))
        clock.call_later(0.3, done.set)
        await done.wait()

    loop.run(both(), timeout=5)
    assert [name for name, _, _ in seen] == ["early", "late"]
    step = BenchClock.MAX_STEP_WALL * SPEED
    for name, deadline, fired in seen:
        assert deadline <= fired <= deadline + step, (name, deadline, fired)


def test_wait_event_times_out_in_spec_seconds_and_sees_the_event(bench):
    clock, loop = bench

    async def run() -> tuple[bool, float, bool]:
        event = asyncio.Event()
        t0 = clock.now()
        timed_out = await clock.wait_event(event, 0.5)
        waited = clock.now() - t0
        asyncio.get_running_loop().call_soon(event.set)
        return timed_out, waited, await clock.wait_event(event, 10)

    timed_out, waited, seen = loop.run(run(), timeout=5)
    assert not timed_out and 0.5 <= waited <= 0.5 + BenchClock.MAX_STEP_WALL * SPEED and seen


def test_thread_sleep_and_wait_until(bench):
    clock, _ = bench
    t0 = clock.now()
    clock.sleep(1.0)
    assert clock.now() - t0 >= 1.0
    t1 = clock.now()
    assert not clock.wait_until(lambda: False, 0.5)
    assert clock.now() - t1 >= 0.5


def test_a_wedged_loop_does_not_stop_time():
    """A loop that stops answering is waited for SYNC_TIMEOUT_WALL once, then not until
    it answers: spec-time waits cannot hang, and the loop rejoins by itself."""
    clock = BenchClock(SPEED)
    clock.SYNC_TIMEOUT_WALL = 0.2
    wedged = LoopThread("wedged", clock)
    release = threading.Event()
    wedged.call_soon(lambda: release.wait(5))
    try:
        t0 = time.monotonic()
        clock.sleep(1.0)
        assert time.monotonic() - t0 < 2.0
        assert clock.lagging == 1  # waited for once, then not until it answers
        release.set()
        clock.sleep(0.5)  # answered: it is in the barrier again
        assert clock.lagging == 1
    finally:
        release.set()
        wedged.stop()
        clock.close()


def test_wall_clock_keeps_its_meaning():
    clock = Clock(10.0)
    t0 = clock.now()
    clock.sleep(0.5)
    assert 0.5 <= clock.now() - t0 < 1.5


def test_a_busy_test_thread_holds_spec_time(bench):
    """While the test's thread works (here: 0.3 s of wall time outside any spec-time
    wait, as a starved thread would), spec time waits for it; its own waits let time
    run, and waiting on a bench loop counts as waiting."""
    clock, loop = bench
    clock.attach_thread()
    t0 = clock.now()
    time.sleep(0.3)  # busy, as far as the clock knows
    assert clock.now() - t0 <= BenchClock.MAX_STEP_WALL * SPEED + 1e-9
    clock.sleep(1.0)
    assert clock.now() - t0 >= 1.0

    async def spec_pause() -> float:
        start = clock.now()
        await clock.asleep(0.5)
        return clock.now() - start

    assert loop.run(spec_pause(), timeout=5) >= 0.5  # no deadlock: run() is a wait


def test_a_hold_that_runs_out_lets_time_go_on():
    clock = BenchClock(SPEED)
    clock.HOLD_MAX_WALL = 0.1
    try:
        clock.attach_thread()
        t0 = clock.now()
        time.sleep(0.4)
        assert clock.now() - t0 > 0.1 * SPEED and clock.hold_lapses == 1
    finally:
        clock.close()


def test_a_paused_bench_stands_still_without_lapse_and_resumes_without_a_jump():
    """What the plugin does around a framework test that does not use the rig: spec
    time stands still however long (no HOLD_MAX_WALL lapse), and resumes at the speed,
    not by the wall time that passed."""
    clock = BenchClock(SPEED)
    clock.HOLD_MAX_WALL = 0.1
    try:
        t0 = clock.now()
        with clock.paused():
            time.sleep(0.4)
            assert clock.now() == t0 and clock.hold_lapses == 0
        resumed = time.monotonic()
        time.sleep(0.1)
        assert 0 < clock.now() - t0 <= ((time.monotonic() - resumed) * SPEED
                                        + BenchClock.MAX_STEP_WALL * SPEED)
    finally:
        clock.close()


def _goes_on(clock: BenchClock, since: float, spec_s: float, wall_s: float = 10.0) -> bool:
    """Spec time passes ``since + spec_s`` within ``wall_s`` wall seconds."""
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        if clock.now() - since > spec_s:
            return True
        time.sleep(0.01)
    return False


def test_bytes_in_flight_hold_spec_time_up_to_their_wall_cap():
    """A request on a virtual cable: spec time stands still until the flight ends (the
    answer was read, or the far end says nothing will come now), or until the wall cap
    when nobody ends it."""
    clock = BenchClock(SPEED)
    try:
        t0 = clock.now()
        with clock.in_flight(5.0, "rs485"):
            time.sleep(0.2)
            assert clock.now() == t0
        flight = clock.in_flight(5.0, "rs485")
        other = clock.in_flight(5.0, "can")
        clock.delivered("rs485")  # the meter heard it and stays silent
        other.end()
        # Spec time goes on again: waited for, not slept for — a busy machine may give
        # the ticker thread no CPU for a while (a bound, not a duration, is asserted).
        assert _goes_on(clock, t0, 0.1 * SPEED)
        flight.end()  # ending twice is harmless
        t1 = clock.now()
        with clock.in_flight(0.1, "rs485"):
            assert _goes_on(clock, t1, 0.1 * SPEED)  # capped: nobody at the far end
        assert clock.hold_lapses == 0
    finally:
        clock.close()


def test_within_gives_the_result_or_times_out_in_spec_seconds(bench):
    clock, loop = bench

    async def run() -> tuple[str, float]:
        async def slow() -> str:
            await clock.asleep(5)
            return "late"

        fast = await clock.within(asyncio.sleep(0, result="ok"), 1)
        t0 = clock.now()
        with pytest.raises(TimeoutError):
            await clock.within(slow(), 0.5)
        return fast, clock.now() - t0

    fast, waited = loop.run(run(), timeout=5)
    assert fast == "ok" and 0.5 <= waited <= 0.5 + BenchClock.MAX_STEP_WALL * SPEED
