"""Stop requests: SIGINT, SIGTERM, SIGHUP (and the launcher's SIGUSR1) end training like Ctrl-C.

Outside the loop a stop signal raises `Interrupted` at once (start-up, loading data). Inside
it the first signal is only noted, and the loop stops at the next step boundary, where every
rank of a data-parallel job agrees to stop at the same step; a second signal raises at once.
The exit code is 128 + the signal's number, as a shell reports a killed command.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

# SIGUSR1 is what `--nproc` sends the ranks (mpirun forwards it, but ends the job on the others)
STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1")
    if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived: handled wherever Ctrl-C is, with exit code 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP)."""
        return 128 + self.signum


def exit_code_of(interrupt: BaseException) -> int:
    """The exit code for a KeyboardInterrupt or Interrupted (plain Ctrl-C: 130)."""
    return getattr(interrupt, "exit_code", 128 + signal.SIGINT)


def _raise_now(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def raise_on_stop_signals() -> None:
    """Make every stop signal behave like Ctrl-C in this process (the CLI's first act)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(signum, _raise_now)


class StopRequests:
    """While entered, note the first stop signal instead of raising; `signum` is 0 until then."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum:  # asked twice: stop now, wherever the loop is
            raise Interrupted(signum)
        self.signum = signum

    def check(self) -> None:
        """Raise Interrupted when a stop signal arrived (called between steps)."""
        if self.signum:
            raise Interrupted(self.signum)
