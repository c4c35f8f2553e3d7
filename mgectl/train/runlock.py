"""One trainer per run directory: an flock on ``<run>/.lock`` that holds the trainer's pid.

The kernel drops an flock when its process dies (even by kill -9), so a stale lock file never
blocks a resume; only a live holder does. Readers (``mgectl runs``) ask `holder()` whether a
run is being trained right now. Where fcntl is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import os
from pathlib import Path

from mgectl.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class RunLock:
    """An exclusive lock on one run directory, held until release() or the process ends."""

    def __init__(self, run: Path, fd: int | None) -> None:
        self.run, self._fd = run, fd

    @classmethod
    def acquire(cls, run: Path) -> RunLock:
        """Lock RUN for this process; a UserError naming the holder's pid when another has it."""
        if fcntl is None:
            return cls(run, None)
        path = Path(run) / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise UserError(f"{run}: cannot lock the run directory: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            pid = _read_pid(path)
            who = f"process {pid}" if pid else "another process"
            raise UserError(
                f"{run}: {who} is training in this run directory right now",
                hint="wait for it to finish (or stop it), then resume; or start a new run",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(run, fd)

    def release(self) -> None:
        """Unlock (the file stays; an unlocked file means nobody trains here)."""
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def holder(run: Path) -> int | None:
    """The pid of the process training in RUN right now, or None."""
    path = Path(run) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read_pid(path) or -1
    finally:
        os.close(fd)
    return None


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
