"""What the trainer tells its reporters: one small frozen dataclass per kind of event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union


@dataclass(frozen=True)
class RunStart:
    """Training is about to begin (or continue, when start_epoch > 0)."""

    name: str
    run_dir: Path
    device: str  # "xpux -> cpu0": what was asked for and where the arrays live
    model: str  # one-line summary with the parameter count
    parameters: int
    task: str
    train_size: int
    val_size: int
    features: str  # "1 feature", "4 features", "images 1x28x28"
    epochs: int
    start_epoch: int
    steps_per_epoch: int
    metric_keys: tuple[str, ...]  # the record keys worth a table column, in order
    param_keys: tuple[str, ...] = ()  # learned scalars shown per epoch (w and b of linear)
    resumed_from: Path | None = None


@dataclass(frozen=True)
class StepEnd:
    """One optimizer step finished; step counts from 1 within the epoch."""

    epoch: int
    step: int
    steps: int
    loss: float


@dataclass(frozen=True)
class EpochEnd:
    """An epoch finished; record is the metrics.jsonl line, logged says whether to print it."""

    record: dict[str, Any]
    epochs: int
    logged: bool


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint file was written (kind: last or best) holding EPOCHS finished epochs."""

    path: Path
    kind: str
    epochs_done: int


@dataclass(frozen=True)
class RunEnd:
    """Training ended: completed, early_stopped, interrupted, diverged (or a StopRun status)."""

    status: str
    epochs_done: int
    epochs: int
    last: dict[str, Any] | None
    best: dict[str, Any] | None  # {"monitor", "value", "epoch"}
    params: dict[str, float] | None
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""
    truth: dict[str, float] | None = None  # the generator's real values of params, if known
    test: dict[str, float] | None = None  # the test split's metrics (data.test_split)


class StopRun(Exception):  # noqa: N818 (a request, not an error)
    """Raised by a reporter to end the run after this epoch, e.g. a sweep pruning a trial.

    The loop saves its checkpoint and returns normally with STATUS as the run's status.
    """

    def __init__(self, status: str, reason: str = "") -> None:
        super().__init__(reason or status)
        self.status, self.reason = status, reason


Event = Union[RunStart, StepEnd, EpochEnd, CheckpointSaved, RunEnd]  # noqa: UP007
Reporter = Callable[[Event], None]


class Broadcast:
    """Hands every event to each reporter in turn."""

    def __init__(self, reporters: list[Reporter]) -> None:
        self.reporters = list(reporters)

    def __call__(self, event: Event) -> None:
        """Deliver EVENT to all reporters."""
        for reporter in self.reporters:
            reporter(event)
