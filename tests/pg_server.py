"""A throwaway PostgreSQL server for the store's tests and benchmarks/store_bench.py.

    python tests/pg_server.py [--durable]

starts a server in a new temporary folder, listening on 127.0.0.1 only (a free port,
password authentication), prints one line ``url postgresql://postgres:…@127.0.0.1:…/
postgres``, then waits for its standard input to close; then it stops the server and
removes the folder. Its parent (the pytest fixture, the benchmark) holds that input:
however the parent ends — teardown, an exception, Ctrl-C, SIGKILL — the kernel closes
the pipe and the server goes. The server is this process's child and gets SIGQUIT
(PostgreSQL's immediate shutdown) should this process die first (Linux).

The binaries: $EVRIG_PG_BIN, else those in the pgserver package's wheel (a dev
dependency: a fresh machine has them after ``make``), else ``pg_ctl``'s folder on PATH.
As root (CI, containers) the server runs as ``nobody``: PostgreSQL refuses root.

Not --durable (the tests): fsync and synchronous commit off — a throwaway server need
not survive a power cut, and 2 shared cores go further. --durable (the benchmark):
PostgreSQL's defaults, the figures a line's server would give.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

READY = "database system is ready to accept connections"


def binaries() -> Path:
    if folder := os.environ.get("EVRIG_PG_BIN"):
        return Path(folder)
    spec = importlib.util.find_spec("pgserver")  # located, not imported: no side effects
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent / "pginstall" / "bin"
        if (folder / "postgres").exists():
            return folder
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).resolve().parent  # Debian links /usr/local/bin → the version's
    raise SystemExit("no PostgreSQL binaries: install the dev extra (pgserver) or put "
                     "pg_ctl on PATH, or set EVRIG_PG_BIN")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> dict[str, Any]:
    """subprocess arguments to run as an unprivileged user when we are root."""
    return {"user": "nobody", "group": "nogroup", "extra_groups": []} \
        if hasattr(os, "geteuid") and os.geteuid() == 0 else {}


def _die_with_parent() -> None:
    """In the server's child before exec (this process has one thread: safe; nothing
    imported there): SIGQUIT when this process dies, however."""
    if _LIBC is not None:
        _LIBC.prctl(1, _SIGQUIT)  # PR_SET_PDEATHSIG


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_SIGQUIT = int(signal.SIGQUIT)


def start(bin_dir: Path, folder: Path, durable: bool) -> tuple[subprocess.Popen[bytes], str]:
    data, log_file, pwfile = folder / "data", folder / "server.log", folder / "pw"
    password = secrets.token_urlsafe(16)
    pwfile.write_text(password + "\n")
    user = _as_user()
    if user:
        shutil.chown(folder, "nobody", "nogroup")
        shutil.chown(pwfile, "nobody", "nogroup")
    os.chmod(pwfile, 0o600)
    subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                    f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
                    "--encoding=UTF8", "--locale=C", "--no-sync"],
                   check=True, capture_output=True, **user)
    pwfile.unlink()
    settings = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                "-c", "max_connections=100"]
    if not durable:
        settings += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"]
    for _attempt in range(5):  # another process may take the free port first
        port = _free_port()
        with open(log_file, "ab") as log:
            server = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), *settings],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent, **user)
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            if READY in log_file.read_text(errors="replace"):
                return server, f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
            time.sleep(0.05)
        if server.poll() is None:
            server.kill()
            server.wait()
            break
        server.wait()
    raise SystemExit(f"PostgreSQL did not start:\n{log_file.read_text(errors='replace')}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # fast shutdown: clients cut, no checkpoint wait
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _sweep() -> None:
    """Folders of runners that were killed themselves (SIGKILL skips their cleanup;
    their servers died with them): removed."""
    for folder in Path(tempfile.gettempdir()).glob("evrig-pg-*"):
        try:
            os.kill(int((folder / "runner.pid").read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue  # starting (no pid yet) or not ours to judge


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--durable", action="store_true")
    args = parser.parse_args()
    # SIGTERM and Ctrl-C end the wait like a closed input: stop and clean up
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _sweep()
    folder = Path(tempfile.mkdtemp(prefix="evrig-pg-"))
    (folder / "runner.pid").write_text(str(os.getpid()))
    server = None
    try:
        server, url = start(binaries(), folder, args.durable)
        print(f"url {url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # until the parent closes it or dies
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


class Server:
    """The parent's side: ``with Server() as url: …``."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        cmd = [sys.executable, str(Path(__file__).resolve())] + \
            (["--durable"] if self.durable else [])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the runner bounds its own start (60 s)
        if not line.startswith("url "):
            self.__exit__()
            raise RuntimeError(f"tests/pg_server.py did not start a server "
                               f"(exit {self.proc.returncode})")
        return line.split(" ", 1)[1].strip()

    def __exit__(self, *_exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
