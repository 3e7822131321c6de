"""The mock CSMS side by side with the bare ``ocpp`` library, in one run:

    .venv/bin/python benchmarks/csms_capacity.py [--quick] [--window 60] [--trials 3]

* ours: ``MockCsms`` as a test uses it (every frame validated and recorded);
* bare: an ``ocpp.v16.ChargePoint`` subclass with ``@on`` handlers for
  BootNotification and Heartbeat, served with websockets (benchmarks/csms_load.py).

Capacity: how many lightweight charge points (a websocket each, BootNotification,
then a Heartbeat every second at a random phase) a server holds: every heartbeat in
the window answered within 1 s (``--late``), no connection lost. Probes double the
count over a short window until one fails, then ``--trials`` bisection steps over the
full window (60 s) per server, ours and bare interleaved. Round trip: a CSMS-initiated
GetConfiguration answered at once by one charge point, median and p90, called on the
server's loop (as the bare library is used) and through a test's API from another
thread (``csms.call``).

Each server, load generator and answering charge point is its own process; with two
or more cores the server is pinned to CPU 0 and the charge points to CPU 1, so the
load never takes the server's core. Default run about 9 minutes, ``--quick`` about 3.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import csms_load  # noqa: E402

CTX = mp.get_context("spawn")
TWO_CPUS = (os.cpu_count() or 1) >= 2
SERVER_CPU, LOAD_CPU = (0, 1) if TWO_CPUS else (None, None)


class Server:
    def __init__(self, impl: str) -> None:
        self.conn, child = CTX.Pipe()
        self.proc = CTX.Process(target=csms_load.server_main, args=(impl, child, SERVER_CPU))
        self.proc.start()
        if not self.conn.poll(30):
            raise RuntimeError(f"{impl} server did not start")
        self.url = f"ws://127.0.0.1:{self.conn.recv()}{csms_load.PATH}"

    def ask(self, cmd: str, arg: Any = None, timeout: float = 120) -> Any:
        self.conn.send((cmd, arg))
        if not self.conn.poll(timeout):
            raise RuntimeError(f"server did not answer {cmd}")
        return self.conn.recv()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(("stop", None))
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def trial(impl: str, n: int, window: float, late: float, warmup: float) -> dict[str, Any]:
    server = Server(impl)
    try:
        parent, child = CTX.Pipe()
        load = CTX.Process(target=csms_load.load_main,
                           args=(server.url, n, warmup, window, child, LOAD_CPU))
        load.start()
        if not parent.poll(window + warmup + 300):
            load.kill()
            raise RuntimeError("load generator gave no result")
        res: dict[str, Any] = parent.recv()
        load.join()
        res.update(server.ask("stats"))
    finally:
        server.stop()
    lat, lag = res["latencies"], res["lag"]
    n_late = sum(1 for x in lat if x > late)
    res["holds"] = res["connected"] == n and not res["misses"] and n_late == 0
    res["line"] = (
        f"{impl:4s} {n:5d} CPs over {window:4.0f} s: "
        f"{'holds' if res['holds'] else 'FAILS'}  connected {res['connected']} "
        f"in {res['connect_s']:.1f} s, {len(lat)} heartbeats ({len(lat) / n / window:.2f}/s"
        f" per CP), answer median {1000 * pct(lat, .5):.1f} ms p99 "
        f"{1000 * pct(lat, .99):.1f} ms max {1000 * max(lat, default=0):.0f} ms, "
        f"late {n_late}, missed {len(res['misses'])}; load generator's loop late max "
        f"{1000 * max(lag, default=0):.0f} ms; server RSS {res['rss_mb']:.0f} MB, "
        f"{res['frames']} frames recorded"
    )
    if res["misses"]:
        res["line"] += f"\n       first miss: {res['misses'][0]}"
    print(res["line"], flush=True)
    return res


def round_trips(impl: str, calls: int) -> dict[str, list[float]]:
    server = Server(impl)
    answerer = CTX.Process(target=csms_load.answerer_main, args=(server.url, LOAD_CPU))
    answerer.start()
    try:
        server.ask("rtt", 50)  # warm up: imports, validators, the first frames
        result: dict[str, list[float]] = server.ask("rtt", calls)
        return result
    finally:
        server.stop()
        answerer.kill()
        answerer.join()


def capacity(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Probe both servers, then bisect over the full window, interleaved."""
    state: dict[str, dict[str, Any]] = {}
    for impl in ("ours", "bare"):
        n, held, failed = args.start, 0, None
        while n <= args.max:
            if trial(impl, n, args.probe, args.late, 2)["holds"]:
                held = n
                n *= 2
            else:
                failed = n
                break
        # The full window holds no more than the probe: bisect below the probe's failure.
        state[impl] = {"lo": 0, "hi": failed, "next": held or (failed or 2) // 2,
                       "held": None, "failed": None}
    for _ in range(args.trials):
        for impl in ("ours", "bare"):
            st = state[impl]
            n = st["next"]
            res = trial(impl, n, args.window, args.late, args.warmup)
            st.setdefault("tries", {}).setdefault(n, []).append(res["holds"])
            if res["holds"]:
                st["lo"], st["held"] = n, res
            elif n != st["lo"] or not any(st["tries"][n]):
                st["hi"], st["failed"] = n, res  # a failed re-confirmation is only counted
            lo, hi = st["lo"], st["hi"]
            st["next"] = max(1, (lo + hi) // 2 if lo and hi else lo or n // 2)
            if lo and hi and hi - lo <= max(10, lo // 20):
                st["next"] = lo  # close enough: re-confirm rather than split hairs
    return state


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about 3 minutes: 15 s window")
    ap.add_argument("--window", type=float, default=60.0, help="capacity window, s")
    ap.add_argument("--probe", type=float, default=5.0, help="probe window, s")
    ap.add_argument("--trials", type=int, default=3, help="full-window trials per server")
    ap.add_argument("--start", type=int, default=250, help="first probe count")
    ap.add_argument("--max", type=int, default=4000, help="largest probe count")
    ap.add_argument("--late", type=float, default=1.0, help="an answer later than this, s, "
                    "is a miss")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--calls", type=int, default=500, help="round trips per route")
    args = ap.parse_args()
    if args.quick:
        args.window, args.probe, args.trials, args.calls = 15.0, 4.0, 2, 300
    t_start = time.monotonic()
    print(f"{os.cpu_count()} CPUs; server on CPU {SERVER_CPU}, charge points on CPU "
          f"{LOAD_CPU}; python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews both)",
          flush=True)
    rtt = {impl: round_trips(impl, args.calls) for impl in ("ours", "bare")}
    state = capacity(args)

    def cap(impl: str) -> str:
        st = state[impl]
        if not st["lo"]:
            return f"< {st['hi']}"
        tries = st["tries"][st["lo"]]
        held = f"{st['lo']} ({sum(tries)}/{len(tries)})"
        return f"{held} fails {st['hi']}" if st["hi"] else f">= {held}"

    rows = [(f"capacity, CPs held over {args.window:.0f} s", cap("ours"), cap("bare"),
             _ratio(state["ours"]["lo"], state["bare"]["lo"]))]
    for route, what in (("loop", "on the loop"), ("thread", "from a test thread")):
        for q, name in ((.5, "median"), (.9, "p90")):
            o, b = (1000 * pct(rtt[i][route], q) for i in ("ours", "bare"))
            rows.append((f"round trip {name}, ms, {what}", f"{o:.3f}", f"{b:.3f}",
                         _ratio(o, b)))
    print(f"\n(capacity: the count that held, in how many of the full-window trials at it; "
          f"'>=': no count tried failed, --max {args.max})")
    print(f"{'':42s} {'ours':>16s} {'bare':>16s} {'ours/bare':>10s}")
    for row in rows:
        print(f"{row[0]:42s} {row[1]:>16s} {row[2]:>16s} {row[3]:>10s}")
    for impl in ("ours", "bare"):
        held = state[impl]["held"]
        if held is not None:
            print(f"{impl}: at {held['n']} CPs, answer median "
                  f"{1000 * statistics.median(held['latencies']):.1f} ms, server RSS "
                  f"{held['rss_mb']:.0f} MB, {held['frames']} frames recorded")
    print(f"total {time.monotonic() - t_start:.0f} s; load average at the end "
          f"{os.getloadavg()[0]:.2f} (about 2 is this benchmark itself)")
    return 0


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if a and b else "-"


if __name__ == "__main__":
    sys.exit(main())
