"""The ``rig`` command. Each subcommand is one entry of :data:`COMMANDS`.

A subcommand is a pair of small functions — one adds its arguments, one runs it
and returns the exit code — so others can add theirs without touching this
dispatcher. Errors meant for a person (:class:`~rig.errors.RigError`) are
printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evrig.rig.errors import RigError


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, how to add its arguments, how to run it."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", metavar="FILE", nargs="+", help="rig files to check")


def _run_check(args: argparse.Namespace) -> int:
    """Print "FILE: ok" or the one-line error for each file; 1 if any is wrong. An ok
    file that leaves something to the bench says so on the same line: what the virtual
    bench defaulted, which optional instruments are not on the bench. A pool file (a
    list of rig files, ``--rig-pool``) is checked as a pool: every rig file it lists,
    and the pool's rules (rig/rig_pool.py)."""
    from evrig.rig.config import load_rig
    from evrig.rig.config_rules import notes
    from evrig.rig.rig_pool import load_pool

    failed = False
    for file in args.files:
        try:
            if isinstance(_yaml_or_none(file), list):
                pool = load_pool(file)
                names = ", ".join(bench.name for bench in pool.benches)
                print(f"{file}: ok (a pool of {len(pool.benches)} benches: {names})")
                continue
            config = load_rig(file)
        except RigError as exc:
            print(exc)
            failed = True
        else:
            note = notes(config)
            print(f"{file}: ok ({note})" if note else f"{file}: ok")
    return 1 if failed else 0


def _yaml_or_none(file: str) -> object:
    """The file's YAML, or None where it does not parse (load_rig then says why)."""
    from evrig.rig.typed_yaml import load_yaml

    try:
        return load_yaml(file)
    except RigError:
        return None


def _configure_emulate(parser: argparse.ArgumentParser) -> None:
    from evrig.drivers.meter.cli import configure_meter  # light: pymodbus is imported on run

    sub = parser.add_subparsers(dest="instrument", metavar="INSTRUMENT", required=True)
    configure_meter(sub.add_parser(
        "meter", help="fake CT clamp / MID meter: a Modbus RTU slave on a serial port",
        description="Serve a CT clamp or Eastron SDM230/SDM630 register map as a Modbus "
                    "RTU slave until Ctrl-C, printing each poll."))


def _run_emulate(args: argparse.Namespace) -> int:
    from evrig.drivers.meter.cli import run_meter

    return run_meter(args)


def _configure_sim(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?", default=None,
                        help="a virtual-bench rig file or a shipped bench's name (sim, "
                             "sim-t2; default $RIG_FILE, else rigs/sim.yaml, else sim)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds (default: until Ctrl-C)")


def _run_sim(args: argparse.Namespace) -> int:
    """Start the rig of a virtual-bench file and keep it up: the twin boots against the
    mock CSMS; its web client's URL is printed (open it in a browser)."""
    import time

    from evrig.rig.assembly import Rig
    from evrig.rig.config import load_rig
    from evrig.rig.config_rules import check_environment, notes
    from evrig.rig.rig_files import find_rig_file

    args.file = find_rig_file(args.file)
    config = load_rig(args.file)
    if not config.virtual:
        print(f"rig sim: {args.file} is not a virtual bench (bench: virtual)", file=sys.stderr)
        return 2
    check_environment(config)
    if note := notes(config):
        print(f"rig sim: {args.file}: {note}", flush=True)
    rig = Rig(config)
    try:
        web = config.charger.web
        if rig.bench.web_url is not None and web is not None:
            print(f"charger web client: {rig.bench.web_url}/index.html "
                  f"(admin PIN: ${web.admin_pin_env})", flush=True)
        print(f"mock CSMS: {rig.csms.url}  (Ctrl-C stops)", flush=True)
        end = None if args.seconds is None else time.monotonic() + args.seconds
        while end is None or time.monotonic() < end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        rig.close()
    return 0


CALIBRATE = {"led": "evrig.drivers.led.calibrate", "camera": "evrig.drivers.camera.calibrate"}


def _configure_calibrate(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="instrument", metavar="INSTRUMENT", required=True)
    for module in CALIBRATE.values():
        _module(module).add_parser(sub)


def _run_calibrate(args: argparse.Namespace) -> int:
    return int(_module(CALIBRATE[args.instrument]).run_command(args))


COMMANDS: dict[str, Command] = {
    "check": Command("validate rig files (types, keys, wiring) without touching hardware",
                     _configure_check, _run_check),
    "sim": Command("run the virtual bench of a rig file until Ctrl-C (prints the URL of "
                   "the twin's web client)", _configure_sim, _run_sim),
    "emulate": Command("run one instrument of the bench on its own (meter)",
                       _configure_emulate, _run_emulate),
    "calibrate": Command("calibrate an instrument of a real bench (led: the ring's "
                         "colours; camera: the front panel's regions)",
                         _configure_calibrate, _run_calibrate),
    # EOL station (issue 6): rig/eol.py, rig/compare.py, rig/report.py
    "run": Command("run the end-of-line sequence of a unit (eol) or a firmware regression",
                   lambda p: _module("evrig.rig.eol_cli").configure_run(p),
                   lambda a: _module("evrig.rig.eol_cli").run_command(a)),
    "compare": Command("compare two runs: verdict changes, measurement drift, new findings",
                       lambda p: _module("evrig.rig.compare").configure(p),
                       lambda a: _module("evrig.rig.compare").run_command(a)),
    "report": Command("the production report of the results store (yield, Cpk, Pareto) "
                      "as one HTML file; --allure: the Allure report too",
                      lambda p: _module("evrig.rig.report").configure(p),
                      lambda a: _module("evrig.rig.report").run_command(a)),
    # operator's station (issue 15): rig/station.py and rig/station_*.py
    "station": Command("serve the operator's station page of a bench (scan, start, prompts, "
                       "PASS/FAIL, the shift's yield); prints its address",
                       lambda p: _module("evrig.rig.station").configure(p),
                       lambda a: _module("evrig.rig.station").run_command(a)),
    # results store: rig/store_cli.py (store_sql, store_schema, spool)
    "store": Command("the results database and the spool: status, upload, upgrade",
                     lambda p: _module("evrig.rig.store_cli").configure(p),
                     lambda a: _module("evrig.rig.store_cli").run_command(a)),
    # issue 16: rig/selftest.py (selftest_plan, selftest_report), sim/defects/
    "selftest": Command("inject each defect of the catalogue into the virtual bench and "
                        "show which testcases catch it (detection matrix, catch rate)",
                        lambda p: _module("evrig.rig.selftest").configure(p),
                        lambda a: _module("evrig.rig.selftest").run_command(a)),
}


def _module(name: str) -> Any:
    """Import a subcommand's module when used (rig.eol imports pytest)."""
    import importlib

    return importlib.import_module(name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rig", description="HIL test rig for AC EV chargers")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``rig`` and ``python -m evrig.rig``; returns the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser: its usage, not the top level's
        commands = _subparsers(parser)
        (commands.get(args.command) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except RigError as exc:
        print(f"rig {args.command}: {exc}", file=sys.stderr)
        return 1
