"""mgectl runs (states, epochs, best, order) and mgectl compare (differing keys, metrics, PNG)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import REPO
from trainer_support import InterruptAt, run
from typer.testing import Result

from mgectl.errors import TrainingDivergedError, TrainingInterruptedError
from mgectl.tools.compare import differing_keys, load_runs
from mgectl.tools.runs import find_runs, run_info
from mgectl.train.rundir import read_metrics
from mgectl.train.runlock import RunLock

LINEAR = REPO / "configs" / "linear_regression.yaml"


@pytest.fixture
def three_runs(tmp_path: Path) -> dict[str, Path]:
    """A completed, an interrupted (after 3 epochs) and a diverged run of the tutorial."""
    runs = {"completed": run(LINEAR, out=tmp_path).run_dir}
    with pytest.raises(TrainingInterruptedError):
        run(LINEAR, "train.epochs=8", out=tmp_path, reporters=[InterruptAt(epoch=2)])
    with pytest.raises(TrainingDivergedError):  # lr 1 overflows float32 at epoch 9
        run(LINEAR, "optimizer.lr=1", "train.epochs=50", out=tmp_path)
    found = find_runs(tmp_path)
    runs["interrupted"], runs["diverged"] = found[1], found[0]  # newest first
    return runs


def test_runs_states_epochs_and_best(three_runs: dict[str, Path], tmp_path: Path) -> None:
    infos = [run_info(path) for path in find_runs(tmp_path)]
    assert [info.path for info in infos] == [
        three_runs[k] for k in ("diverged", "interrupted", "completed")
    ]
    states = {info.state: (info.epochs_done, info.epochs) for info in infos}
    assert states == {"completed": (5, 5), "interrupted": (3, 8), "diverged": (9, 50)}
    completed = run_info(three_runs["completed"])
    losses = [r["train_loss"] for r in read_metrics(three_runs["completed"])]
    assert (completed.monitor, completed.best, completed.best_epoch) == (
        "train_loss",
        min(losses),
        4,
    )
    assert completed.device in ("xpux -> cpu0", "xpux -> gpu0")
    assert completed.seconds > 0
    assert {info.name for info in infos} == {"linear_regression"}
    assert find_runs(tmp_path, name="other") == []


def test_running_means_someone_holds_the_run_lock(three_runs: dict[str, Path]) -> None:
    run_dir = three_runs["completed"]
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    (run_dir / "state.json").write_text(json.dumps({**state, "state": "running"}), "utf-8")
    lock = RunLock.acquire(run_dir)  # as the trainer holds it while it trains
    try:
        assert run_info(run_dir).state == "running"
    finally:
        lock.release()
    assert run_info(run_dir).state == "interrupted"  # "running", but its trainer is gone


def test_runs_without_state_json_fall_back_to_metrics(three_runs: dict[str, Path]) -> None:
    for path in three_runs.values():
        (path / "state.json").unlink()
    assert run_info(three_runs["completed"]).state == "completed"
    assert run_info(three_runs["interrupted"]).state == "unfinished"
    assert run_info(three_runs["diverged"]).state == "unfinished"


def test_runs_command_lists_newest_first(
    cli: Callable[..., Result], three_runs: dict[str, Path], tmp_path: Path
) -> None:
    result = cli("runs", str(tmp_path), "--name", "linear_regression")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[1:]]
    assert [row[1] for row in rows] == [
        three_runs[k].name for k in ("diverged", "interrupted", "completed")
    ]
    assert [row[2] for row in rows] == ["diverged", "interrupted", "completed"]
    assert [row[3] for row in rows] == ["9/50", "3/8", "5/5"]
    assert "no runs named other" in cli("runs", str(tmp_path), "--name", "other").output


def test_compare_lists_exactly_the_keys_that_differ(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    first = run(LINEAR, out=tmp_path).run_dir
    second = run(LINEAR, "optimizer.lr=0.02", "train.epochs=7", out=tmp_path).run_dir
    assert differing_keys(load_runs([first, second])) == ["optimizer.lr", "train.epochs"]
    a, b = load_runs([first, second])
    assert a.final("train_loss") == read_metrics(first)[-1]["train_loss"]
    assert b.best("train_loss") == min(r["train_loss"] for r in read_metrics(second))
    out = tmp_path / "cmp.png"
    result = cli("compare", str(first), str(second), "--out", str(out))
    assert result.exit_code == 0, result.output
    keys = [line.split("│")[1].strip() for line in result.output.splitlines() if "│" in line]
    assert keys[:2] == ["optimizer.lr", "train.epochs"]
    assert keys[2:] == ["final train_loss", "best train_loss"]
    assert out.read_bytes().startswith(b"\x89PNG")


def test_compare_needs_two_run_dirs(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("compare", str(tmp_path))
    assert result.exit_code == 2
    assert "two or more" in result.output
    result = cli("compare", str(tmp_path), str(tmp_path))
    assert result.exit_code == 2
    assert "not a run directory" in result.output
