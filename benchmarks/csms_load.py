"""The processes of benchmarks/csms_capacity.py: the two servers and the two kinds of
charge point (not a benchmark by itself).

* :func:`server_main` serves OCPP 1.6J on a port with either the mock CSMS
  (``ours``: ``MockCsms``, every frame validated and recorded, as in a test) or a
  bare ``ocpp`` library central system (``bare``: a ``ChargePoint`` subclass with
  ``@on`` handlers for BootNotification and Heartbeat, served with websockets, the
  library's defaults otherwise). It answers commands on a pipe: round trips of a
  CSMS-initiated GetConfiguration, its memory, stop.
* :func:`answerer_main` is the one charge point that answers those calls.
* :func:`load_main` runs N lightweight charge points (a websocket each: a
  BootNotification, then a Heartbeat every second) and reports how late each answer
  was within the measuring window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RTT_CP = "RTT-CP"
PATH = "/ocpp/"
BOOT = {"chargePointVendor": "Bench", "chargePointModel": "Light"}


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- servers -----------------------------------------------------------------------
def server_main(impl: str, conn: Connection, cpu: int | None) -> None:
    """Serve until told to stop; ``conn`` carries the port, then commands/answers."""
    _pin(cpu)
    from evrig.rig.loop import LoopThread

    loop = LoopThread("server")
    server: Any = _Ours(loop) if impl == "ours" else _Bare(loop)
    conn.send(server.port)
    try:
        while True:
            cmd, arg = conn.recv()
            if cmd == "stop":
                break
            if cmd == "rtt":
                conn.send(server.round_trips(arg))
            elif cmd == "stats":
                conn.send({"rss_mb": rss_mb(), **server.stats()})
    finally:
        server.stop()
        loop.stop()


def _get_configuration() -> Any:
    from ocpp.v16 import call

    return call.GetConfiguration(key=["HeartbeatInterval"])


class _Ours:
    def __init__(self, loop: Any) -> None:
        from evrig.drivers.csms.server import MockCsms
        from evrig.rig.clock import Clock

        self.loop = loop
        self.clock = Clock(1.0)
        self.csms = MockCsms(loop=loop, clock=self.clock, charge_point_id=RTT_CP,
                             heartbeat_interval=1, accept_any=True, path=PATH).start()
        self.port = self.csms.port

    def round_trips(self, n: int) -> dict[str, list[float]]:
        """``n`` calls through the test's API (csms.call from this thread), then
        ``n`` on the loop itself (the session's call, as the bare library is used)."""
        self.csms.wait_connected(10)
        via_api = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.csms.call(_get_configuration(), timeout=5)
            via_api.append(time.perf_counter() - t0)
        session = self.csms.sessions[RTT_CP]

        async def in_loop() -> list[float]:
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                await session.call_raced(_get_configuration(), self.clock, 5)
                out.append(time.perf_counter() - t0)
            return out

        self.csms.history.clear()  # only the answerer's frames: not part of the test
        return {"thread": via_api, "loop": self.loop.run(in_loop(), timeout=60)}

    def stats(self) -> dict[str, Any]:
        return {"frames": len(self.csms.history), "findings": len(self.csms.findings)}

    def stop(self) -> None:
        self.csms.stop()


class _Bare:
    def __init__(self, loop: Any) -> None:
        from ocpp.routing import on
        from ocpp.v16 import ChargePoint, call_result
        from ocpp.v16.enums import Action, RegistrationStatus
        from websockets.asyncio.server import ServerConnection, serve

        class CentralSystem(ChargePoint):
            @on(Action.boot_notification)
            def on_boot(self, **_: Any) -> Any:
                return call_result.BootNotification(
                    current_time=_now(), interval=1, status=RegistrationStatus.accepted)

            @on(Action.heartbeat)
            def on_heartbeat(self, **_: Any) -> Any:
                return call_result.Heartbeat(current_time=_now())

        self.loop = loop
        self.cps: dict[str, Any] = {}

        async def handle(conn: ServerConnection) -> None:
            assert conn.request is not None
            cp = CentralSystem(conn.request.path[len(PATH):], conn)
            self.cps[cp.id] = cp
            with contextlib.suppress(Exception):  # a closed connection ends the session
                await cp.start()

        async def start() -> Any:
            return await serve(handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                               compression=None)

        self.server = loop.run(start())
        self.port = self.server.sockets[0].getsockname()[1]

    def round_trips(self, n: int) -> dict[str, list[float]]:
        deadline = time.monotonic() + 10
        while RTT_CP not in self.cps and time.monotonic() < deadline:
            time.sleep(0.01)
        cp = self.cps[RTT_CP]
        via_thread = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.loop.run(cp.call(_get_configuration()), timeout=5)
            via_thread.append(time.perf_counter() - t0)

        async def in_loop() -> list[float]:
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                await cp.call(_get_configuration())
                out.append(time.perf_counter() - t0)
            return out

        return {"thread": via_thread, "loop": self.loop.run(in_loop(), timeout=60)}

    def stats(self) -> dict[str, Any]:
        return {"frames": 0, "findings": 0}

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        self.loop.run(close(), timeout=10)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- charge points -----------------------------------------------------------------
async def _connect(url: str, cp_id: str) -> Any:
    from websockets.asyncio.client import connect

    return await connect(url + cp_id, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                         compression=None, open_timeout=60, ping_interval=None,
                         max_queue=None)


def answerer_main(url: str, cpu: int | None) -> None:
    """The charge point that answers every CSMS call (GetConfiguration) at once."""
    _pin(cpu)
    answer = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                    "value": "1"}]}

    async def run() -> None:
        ws = await _connect(url, RTT_CP)
        await ws.send(json.dumps([2, "boot", "BootNotification", BOOT]))
        async for raw in ws:
            frame = json.loads(raw)
            if frame[0] == 2:
                await ws.send(json.dumps([3, frame[1], answer]))

    with contextlib.suppress(Exception):  # the server stopped: done
        asyncio.run(run())


