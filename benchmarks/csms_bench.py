"""Mock CSMS benchmarks (not timed tests; run by hand):

    .venv/bin/python benchmarks/csms_bench.py [--calls 500] [--max-cps 400] [--seconds 10]

1. Round trip: CSMS → charger twin → CSMS for a GetConfiguration CALL (median, p99).
2. Capacity: how many twin charge points, each sending a Heartbeat every second,
   one mock CSMS serves without a missed reply (no answer, or an answer later than
   the 1 s interval). Steps up the count until a step misses; target ≥ 200 on a
   2-core machine.

Everything runs at speed 1 (real seconds): the charge points are the same twin
firmware the virtual bench uses, connecting over real websockets.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocpp.v16 import call  # noqa: E402

from evrig.drivers.csms.history import CALL, CALLRESULT  # noqa: E402
from evrig.drivers.csms.server import MockCsms  # noqa: E402
from evrig.rig.clock import Clock  # noqa: E402
from evrig.rig.loop import LoopThread  # noqa: E402
from evrig.rig.profile import load_profile  # noqa: E402
from evrig.sim.charger.twin import ChargerTwin  # noqa: E402


def make_twins(n: int, csms: MockCsms, clock: Clock, bench: LoopThread) -> list[ChargerTwin]:
    profile = load_profile("evnet-7kw")
    twins = []
    for i in range(n):
        twin = ChargerTwin(
            profile=profile, variant="S", clock=clock, relays=lambda: {}, pp_ohms=lambda: None,
            csms_url=lambda: csms.url, charge_point_id=f"BENCH-{i:04d}", serial=f"B{i:06d}",
        )
        twins.append(twin)
    for twin in twins:
        bench.run(twin.power_on(), timeout=10)
    return twins


def power_off(twins: list[ChargerTwin], bench: LoopThread) -> None:
    async def _all() -> None:
        await asyncio.gather(*(t.power_off() for t in twins), return_exceptions=True)

    bench.run(_all(), timeout=60)


def round_trip(calls: int) -> tuple[float, float]:
    clock, rig_loop, bench = Clock(1.0), LoopThread("rig"), LoopThread("bench")
    csms = MockCsms(loop=rig_loop, clock=clock, charge_point_id="BENCH-0000",
                    heartbeat_interval=3600).start()
    twins = make_twins(1, csms, clock, bench)
    try:
        csms.wait_connected(10)
        csms.wait_for("StatusNotification", 10)
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            csms.call(call.GetConfiguration(key=["HeartbeatInterval"]), timeout=5)
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]
    finally:
        power_off(twins, bench)
        csms.stop()
        bench.stop()
        rig_loop.stop()


def capacity_step(n: int, seconds: float) -> tuple[bool, str]:
    clock, rig_loop, bench = Clock(1.0), LoopThread("rig"), LoopThread("bench")
    csms = MockCsms(loop=rig_loop, clock=clock, charge_point_id="BENCH-0000",
                    heartbeat_interval=1, accept_any=True).start()
    twins = make_twins(n, csms, clock, bench)
    try:
        deadline = time.monotonic() + 30
        while len(csms.sessions) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        connected = len(csms.sessions)
        time.sleep(2)  # let every boot and first status settle
        start = len(csms.history)
        time.sleep(seconds)
        frames = list(csms.history)[start:]
        asked = {m.unique_id: m for m in frames if m.message_type == CALL
                 and m.action == "Heartbeat" and m.direction == "in"}
        replies = {m.unique_id: m for m in frames if m.message_type == CALLRESULT
                   and m.direction == "out"}
        late = [u for u, m in asked.items()
                if u in replies and replies[u].timestamp - m.timestamp > 1.0]
        # Heartbeats asked in the last second may still be in flight: not misses.
        missing = [u for u, m in asked.items()
                   if u not in replies and m.timestamp < frames[-1].timestamp - 1.0]
        per_cp = len(asked) / max(1, n) / seconds
        ok = connected == n and not late and not missing and per_cp > 0.8
        return ok, (f"{n:4d} CPs: connected {connected}, {len(asked)} heartbeats "
                    f"({per_cp:.2f}/s per CP), late {len(late)}, unanswered {len(missing)}")
    finally:
        power_off(twins, bench)
        csms.stop()
        bench.stop()
        rig_loop.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--max-cps", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    median, p99 = round_trip(args.calls)
    print(f"round trip over {args.calls} GetConfiguration calls: "
          f"median {median:.2f} ms, p99 {p99:.2f} ms")
    best = 0
    for n in range(50, args.max_cps + 1, 50):
        ok, line = capacity_step(n, args.seconds)
        print(("ok   " if ok else "MISS ") + line, flush=True)
        if not ok:
            break
        best = n
    print(f"capacity: {best} simultaneous charge points with 1 s heartbeats, no missed reply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
