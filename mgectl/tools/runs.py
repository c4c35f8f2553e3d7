"""Finding run directories and reading what each says about itself: state, epochs, best, time.

A run's state comes from its state.json (written by the trainer at the start and the end of
each session); "running" with nobody holding the run's lock (train.runlock) means the trainer
was killed, and shows as "interrupted". A run without state.json (older runs) is "completed"
when metrics.jsonl holds train.epochs epochs and "unfinished" otherwise: those files alone
cannot tell an interrupted run from a diverged or a still running one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mgectl.errors import UserError
from mgectl.train.rundir import RUN_MARKER, RunDir, is_run_dir, read_metrics, read_run_state
from mgectl.train.runlock import holder


@dataclass(frozen=True)
class RunInfo:
    """One run as ``mgectl runs`` lists it."""

    path: Path
    name: str
    run_id: str
    state: str  # running, completed, early_stopped, interrupted, diverged, pruned, unfinished
    epochs_done: int
    epochs: int | None
    monitor: str | None
    best: float | None
    best_epoch: int | None
    seconds: float | None
    device: str | None


def find_runs(root: Path, name: str | None = None) -> list[Path]:
    """Every run directory under ROOT (sweep trials included), newest first.

    Run ids are start times (YYYYmmdd-HHMMSS-NN), so sorting by id sorts by age.
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such directory", hint="runs are written to runs/ by default")
    found = [
        marker.parent
        for marker in root.rglob(RUN_MARKER)
        if is_run_dir(marker.parent) and (name is None or marker.parent.parent.name == name)
    ]
    return sorted(found, key=lambda path: (path.name, str(path)), reverse=True)


def read_config(run: Path) -> dict[str, Any]:
    """The run's config.resolved.yaml as plain data ({} when it is missing or unreadable)."""
    try:
        loaded = yaml.safe_load(RunDir(run).config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def run_info(run: Path) -> RunInfo:
    """What RUN's files say about it."""
    run = Path(run)
    try:
        records = read_metrics(run)
    except (OSError, ValueError):
        records = []
    config = read_config(run)
    epochs = (config.get("train") or {}).get("epochs")
    state = read_run_state(run)
    if state is None:
        derived = "completed" if epochs is not None and len(records) >= epochs else "unfinished"
        state = {"state": derived}
    status = state.get("state", "unfinished")
    if status == "running" and holder(run) is None:
        status = "interrupted"  # nobody holds its lock: the trainer was killed
    monitor = state.get("monitor") or {}
    seconds = state.get("seconds")
    if seconds is None and records:
        seconds = sum(float(r.get("seconds") or 0.0) for r in records)
    return RunInfo(
        path=run,
        name=run.parent.name,
        run_id=run.name,
        state=status,
        epochs_done=len(records),
        epochs=epochs,
        monitor=monitor.get("monitor"),
        best=monitor.get("best"),
        best_epoch=monitor.get("best_epoch"),
        seconds=seconds,
        device=state.get("device"),
    )