def load_main(url: str, n: int, warmup: float, window: float, conn: Connection,
              cpu: int | None) -> None:
    """``n`` charge points; sends back the lateness of every heartbeat answer in the
    window (None: unanswered), how late this process's own loop was, and connects."""
    _pin(cpu)
    conn.send(asyncio.run(_load(url, n, warmup, window)))


async def _load(url: str, n: int, warmup: float, window: float) -> dict[str, Any]:
    connected = attempted = 0
    gate = asyncio.Semaphore(50)
    ready = asyncio.Event()
    start: list[float] = []  # the window's start, once every client booted
    latencies: list[float] = []
    misses: list[str] = []
    lag: list[float] = []

    async def client(i: int) -> None:
        nonlocal connected, attempted
        cp_id = f"CP-{i:05d}"
        ws = None
        async with gate:
            try:
                ws = await _connect(url, cp_id)
                await ws.send(json.dumps([2, f"{cp_id}-b", "BootNotification", BOOT]))
                await asyncio.wait_for(ws.recv(), 30)
                connected += 1
            except Exception as exc:  # noqa: BLE001 - counted as not connected
                misses.append(f"{cp_id}: connect/boot {type(exc).__name__}")
            attempted += 1
            if attempted == n:
                start.append(time.monotonic() + warmup)
                ready.set()
        if ws is None:
            return
        await ready.wait()
        t0, end = start[0], start[0] + window
        due = time.monotonic() + random.random()  # noqa: S311 - spreading phases
        k = 0
        try:
            while due < end:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                sent = time.monotonic()
                k += 1
                await ws.send(f'[2,"{cp_id}-{k}","Heartbeat",{{}}]')
                try:
                    raw = await asyncio.wait_for(ws.recv(), 5)
                except TimeoutError:
                    raw = None
                if sent >= t0:
                    if raw is None or json.loads(raw)[1] != f"{cp_id}-{k}":
                        misses.append(f"{cp_id}: heartbeat {k} unanswered")
                        break
                    latencies.append(time.monotonic() - sent)
                due += 1.0
        except Exception as exc:  # noqa: BLE001 - a dropped connection is a miss
            misses.append(f"{cp_id}: {type(exc).__name__} {exc}")
        finally:
            await ws.close()

    async def monitor() -> None:  # how late this process's own loop runs
        await ready.wait()
        while time.monotonic() < start[0] + window:
            t = time.monotonic()
            await asyncio.sleep(0.05)
            if t >= start[0]:
                lag.append(time.monotonic() - t - 0.05)

    t_connect = time.monotonic()
    tasks = [asyncio.create_task(monitor())]
    tasks += [asyncio.create_task(client(i)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 120) if n else None
    connect_s = time.monotonic() - t_connect
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"n": n, "connected": connected, "connect_s": connect_s,
            "latencies": latencies, "misses": misses, "lag": lag}
