"""A ``rig station`` process for the tests: started in a folder of its own (its
reports/ there), on a free port, stopped with SIGTERM as an init system would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIM = str(ROOT / "rigs" / "sim.yaml")
START_S = 90.0  # the station's start on a loaded 2-core machine (imports, store)


class StationProc:
    def __init__(self, folder: Path, rig: str = SIM, port: int = 0,
                 *extra: str, env: dict[str, str] | None = None) -> None:
        self.folder, self.rig, self.extra = folder, rig, list(extra)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.port = port
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> StationProc:
        cmd = [sys.executable, "-m", "evrig.rig", "station", "--rig", self.rig,
               "--port", str(self.port), "--operator", "ci", *self.extra]
        self.output = []
        self.proc = subprocess.Popen(cmd, cwd=self.folder, env=self.env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_S
        for line in self.proc.stdout:
            self.output.append(line)
            found = re.search(r"(http://\S+)", line)
            if found:
                self.url = found.group(1)
                self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
                break
            assert time.monotonic() < deadline, "".join(self.output)
        assert self.url, "station ended: " + "".join(self.output)
        threading.Thread(target=self._drain, daemon=True).start()  # never a full pipe
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "api/state", timeout=10) as reply:
            return dict(json.load(reply))

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then wait: the station stops its unit first (bounded)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
