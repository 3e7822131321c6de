"""Running the interop tests' JavaScript: ocpp-rpc installed once per machine, and a
node process read line by line, every wait bounded, always ended.

Why the install lives with the tests: ocpp-rpc is a test oracle (an OCPP 1.6J
implementation written by others), not a dependency of the rig; it comes pinned by
``tests/interop/package-lock.json`` and goes into ``.venv/interop-node/<lock digest>/``
(ignored by git, like the rest of ``.venv``), so a second run, and every other xdist
worker, reuses it. ``npm ci`` runs under a file lock in a staging folder renamed into
place when complete, so a reader sees a whole install or none, and a killed install
leaves nothing a later run would trust. Only a machine without node or npm skips; an
install that fails fails the test with npm's own message.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pytest

from evrig.rig.clock import Clock

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent.parent / ".venv" / "interop-node"
OCPP_RPC_VERSION = "2.2.1"  # as pinned in package.json / package-lock.json
NPM_TIMEOUT_S = 240.0  # a cold npm cache on a slow network; a warm one takes ~2 s
LOCK_TIMEOUT_S = NPM_TIMEOUT_S + 60.0  # another worker's install, at most
NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]

Event = dict[str, Any]


def require_node() -> None:
    """Skip, saying why, where node or npm is missing: the one reason to skip."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the OCPP interop tests run ocpp-rpc, a Node.js package: "
                    f"{' and '.join(missing)} not found on PATH")


def ocpp_rpc_modules() -> Path:
    """The ``node_modules`` folder holding ocpp-rpc, installed by ``npm ci`` from the
    committed lock file on first use (per machine and lock file), reused afterwards."""
    require_node()
    manifests = [(HERE / name).read_bytes() for name in ("package.json", "package-lock.json")]
    target = CACHE / hashlib.sha256(b"\0".join(manifests)).hexdigest()[:16]
    if not _installed(target):
        CACHE.mkdir(parents=True, exist_ok=True)
        with _locked(CACHE / "install.lock"):
            if not _installed(target):  # another worker may have finished meanwhile
                _install(target)
    return target / "node_modules"


def _installed(target: Path) -> bool:
    return (target / "node_modules" / "ocpp-rpc" / "package.json").is_file()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{path} stayed locked for {LOCK_TIMEOUT_S:.0f} s: another "
                                "process's npm ci of ocpp-rpc did not finish", pytrace=False)
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install(target: Path) -> None:
    for stale in target.parent.glob(f"{target.name}.partial-*"):  # a killed install's
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    command = " ".join(NPM_CI)
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, staging / name)
        try:
            done = subprocess.run(NPM_CI, cwd=staging, capture_output=True, text=True,
                                  timeout=NPM_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"`{command}` (installing ocpp-rpc for the interop tests) did not "
                        f"finish within {NPM_TIMEOUT_S:.0f} s:\n{_text(exc.stderr)}",
                        pytrace=False)
        if done.returncode != 0:
            pytest.fail(f"`{command}` (installing ocpp-rpc for the interop tests) failed "
                        f"with exit code {done.returncode}:\n"
                        f"{(done.stderr.strip() or done.stdout.strip())}", pytrace=False)
        installed = json.loads(
            (staging / "node_modules" / "ocpp-rpc" / "package.json").read_text())["version"]
        if installed != OCPP_RPC_VERSION:
            pytest.fail(f"npm ci installed ocpp-rpc {installed}, the tests expect "
                        f"{OCPP_RPC_VERSION}: update tests/interop/package*.json together",
                        pytrace=False)
        staging.chmod(0o755)  # mkdtemp made it private; the install is not a secret
        os.rename(staging, target)  # atomic: whole or absent
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


class NodeScript:
    """``node tests/interop/<script> ARGS``: JSON events from its stdout (a reader
    thread collects them), JSON commands to its stdin, stderr to ``log``. Use it as a
    context manager: leaving the block kills the process if it still runs."""

    def __init__(self, script: str, args: list[str], modules: Path, log: Path) -> None:
        self.name = script
        self.log = log
        self._stderr: IO[str] = log.open("w")
        self.proc = subprocess.Popen(
            ["node", str(HERE / script), *args], cwd=HERE, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            env={**os.environ, "NODE_PATH": str(modules)},
        )
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._eof = threading.Event()
        self._reader = threading.Thread(target=self._read, name=f"node {script}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "stdout", "text": line.rstrip()}
            with self._lock:
                self.events.append(event)
        self._eof.set()

    def __enter__(self) -> NodeScript:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._reader.join(timeout=5)
        self._stderr.close()

    # -- reading ---------------------------------------------------------------------
    def find(self, event: str, **match: Any) -> list[Event]:
        """The events named ``event`` whose fields equal ``match``, oldest first."""
        with self._lock:
            return [e for e in self.events if e.get("event") == event
                    and all(e.get(k) == v for k, v in match.items())]

    def first(self, event: str, **match: Any) -> Event | None:
        found = self.find(event, **match)
        return found[0] if found else None

    def wait(self, ready: Callable[[], Any], what: str, timeout_s: float,
             clock: Clock | None = None) -> Any:
        """Wait until ``ready()`` returns something truthy (returned) for at most
        ``timeout_s`` wall seconds; fail naming ``what`` with the script's last words.
        With ``clock`` (a virtual bench's) spec time runs while waiting: the charger
        on the bench only moves while the test's thread waits."""
        deadline = time.monotonic() + timeout_s

        def over() -> bool:
            return bool(ready()) or self._eof.is_set() or time.monotonic() >= deadline

        if clock is None:
            while not over():
                time.sleep(0.02)
        else:
            clock.wait_until(over, timeout=1e9)
        result = ready()
        if not result:
            state = ("it exited with code " + str(self.proc.poll())
                     if self._eof.is_set() else f"still running after {timeout_s:g} s")
            raise AssertionError(f"{self.name}: no {what}; {state}\n{self.tail()}")
        return result

    def tail(self, events: int = 15) -> str:
        with self._lock:
            last = [json.dumps(e)[:400] for e in self.events[-events:]]
        self._stderr.flush()
        stderr = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        return ("last events:\n  " + "\n  ".join(last or ["(none)"])
                + (f"\nstderr:\n{stderr}" if stderr.strip() else ""))

    # -- writing ---------------------------------------------------------------------
    def send(self, command: Event) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise AssertionError(f"{self.name} no longer reads its commands\n"
                                 f"{self.tail()}") from None

    def summary(self, timeout_s: float, clock: Clock | None = None) -> Event:
        """Close its stdin (the script's cue to finish), then its summary event."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        summary: Event = self.wait(lambda: self.first("summary"), "summary", timeout_s, clock)
        return summary
