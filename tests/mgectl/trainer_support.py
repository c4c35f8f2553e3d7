"""Helpers for the trainer tests: run a config quietly, compare runs, small configs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from engine import serialization
from mgectl.config.experiment import load_config
from mgectl.report import plots as painter
from mgectl.report.console import ConsoleReporter
from mgectl.train.events import EpochEnd, Event, StepEnd
from mgectl.train.loop import RunResult
from mgectl.train.loop import train as train_loop
from mgectl.train.rundir import read_metrics

# Every piece of state a resume must restore: shuffling, dropout, batch norm, Adam buffers,
# a warm-up + cosine schedule, validation and a best checkpoint.
STATEFUL = """
seed: 3
data:
  generator: moons
  n: 120
  noise: 0.2
  val_split: 0.25
  standardize: true
model:
  type: mlp
  hidden: [8, 8]
  dropout: 0.1
  batch_norm: true
optimizer:
  type: adam
  lr: 0.02
  scheduler:
    type: cosine
    warmup_epochs: 2
train:
  epochs: 6
  batch_size: 16
"""

REGRESSION = """
data:
  generator: polynomial
  n: 80
  noise: 0.1
  val_split: 0.25
  standardize: true
model:
  type: mlp
  hidden: [8]
  activation: tanh
optimizer:
  type: adam
  lr: 0.05
train:
  epochs: 3
  batch_size: 16
"""


def quiet_console() -> Console:
    """A console that writes into a string (not a terminal), for tests that ignore output."""
    return Console(file=io.StringIO(), width=120)


def train(
    cfg: Any,
    *,
    console: Console | None = None,
    quiet: bool = False,
    plots: bool = True,
    reporters: list | tuple = (),
    **kwargs: Any,
) -> RunResult:
    """mgectl.train.loop.train with what the train verb hands in: the console and the plots."""
    shown = [ConsoleReporter(console=console, quiet=quiet), *reporters]
    return train_loop(cfg, reporters=shown, painter=painter if plots else None, **kwargs)


def run(path: Path, *overrides: str, out: Path, **kwargs: Any) -> RunResult:
    """Train the config at PATH (with --set OVERRIDES) into OUT, printing nothing."""
    kwargs.setdefault("console", quiet_console())
    kwargs.setdefault("plots", False)
    return train(load_config(path, list(overrides)), output_dir=out, **kwargs)


def without_seconds(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metrics records minus the wall-clock key that differs between identical runs."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def metrics_of(run_dir: Path) -> list[dict[str, Any]]:
    """metrics.jsonl of a run, seconds removed."""
    return without_seconds(read_metrics(run_dir))


def weights(run_dir: Path, kind: str = "last") -> dict[str, np.ndarray]:
    """The model state stored in a run's checkpoint."""
    return dict(serialization.load(run_dir / "checkpoints" / f"{kind}.npz")["model"])


def assert_same_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Bit-identical state dicts."""
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


class InterruptAt:
    """A reporter that raises KeyboardInterrupt like Ctrl-C at a chosen epoch end or step."""

    def __init__(self, epoch: int, step: int | None = None) -> None:
        self.epoch, self.step = epoch, step

    def __call__(self, event: Event) -> None:
        """Raise when the chosen point is reached."""
        if self.step is None and isinstance(event, EpochEnd):
            if event.record["epoch"] == self.epoch:
                raise KeyboardInterrupt
        if self.step is not None and isinstance(event, StepEnd):
            if (event.epoch, event.step) == (self.epoch, self.step):
                raise KeyboardInterrupt


def only_run(root: Path, name: str) -> Path:
    """The single run directory under ROOT/NAME."""
    (run_dir,) = sorted((root / name).iterdir())
    return run_dir
