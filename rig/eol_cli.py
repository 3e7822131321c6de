"""``rig run eol`` and ``rig run regression`` as a command: its arguments, and its exit
codes (:data:`rig.eol.EXIT`). A bad rig file or a secret missing from the environment is
one line, ``rig file FILE: key: fix``, and exit code 3 (error: the unit was not tested),
before any record is written or any instrument touched. The run itself: :mod:`rig.eol`.

``--events``, ``--answers`` and ``--prompt-timeout`` are the operator station's wire
(rig/station_wire.py): ``rig station`` starts one ``rig run eol`` per unit with them.
Without them the command prints and asks exactly as before.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from evrig.rig.eol import EXIT, run
from evrig.rig.errors import RigError, one_line
from evrig.rig.rig_files import find_rig_file
from evrig.rig.station_wire import PROMPT_TIMEOUT_S


def testcases_dir() -> Path:
    """The testcases of the project the command runs in (the current folder), else
    an importable ``testcases`` package."""
    local = Path.cwd() / "testcases"
    if (local / "__init__.py").exists():
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))  # as pytest's rootdir conftest would
        return local
    spec = importlib.util.find_spec("evrig.testcases")
    if spec is None or not spec.submodule_search_locations:
        raise RigError("no testcases/ folder here and no importable testcases package: "
                       "run from the project folder")
    return Path(next(iter(spec.submodule_search_locations)))


def configure_run(parser: Any) -> None:
    parser.add_argument("what", choices=["eol", "regression"],
                        help="eol: the end-of-line sequence of one unit; regression: every "
                             "testcase, the record kept per firmware")
    parser.add_argument("--serial", help="the unit's serial number (eol: required)")
    parser.add_argument("--operator", default=os.environ.get("USER", "operator"),
                        help="the operator's name in the record (default $USER)")
    parser.add_argument("--firmware", help="regression: the firmware version under test; the "
                                           "unit must report it, else nothing is filed")
    parser.add_argument("--install", metavar="IMAGE",
                        help="regression: when the unit reports another firmware, install "
                             "IMAGE through OCPP UpdateFirmware first and check again")
    parser.add_argument("--rig", default=None,
                        help="rig file or a shipped bench's name (sim, sim-t2; default "
                             "$RIG_FILE, else rigs/sim.yaml, else the shipped sim)")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="only the steps matching EXPR (pytest -k): a partial run")
    parser.add_argument("--events", metavar="FILE|fd:N",
                        help="also write what the run does as JSON lines (run, steps, each "
                             "measurement, prompts, verdict) to FILE or an open descriptor")
    parser.add_argument("--answers", metavar="FIFO|fd:N",
                        help="ask the operator prompts as events and read the answers as JSON "
                             "lines {\"id\": N, \"answer\": \"y\"} from here (needs --events; "
                             "the operator's station uses it)")
    parser.add_argument("--prompt-timeout", type=float, default=PROMPT_TIMEOUT_S,
                        metavar="S", help="with --answers: wall seconds a prompt waits for "
                                          f"its answer before its step fails (default "
                                          f"{PROMPT_TIMEOUT_S:g})")


def _select(args: Any) -> list[str]:
    return ["-k", args.select] if args.select else []


def _what(args: Any) -> tuple[str, str]:
    """(kind, serial) of the run the arguments ask for; RigError when one is missing."""
    if getattr(args, "install", None) and args.what != "regression":
        raise RigError("--install IMAGE is for a regression run (rig run regression)")
    if args.what == "eol":
        if not args.serial:
            raise RigError("--serial SN is required (the unit's serial number)")
        return "eol", args.serial
    if not args.firmware:
        raise RigError("--firmware VERSION is required for a regression run")
    return "regression", args.serial or "regression"


def run_command(args: Any) -> int:
    """Exit code as in :data:`EXIT`. A bad rig file or a missing secret is one line
    (``rig file FILE: key: fix``) and exit code 3 (error: the unit was not tested)."""
    try:
        args.rig = find_rig_file(args.rig)
        kind, serial = _what(args)
    except RigError as exc:  # a usage error: the unit was not tested, not failed
        print(f"rig run: {exc}", file=sys.stderr, flush=True)
        return EXIT["error"]
    try:
        code, _ = run(kind, rig_file=args.rig, serial=serial, operator=args.operator,
                      testcases=testcases_dir(),
                      firmware=args.firmware if kind == "regression" else None,
                      extra_args=_select(args), install=getattr(args, "install", None),
                      events=getattr(args, "events", None),
                      answers=getattr(args, "answers", None),
                      prompt_timeout=getattr(args, "prompt_timeout", PROMPT_TIMEOUT_S))
    except RigError as exc:
        print(one_line(exc, args.rig), file=sys.stderr, flush=True)
        return EXIT["error"]
    return code
