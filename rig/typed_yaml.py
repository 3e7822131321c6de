"""YAML → frozen dataclasses, with one readable message per mistake.

Rig files and profiles are written by people at a bench, not by programmers.
A silent default or a ``KeyError`` three modules away costs an afternoon, so
this converter walks the dataclass type hints and stops at the first mistake
with a :class:`~rig.errors.RigFileError` that names the file, the key path
(``instruments.ev.pins.r_b``) and what was expected.

Supported hints: ``str``, ``int``, ``float``, ``bool`` (never taken for an
int: ``true`` is not 1 here), ``datetime.date``, ``X | None``, ``Literal[...]``, ``list[X]``,
``dict[K, V]`` and nested dataclasses. ``Annotated[X, Check(...)]`` adds a
value check whose message is shown as is. Dataclasses may declare
``_rejected_keys: ClassVar[dict[str, str]]`` — keys that people write by
mistake, with the message to show instead of "unknown key" (e.g. a PIN that
belongs in an environment variable). Fields whose metadata is
:data:`NOT_IN_FILE` are set by the loader and rejected in the file.

Tables of a manual (profiles) add: ``tuple[X, ...]`` and ``tuple[A, B]``; a
dataclass ``X`` with ``_key: ClassVar[str]`` in a ``dict[str, X]`` gets that field
from the mapping's key (so the file does not repeat it); with ``_list_key`` a
``dict[K, X]`` is written as a list, each entry keyed by that field (unique);
``_needs_one_of: ClassVar[tuple[tuple[str, ...], str]]`` demands at least one of
the keys (e.g. a ``source:`` or a ``note:``), with the message given; a
``__post_init__`` check raises :class:`Invalid` (key, expected) and the loader adds
the file and the key path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import difflib
import functools
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from evrig.rig.errors import RigFileError

T = TypeVar("T")

NOT_IN_FILE: Mapping[str, bool] = types.MappingProxyType({"typed_yaml.not_in_file": True})
"""Field metadata for values the loader fills in (e.g. the file's own path)."""


class Invalid(ValueError):
    """Raised by a dataclass's ``__post_init__`` check: ``key`` (relative to the
    dataclass, "" for itself) and what was expected; the loader adds file and path."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(expected)
        self.key = key
        self.expected = expected


@dataclasses.dataclass(frozen=True)
class Check:
    """A value check for ``Annotated[X, Check(...)]``, run after the type is right.

    ``test`` returns None when the value is fine, else the whole message
    (without the key path). ``expected`` describes good values; it is used
    when the key is missing or a union of types does not match.
    """

    test: Callable[[Any], str | None]
    expected: str
    echo: bool = True  # False: never repeat the value in a message (it may be a secret)

    @classmethod
    def where(cls, ok: Callable[[Any], bool], expected: str, *, echo: bool = True) -> Check:
        """A check from a predicate. ``echo=False`` keeps a (possibly secret) value
        out of the message."""

        def test(value: Any) -> str | None:
            if ok(value):
                return None
            return f"expected {expected}, got {shown(value)}" if echo else f"expected {expected}"

        return cls(test, expected, echo)


def between(low: float, high: float, what: str | None = None) -> Check:
    """Inclusive range check: ``Annotated[int, between(0, 27)]``."""
    expected = what or f"a value from {low} to {high}"
    return Check.where(lambda v: low <= v <= high, expected)


def shown(value: Any) -> str:
    """A value as the person wrote it in YAML, short enough for one line."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(tp: Any) -> str:
    """What a type hint accepts, in words ("an integer", "one of 'sim', 'rpi'")."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        checks = [m for m in tp.__metadata__ if isinstance(m, Check)]
        return checks[-1].expected if checks else describe(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arm) for arm in typing.get_args(tp))
    if origin is Literal:
        choices = ", ".join(_literal(a) for a in typing.get_args(tp))
        return f"one of {choices}" if len(typing.get_args(tp)) > 1 else choices
    if origin is list:
        return f"a list (each item {describe(typing.get_args(tp)[0])})"
    if origin is dict:
        return f"a mapping (each value {describe(typing.get_args(tp)[1])})"
    if _is_dataclass(tp):
        return f"a mapping with keys {', '.join(_file_fields(tp))}"
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             type(None): "nothing", datetime.date: "a date written YYYY-MM-DD"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def from_data(cls: type[T], data: Any, *, file: str, path: str = "") -> T:
    """Build dataclass ``cls`` from parsed YAML ``data``; raise RigFileError on the
    first mistake. ``file`` and ``path`` only shape the messages."""
    result: T = _Converter(file).value(cls, data, path)
    return result


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; every failure (missing file, syntax error with its line,
    a key given twice) is a RigFileError naming the file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RigFileError(file, "", "no such file") from None
    except IsADirectoryError:
        raise RigFileError(file, "", "is a directory; expected a YAML file") from None
    except UnicodeDecodeError:
        raise RigFileError(file, "", "is not UTF-8 text; expected a YAML file") from None
    except OSError as exc:
        raise RigFileError(file, "", f"cannot be read ({exc.strerror})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        raise RigFileError(file, "", _yaml_problem(exc)) from None
    except yaml.YAMLError as exc:
        raise RigFileError(file, "", f"YAML syntax error: {exc}") from None


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """"line 4, column 6: ..." plus where the unfinished construct began, since the
    parser notices a missing bracket only lines after the mistake."""
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
    problem = exc.problem or exc.context or "unreadable"
    if exc.context and exc.context_mark and exc.problem_mark \
            and exc.context_mark.line != exc.problem_mark.line:
        problem += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
    if isinstance(exc, _DuplicateKey):
        return f"{where}: {problem}"
    return f"YAML syntax error at {where}: {problem}"


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping.

    Plain YAML keeps the last one silently — a bench then runs with a value
    nobody meant, which is exactly the failure a rig file must never have.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key; the base class reports it
                continue
            if first != key_node.start_mark.line + 1:
                raise _DuplicateKey(
                    None, None, f"key {key!r} is given twice (first on line {first})",
                    key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _literal(value: Any) -> str:
    return repr(value) if isinstance(value, str) else shown(value)


def _is_dataclass(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


@functools.cache
def _file_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The fields a file may set, in declaration order."""
    return {f.name: f for f in dataclasses.fields(cls)
            if f.init and not f.metadata.get("typed_yaml.not_in_file")}


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _suggest(word: Any, choices: list[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shape_fits(tp: Any, value: Any) -> bool:
    """Whether ``value`` has the outer shape of ``tp`` (used to pick which arm of a
    union to blame when none converts)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _shape_fits(typing.get_args(tp)[0], value)
    if origin is Literal:
        return any(type(value) is type(a) and value == a for a in typing.get_args(tp))
    if origin is list:
        return isinstance(value, list)
    if origin is dict or _is_dataclass(tp):
        return isinstance(value, Mapping)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(tp, type) and isinstance(value, tp)


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, message: str) -> typing.NoReturn:
        raise RigFileError(self.file, path, message)

    def expected(self, tp: Any, value: Any, path: str) -> typing.NoReturn:
        hint = " (quote it)" if tp is str and isinstance(value, int | float) else ""
        self.fail(path, f"expected {describe(tp)}{hint}, got {shown(value)}")

    def value(self, tp: Any, value: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            checks = [m for m in tp.__metadata__ if isinstance(m, Check)]
            try:
                result = self.value(typing.get_args(tp)[0], value, path)
            except RigFileError as exc:
                if exc.key_path != path or not checks:
                    raise  # a mistake deeper inside: its own message is the precise one
                # Say what the key means ("a BCM GPIO number"), not just "an integer".
                got = f", got {shown(value)}" if all(c.echo for c in checks) else ""
                self.fail(path, f"expected {checks[-1].expected}{got}")
            for check in checks:
                if (problem := check.test(result)) is not None:
                    self.fail(path, problem)
            return result
        if origin in (Union, types.UnionType):
            return self.union(tp, value, path)
        if origin is Literal:
            choices = typing.get_args(tp)
            if any(type(value) is type(c) and value == c for c in choices):
                return value
            strings = [c for c in choices if isinstance(c, str)]
            self.fail(path, f"expected {describe(tp)}, got {shown(value)}"
                      f"{_suggest(value, strings)}")
        if origin is list:
            if not isinstance(value, list):
                self.expected(tp, value, path)
            (item,) = typing.get_args(tp)
            return [self.value(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if origin is tuple:
            return self.tuple_of(tp, value, path)
        if origin is dict:
            return self.mapping(tp, value, path)
        if _is_dataclass(tp):
            return self.dataclass(tp, value, path)
        if tp is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            self.expected(tp, value, path)
        if tp is datetime.date:  # YAML reads 2027-03-31 as a date; a quoted one is text
            with contextlib.suppress(ValueError, TypeError):
                return value if type(value) is datetime.date else \
                    datetime.date.fromisoformat(value)
            self.expected(tp, value, path)
        if tp in (str, int, bool, type(None)):
            if _shape_fits(tp, value):
                return value
            self.expected(tp, value, path)
        raise TypeError(f"typed_yaml cannot convert to {tp!r} (at {path or 'top level'})")

    def tuple_of(self, tp: Any, value: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            self.expected(tp, value, path)
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(self.value(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            self.fail(path, f"expected a list of {len(args)} items, got {len(value)}")
        return tuple(self.value(a, v, f"{path}[{i}]") for i, (a, v) in
                     enumerate(zip(args, value, strict=True)))

    def mapping(self, tp: Any, value: Any, path: str) -> dict[Any, Any]:
        key_tp, value_tp = typing.get_args(tp)
        list_key = getattr(value_tp, "_list_key", None) if _is_dataclass(value_tp) else None
        if list_key is not None:  # a table written as a list, keyed by one field
            if not isinstance(value, list):
                self.fail(path, f"expected a list of entries, got {shown(value)}")
            out: dict[Any, Any] = {}
            for i, entry in enumerate(value):
                built = self.value(value_tp, entry, f"{path}[{i}]")
                key = getattr(built, list_key)
                if key in out:
                    shown_key = f"{key:#x}" if isinstance(key, int) else repr(key)
                    self.fail(f"{path}[{i}].{list_key}", f"expected a unique {list_key}; "
                              f"{shown_key} is also {path}[{list(out).index(key)}]")
                out[key] = built
            return out
        if not isinstance(value, Mapping):
            self.expected(tp, value, path)
        key_field = getattr(value_tp, "_key", None) if _is_dataclass(value_tp) else None
        result = {}
        for k, v in value.items():
            sub = _join(path, k)
            key = self.value(key_tp, k, sub)
            result[key] = (self.dataclass(value_tp, v, sub, {key_field: key}) if key_field
                           else self.value(value_tp, v, sub))
        return result

    def union(self, tp: Any, value: Any, path: str) -> Any:
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            if len(arms) < len(typing.get_args(tp)):
                return None
            self.expected(tp, value, path)
        if len(arms) == 1:
            return self.value(arms[0], value, path)
        fitting = [a for a in arms if _shape_fits(a, value)]
        if len(fitting) == 1:
            return self.value(fitting[0], value, path)  # its own, more precise message
        for arm in fitting:
            try:
                return self.value(arm, value, path)
            except RigFileError:
                continue
        self.expected(tp, value, path)

    def dataclass(self, cls: type, value: Any, path: str,
                  given: Mapping[str, Any] | None = None) -> Any:
        if not isinstance(value, Mapping):
            self.expected(cls, value, path)
        given = given or {}
        known = {k: f for k, f in _file_fields(cls).items() if k not in given}
        rejected: Mapping[str, str] = getattr(cls, "_rejected_keys", {})
        for key in value:
            if key in known:
                continue
            if key in rejected:
                self.fail(_join(path, key), rejected[key])
            hint = _suggest(key, list(known)) or f"; known keys: {', '.join(known)}"
            self.fail(_join(path, key), f"unknown key {_literal(key)}{hint}")
        hints = _hints(cls)
        for name, f in known.items():
            required = (f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING)
            if required and name not in value:
                self.fail(_join(path, name),
                          f"missing required key {name!r}; expected {describe(hints[name])}")
        needs: tuple[tuple[str, ...], str] | None = getattr(cls, "_needs_one_of", None)
        if needs is not None and not any(value.get(k) for k in needs[0]):
            self.fail(path or "(top level)", needs[1])
        kwargs = {k: self.value(hints[k], v, _join(path, k)) for k, v in value.items()}
        try:
            return cls(**given, **kwargs)
        except Invalid as err:
            self.fail(_join(path, err.key) if err.key else path, f"expected {err.expected}")
