"""The run directory: its layout, a unique id per run, metrics.jsonl, and finding runs again."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgectl.errors import UserError

CHECKPOINT_SUFFIX = ".npz"
RUN_MARKER = "metrics.jsonl"
STATE_FILE = "state.json"  # how the run stands: running, completed, interrupted, diverged, ...
EVALUATION_FILE = "evaluation.json"  # the final model scored on one split


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory ``<root>/<name>/<id>/``."""

    path: Path

    @property
    def config(self) -> Path:
        """The resolved config the run trained with."""
        return self.path / "config.resolved.yaml"

    @property
    def metrics(self) -> Path:
        """One JSON object per epoch."""
        return self.path / RUN_MARKER

    @property
    def checkpoints(self) -> Path:
        """Folder of last/best checkpoints."""
        return self.path / "checkpoints"

    def checkpoint(self, kind: str) -> Path:
        """checkpoints/<kind>.npz (kind: last or best)."""
        return self.checkpoints / f"{kind}{CHECKPOINT_SUFFIX}"

    @property
    def state(self) -> Path:
        """state.json: the run's state, epochs done, wall seconds and device."""
        return self.path / STATE_FILE

    @property
    def plots(self) -> Path:
        """Folder of PNG figures."""
        return self.path / "plots"


def new_run_dir(root: Path, name: str) -> RunDir:
    """Create ``root/name/<YYYYmmdd-HHMMSS>-<NN>``; the counter makes same-second runs unique."""
    check_output_root(Path(root))
    try:
        run = RunDir(new_stamped_dir(Path(root) / name))
        run.checkpoints.mkdir()
    except OSError as error:
        raise UserError(
            f"output.root: cannot create a run directory under {root}: {error.strerror or error}"
        ) from None
    return run


def check_output_root(root: Path) -> None:
    """Refuse an output root that is a file, lies under one, or cannot be written to.

    Nothing is created: the nearest folder that exists gets a temporary folder made and
    removed in it, which is the one test that also holds for root and read-only mounts.
    """
    import tempfile

    text = str(root)
    if "\0" in text:
        raise UserError(f"output.root: {text!r} holds a NUL character")
    existing = Path(root)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(
            f"output.root: {existing} is a file, so {root} cannot be a folder of runs",
            hint="set output.root (or -o) to a folder",
        )
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mgectl-", dir=existing))
    except OSError as error:
        raise UserError(
            f"output.root: cannot write under {existing}: {error.strerror or error}",
            hint="set output.root (or -o) to a folder you can write to",
        ) from None


def new_stamped_dir(parent: Path) -> Path:
    """Create a new ``parent/<YYYYmmdd-HHMMSS>-<NN>`` folder (ids sort by time)."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for counter in range(1, 10_000):
        path = parent / f"{stamp}-{counter:02d}"
        try:
            path.mkdir()  # atomic: two runs started together never share a directory
        except FileExistsError:
            continue
        return path
    raise UserError(f"{parent}: cannot create a new directory (too many this second)")


def write_text_atomic(path: Path, text: str) -> None:
    """Write TEXT to PATH through a temporary file, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def metrics_line(record: dict[str, Any]) -> str:
    """One metrics.jsonl line (keys in the record's order), strict JSON: NaN/inf become null."""
    return json.dumps({k: _finite_or_none(v) for k, v in record.items()}, allow_nan=False) + "\n"


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or Infinity: such a metric is written as null (no value)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_metrics(run: RunDir, record: dict[str, Any]) -> None:
    """Append one epoch's record to metrics.jsonl."""
    with open(run.metrics, "a", encoding="utf-8") as handle:
        handle.write(metrics_line(record))


def rewrite_metrics(run: RunDir, history: list[dict[str, Any]]) -> None:
    """Make metrics.jsonl hold exactly HISTORY (resume: drop epochs after the checkpoint)."""
    write_text_atomic(run.metrics, "".join(metrics_line(r) for r in history))


def write_run_state(run: RunDir, state: dict[str, Any]) -> None:
    """Record how the run stands (written at its start and at its end, atomically)."""
    write_text_atomic(run.state, json.dumps(state, indent=1) + "\n")


def write_evaluation(run: RunDir, report: dict[str, Any]) -> None:
    """evaluation.json: a split's metrics and, for classes, the confusion matrix (atomic)."""
    write_text_atomic(run.path / EVALUATION_FILE, json.dumps(report, indent=1) + "\n")


def read_run_state(path: Path) -> dict[str, Any] | None:
    """The state.json of the run directory PATH, or None when it has none (or a torn one)."""
    try:
        return json.loads((Path(path) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file (a run directory or the file itself).

    Reading stops at the first line that is not a JSON object: a write torn by kill -9.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RUN_MARKER
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break
        if not isinstance(record, dict):
            break
        records.append(record)
    return records


def remove_stale_temporaries(run: RunDir) -> list[Path]:
    """Delete the temporary files of writes a killed process left behind (call while locked)."""
    removed = []
    for folder in (run.path, run.checkpoints):
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else []:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def has_checkpoint(run: Path, prefer: tuple[str, ...]) -> bool:
    """Whether run directory RUN holds one of the checkpoints PREFER names."""
    return any(RunDir(run).checkpoint(kind).is_file() for kind in prefer)


def is_run_dir(path: Path) -> bool:
    """Whether PATH looks like a run directory (it has a checkpoints/ folder)."""
    return (path / "checkpoints").is_dir()


def latest_run(path: Path, prefer: tuple[str, ...] = ("last",)) -> Path | None:
    """The newest run directly inside PATH that has a checkpoint (ids sort by time), or None.

    Newer runs without one (killed before their first checkpoint) are named on stderr.
    """
    runs = sorted(child for child in path.iterdir() if child.is_dir() and is_run_dir(child))
    for index in range(len(runs) - 1, -1, -1):
        if has_checkpoint(runs[index], prefer):
            for skipped in runs[index + 1 :]:
                _note(f"skipped {skipped} (no checkpoint yet); using {runs[index]}")
            return runs[index]
    return runs[-1] if runs else None


def _note(text: str) -> None:
    """One line on stderr that does not stop the command."""
    sys.stderr.write(f"note: {text}\n")


def find_checkpoint(source: Path, prefer: tuple[str, ...]) -> Path:
    """Resolve a checkpoint file, a run directory or a ``<root>/<name>`` folder to a checkpoint.

    In a run directory the first of PREFER that exists wins (resume wants last, predict best).
    """
    source = Path(source)
    if source.is_file():
        return source
    if not source.exists():
        raise UserError(f"{source}: no such file or directory")
    run = source if is_run_dir(source) else latest_run(source, prefer)
    if run is None:
        raise UserError(
            f"{source}: not a run directory (no checkpoints/ folder) and holds no runs",
            hint="pass a run directory such as runs/<name>/<id>, or a checkpoint file",
        )
    for kind in prefer:
        candidate = RunDir(run).checkpoint(kind)
        if candidate.is_file():
            return candidate
    names = " or ".join(f"checkpoints/{k}{CHECKPOINT_SUFFIX}" for k in prefer)
    raise UserError(
        f"{run}: has no {names}",
        hint="the run stopped before its first checkpoint; train it again",
    )


def run_of_checkpoint(checkpoint: Path) -> RunDir | None:
    """The run directory a checkpoint file sits in, or None for a checkpoint kept elsewhere."""
    folder = checkpoint.parent if checkpoint.parent.name else checkpoint.absolute().parent
    if folder.name == "checkpoints" and (folder.parent / RUN_MARKER).exists():
        return RunDir(folder.parent)
    return None
