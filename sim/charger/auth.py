"""Authorization cache and Local Authorization List (OCPP 1.6 §3.5, §5.15, §5.16)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class AuthStore:
    """Both stores survive reboots (NV memory)."""

    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    local_list: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_version: int = 0

    def lookup(self, id_tag: str, now: datetime, use_list: bool, use_cache: bool) -> dict | None:
        """IdTagInfo for ``id_tag`` from the local list first, then the cache.

        An entry whose expiryDate has passed counts as Expired (§3.5.1).
        """
        for enabled, store in ((use_list, self.local_list), (use_cache, self.cache)):
            info = store.get(id_tag) if enabled else None
            if info is not None:
                expiry = parse_time(info.get("expiryDate"))
                if expiry is not None and expiry < now and info.get("status") == "Accepted":
                    return {**info, "status": "Expired"}
                return info
        return None

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        self.cache[id_tag] = dict(info)

    def send_local_list(
        self, version: int, update_type: str, entries: list[dict[str, Any]], max_len: int
    ) -> str:
        """SendLocalList: Accepted | Failed | VersionMismatch."""
        if update_type == "Full":
            new: dict[str, dict[str, Any]] = {}
        else:
            if version <= self.list_version:
                return "VersionMismatch"
            new = dict(self.local_list)
        for e in entries:
            info = e.get("idTagInfo")
            if info is None:
                new.pop(e["idTag"], None)
            else:
                new[e["idTag"]] = dict(info)
        if len(new) > max_len:
            return "Failed"
        self.local_list = new
        self.list_version = version if new else 0  # OCPP 1.6 §5.10: version 0 = empty list
        return "Accepted"
