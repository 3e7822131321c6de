"""Helpers of the store's tests and benchmarks/store_bench.py: unit records to write,
a station process, and a TCP proxy that plays a database going away and coming back."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

from evrig.rig import records
from evrig.rig.records import MeasurementRecord, StepRecord, UnitRecord
from evrig.rig.spool import Recorder


def unit(serial: str = "SN-1", station: str = "st-1", **kw: Any) -> UnitRecord:
    """A record the size of an EOL run's: 40 measurements, 12 steps."""
    fields: dict[str, Any] = {"operator": "op", "rig_file": "rigs/sim.yaml",
                              "profile": "evnet-7kw", "variant": "S", "outcome": "passed",
                              "firmware": "1.2.3", **kw}
    rec = UnitRecord(serial=serial, station=station, **fields)
    rec.measurements = [MeasurementRecord(f"m{i}", 230.0 + i / 10, "V", 220, 240, "PASS",
                                          f"step{i % 12}", float(i)) for i in range(40)]
    rec.steps = [StepRecord(f"step{i}", "passed", 1.5) for i in range(12)]
    return rec


def station(url: str, reports: str, n: int, name: str, barrier: Any, out: Any) -> None:
    """One station process: ``n`` unit records, each written as a station writes it —
    record.json, then the row through the station's open store, or the spool
    (rig/spool.py Recorder). Puts (name, run ids, start, end, stored) on ``out``."""
    recorder = Recorder(url)
    barrier.wait(timeout=60)  # every station starts writing at once
    start = time.perf_counter()
    ids, stored = [], 0
    for i in range(n):
        rec = unit(serial=f"{name}-{i:04d}", station=name)
        path = records.write_record(rec, records.run_dir(reports, rec.serial, rec.run_id))
        stored += recorder.deliver(rec, path)
        ids.append(rec.run_id)
    end = time.perf_counter()
    recorder.close()
    out.put((name, ids, start, end, stored))


class Proxy:
    """127.0.0.1:``port`` forwarded to ``target``. :meth:`down` closes the listener and
    cuts every open connection (connections are then refused, as from a stopped
    server); :meth:`up` listens on the same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)  # the accept loop looks at the stop flag this often
        self._listener, self._stop = listener, threading.Event()
        threading.Thread(target=self._accept, args=(listener, self._stop), daemon=True).start()

    def down(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return  # cut by down()
        finally:
            with self._lock:
                self._open.discard(a)
                self._open.discard(b)
            a.close()
            b.close()


def host_port(url: str) -> tuple[str, int]:
    hostport = url.split("@", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def via(url: str, proxy: Proxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    head, rest = url.split("@", 1)
    return f"{head}@127.0.0.1:{proxy.port}/{rest.split('/', 1)[1]}"


def spool_ids(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()
