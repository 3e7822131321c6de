"""One process at a time on a shared resource (a bench, a report folder): an exclusive
``flock`` on a lock file, held while the process lives — the kernel drops it when the
process ends however it ends, so a killed process never leaves a stale lock."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from evrig.rig.errors import RigError


def hold(path: Path, refusal: str, holder: str = "") -> IO[str]:
    """Take the lock at ``path`` and write who holds it (``holder``, after the pid);
    RigError ``refusal`` plus the holder's line when another process has it. Keep the
    returned file open as long as the lock is needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held until the end)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        other = fh.read().strip() or "another process"
        fh.close()
        raise RigError(f"{refusal} ({other})") from None
    say(fh, holder)
    return fh


def say(fh: IO[str], holder: str) -> None:
    """Write who holds the lock now (pid and ``holder``), for the next refusal."""
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()} {holder}".rstrip() + "\n")
    fh.flush()
