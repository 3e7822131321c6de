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

from rig.errors import RigError


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, how to add its arguments, how to run it."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", metavar="FILE", nargs="+", help="rig files to check")


def _run_check(args: argparse.Namespace) -> int:
    """Print "FILE: ok" or the one-line error for each file; 1 if any is wrong."""
    from rig.config import load_rig

    failed = False
    for file in args.files:
        try:
            load_rig(file)
        except RigError as exc:
            print(exc)
            failed = True
        else:
            print(f"{file}: ok")
    return 1 if failed else 0


COMMANDS: dict[str, Command] = {
    "check": Command("validate rig files (types, keys, wiring) without touching hardware",
                     _configure_check, _run_check),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rig", description="HIL test rig for AC EV chargers")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``rig`` and ``python -m rig``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except RigError as exc:
        print(f"rig {args.command}: {exc}", file=sys.stderr)
        return 1
