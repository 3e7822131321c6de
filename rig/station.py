"""``rig station --rig FILE``: the operator's station, a page in a browser on the
line's machine (rig/station_app.py), each unit run by ``rig run eol`` underneath
(rig/station_child.py), so the record, certificate and trace are the same as from
the terminal, and stored in the same results store.

Decisions:

- **One station process per bench**: a lock file ``<reports>/station/<station>.lock``
  (``station`` of the rig file); a second station for the same bench is refused in one
  line naming the first one's pid and address. Two benches on one machine are two
  rig files and two ports: ``--port`` (default :data:`PORT`; 0 = any free port, the
  address printed says which) and ``--host`` (default 127.0.0.1: the page is for the
  screen of this machine; 0.0.0.0 serves the line's network too, where a page on
  another machine only watches — start, answer and abort are taken from this machine
  alone, rig/station_app.py).
- **Prompts** go to the page, on a real rig and on the virtual bench alike (an
  operator is there), and fail their step after ``--prompt-timeout`` wall seconds
  (default 120: rig/station_wire.py).
- **Shift** and yield: rig/station_history.py (``--shift-start``, default 06:00,
  14:00, 22:00 local time).
- **Every way out** (Ctrl-C, SIGTERM, an error) aborts a unit still running with
  SIGTERM and waits for it (bounded): the bench ends safe, the record says
  ``aborted``, and the next station shows it (rig/station_state.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from evrig.rig import process_lock
from evrig.rig.errors import RigError, one_line
from evrig.rig.records import safe_name
from evrig.rig.signals import signals_ignored
from evrig.rig.station_history import DEFAULT_SHIFTS, parse_shifts
from evrig.rig.station_wire import PROMPT_TIMEOUT_S

PORT = 8470  # fixed, so the line's screens keep one bookmark; a second bench: --port


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig", default=None,
                        help="rig file or a shipped bench's name (default $RIG_FILE, else "
                             "rigs/sim.yaml, else the shipped sim)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=PORT,
                        help=f"port (default {PORT}; 0: any free port; one per bench)")
    parser.add_argument("--operator", default=os.environ.get("USER", "operator"),
                        help="the operator's name in each record (default $USER)")
    parser.add_argument("--prompt-timeout", type=float, default=PROMPT_TIMEOUT_S,
                        metavar="S", help="seconds an operator prompt waits before its step "
                                          f"fails (default {PROMPT_TIMEOUT_S:g})")
    parser.add_argument("--shift-start", default=",".join(DEFAULT_SHIFTS), metavar="HH:MM,…",
                        help="local start times of the shifts, for the shift's yield "
                             f"(default {','.join(DEFAULT_SHIFTS)})")


def run_command(args: argparse.Namespace) -> int:
    from evrig.rig.config import load_rig
    from evrig.rig.config_rules import check_environment
    from evrig.rig.rig_files import find_rig_file

    rig_file = find_rig_file(args.rig)
    try:
        config = load_rig(rig_file)
        check_environment(config)
    except RigError as exc:
        print(one_line(exc, rig_file), file=sys.stderr, flush=True)
        return 3
    shifts = parse_shifts(args.shift_start)
    if args.prompt_timeout <= 0:
        raise RigError("--prompt-timeout: seconds, more than 0")
    cwd = Path.cwd()
    reports = cwd / config.reports.dir
    lock = process_lock.hold(reports / "station" / f"{safe_name(config.station)}.lock",
                             f"station {config.station} is already served: one station "
                             "process per bench")
    try:
        sock = _bind(args.host, args.port)
        url = f"http://{_shown_host(args.host)}:{sock.getsockname()[1]}/"
        process_lock.say(lock, url)
        return _serve(config, rig_file, args, reports, shifts, cwd, sock, url)
    finally:
        lock.close()


def _serve(config: Any, rig_file: str, args: argparse.Namespace, reports: Path,
           shifts: Any, cwd: Path, sock: socket.socket, url: str) -> int:
    import uvicorn

    from evrig.rig.station_app import build
    from evrig.rig.station_hub import Station

    station = Station(config=config, rig_file=rig_file, operator=args.operator,
                      reports=reports, prompt_timeout=args.prompt_timeout, shifts=shifts,
                      cwd=cwd)
    station.recover()
    station.refresh_history()
    server = uvicorn.Server(uvicorn.Config(
        build(station), log_level="warning", timeout_graceful_shutdown=3,
        lifespan="on", ws_ping_interval=10, ws_ping_timeout=10))
    # uvicorn re-raises the signal that stopped it once it has shut down: with these
    # handlers that is a KeyboardInterrupt here, not the end of the process before
    # the unit on the bench has been stopped
    previous = signal.signal(signal.SIGTERM, _interrupt)
    print(f"station {config.station} ({config.profile} {config.variant}, rig {rig_file}): "
          f"{url}  (Ctrl-C stops)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        with signals_ignored():  # a second Ctrl-C must not cut the unit's stop short
            outcome = station.shutdown()
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        print(f"station {config.station} stopped ({outcome})", flush=True)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart at once
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RigError(f"cannot serve on {host}:{port}: {exc.strerror or exc} (another "
                       "station on this machine? give each bench its own --port)") from None
    sock.listen(64)
    sock.set_inheritable(False)
    return sock


def _shown_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host
