"""The charger's configuration keys, with the semantics OCPP 1.6 §9 gives them.

Defaults, types, ranges and read-only flags come from the profile; this module
only applies them: read-only → Rejected, unknown → NotSupported, out of range →
Rejected. The values survive reboots (the charger keeps them in NV memory).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

from evrig.rig.profile import ConfigKey, Profile


class ConfigStore:
    def __init__(self, profile: Profile) -> None:
        self._keys: dict[str, ConfigKey] = dict(profile.config_keys)
        self._values: dict[str, str] = {k: v.default for k, v in self._keys.items()}
        self._listeners: list[Callable[[str, str], None]] = []

    def on_change(self, listener: Callable[[str, str], None]) -> None:
        self._listeners.append(listener)

    def known(self, key: str) -> bool:
        return key in self._keys

    def get(self, keys: list[str] | None) -> tuple[list[dict[str, object]], list[str]]:
        """GetConfiguration: (configurationKey entries, unknownKey names)."""
        names = keys if keys else list(self._keys)
        found = [
            {"key": k, "readonly": self._keys[k].readonly, "value": self._values[k]}
            for k in names
            if k in self._keys
        ]
        unknown = [k for k in names if k not in self._keys]
        return found, unknown

    def change(self, key: str, value: str) -> str:
        """ChangeConfiguration: Accepted | Rejected | NotSupported."""
        spec = self._keys.get(key)
        if spec is None:
            return "NotSupported"
        if spec.readonly or spec.check(value) is not None:
            return "Rejected"
        if spec.type == "bool":
            value = value.strip().lower()
        self._values[key] = value
        for listener in self._listeners:
            listener(key, value)
        return "Accepted"

    def set_local(self, key: str, value: str) -> None:
        """A setting made on the charger itself (web client, factory): no checks
        beyond the type, read-only keys included."""
        self._values[key] = value
        for listener in self._listeners:
            listener(key, value)

    def str(self, key: str) -> str:
        return self._values.get(key, "")

    # The methods below are named after the builtins they return: in the class body
    # ``str``, ``int`` and ``bool`` are the methods, hence ``builtins.`` in annotations.
    def int(self, key: builtins.str, default: builtins.int = 0) -> builtins.int:
        try:
            return int(self._values.get(key, ""))
        except ValueError:
            return default

    def bool(self, key: builtins.str, default: builtins.bool = False) -> builtins.bool:
        raw = self._values.get(key)
        if raw is None:
            return default
        return raw.strip().lower() == "true"

    def csl(self, key: builtins.str) -> list[builtins.str]:
        return [x.strip() for x in self._values.get(key, "").split(",") if x.strip()]
