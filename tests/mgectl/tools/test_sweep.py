"""mgectl sweep on the tutorial's linear regression: grid, seeds, pruning, workers, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mgectl_support import REPO

from engine.data.synthetic import linear
from mgectl.tools.sweep import Plan, create_sweep, load_sweep_config, open_study, outcome
from mgectl.tools.sweep_run import run_sweep
from mgectl.train.events import EpochEnd, Event, RunStart
from mgectl.train.rundir import read_metrics, read_run_state

optuna = pytest.importorskip("optuna")
TUTORIAL = REPO / "configs" / "linear_regression.yaml"
GRID = (0.001, 0.003, 0.01, 0.02)


def tutorial_loss(lr: float, epochs: int) -> list[float]:
    """The tutorial's full-batch SGD on its data, in float64 NumPy: the loss of each epoch."""
    data = linear(100, 5.0, 0)
    w = b = 0.0
    losses = []
    for _ in range(epochs):
        error = w * data.x + b - data.y
        losses.append(float(np.mean(error**2)))
        w -= lr * float(np.mean(2 * error * data.x))
        b -= lr * float(np.mean(2 * error))
    return losses


def new_sweep(
    tmp_path: Path,
    params: list[str],
    *overrides: str,
    out: str = "out",
    **flags: Any,
) -> Path:
    """A sweep directory over the tutorial config (nothing run yet)."""
    cfg = load_sweep_config(TUTORIAL, list(overrides), params, flags)
    return create_sweep(cfg, TUTORIAL, list(overrides), tmp_path / out)


def finished(sweep_dir: Path) -> list[Any]:
    """The study's trials, by number."""
    return sorted(open_study(Plan.load(sweep_dir)).get_trials(), key=lambda t: t.number)


def run_dir_of(sweep_dir: Path, trial: Any) -> Path:
    """The run directory of a trial."""
    path = Plan.load(sweep_dir).run_dir(trial)
    assert path is not None
    return path


def test_grid_sweep_finds_the_best_lr_of_the_tutorial(tmp_path: Path) -> None:
    grid = f"optimizer.lr=choice({', '.join(map(str, GRID))})"
    sweep_dir = new_sweep(tmp_path, [grid], "train.epochs=20", sampler="grid", prune=False)
    result = run_sweep(sweep_dir)
    assert result.plan.trials == len(GRID)  # a grid runs each point once
    trials = finished(sweep_dir)
    assert sorted(t.params["optimizer.lr"] for t in trials) == sorted(GRID)
    expected = {lr: min(tutorial_loss(lr, 20)) for lr in GRID}
    for trial in trials:
        assert outcome(trial) == "completed"
        assert trial.value == pytest.approx(expected[trial.params["optimizer.lr"]], rel=1e-4)
        run_dir = run_dir_of(sweep_dir, trial)
        assert run_dir.parent.name == f"trial-{trial.number:03d}"
        assert len(read_metrics(run_dir)) == 20
        assert (run_dir / "checkpoints" / "last.npz").is_file()
    best = min(trials, key=lambda t: t.value)
    assert best.params["optimizer.lr"] == min(expected, key=expected.get) == 0.02


def test_random_sweep_is_reproducible_from_its_seed(tmp_path: Path) -> None:
    params = ["optimizer.lr=loguniform(1e-3,2e-2)", "train.epochs=int(2,6)"]

    def sampled(out: str, seed: int) -> list[tuple[float, int, float]]:
        sweep_dir = new_sweep(tmp_path, params, out=out, sampler="random", trials=3, seed=seed)
        run_sweep(sweep_dir)
        return [
            (t.params["optimizer.lr"], t.params["train.epochs"], t.value)
            for t in finished(sweep_dir)
        ]

    first, again, other = sampled("a", 7), sampled("b", 7), sampled("c", 8)
    assert first == again
    assert [p[:2] for p in first] != [p[:2] for p in other]
    for lr, epochs, value in first:
        assert value == pytest.approx(min(tutorial_loss(lr, epochs)), rel=1e-4)


def test_pruning_stops_a_hopeless_trial_early(tmp_path: Path) -> None:
    sweep_dir = new_sweep(
        tmp_path, ["optimizer.lr=loguniform(1e-6,1e-1)"], "train.epochs=30", trials=6
    )
    study = open_study(Plan.load(sweep_dir))
    for _ in range(5):  # the median pruner waits for five finished trials
        study.enqueue_trial({"optimizer.lr": 0.01})
    study.enqueue_trial({"optimizer.lr": 1e-6})  # barely moves: far above the median
    run_sweep(sweep_dir)
    trials = finished(sweep_dir)
    assert [outcome(t) for t in trials] == ["completed"] * 5 + ["pruned"]
    hopeless = run_dir_of(sweep_dir, trials[-1])
    # epoch 0's loss is the same for every lr (w = b = 0); epoch 1 already shows the difference
    assert len(read_metrics(hopeless)) == 2
    assert read_run_state(hopeless)["state"] == "pruned"
    assert (hopeless / "checkpoints" / "last.npz").is_file()


def test_two_workers_complete_every_trial_once(tmp_path: Path) -> None:
    sweep_dir = new_sweep(
        tmp_path, ["optimizer.lr=loguniform(1e-3,2e-2)"], "train.epochs=3", trials=6, prune=False
    )
    result = run_sweep(sweep_dir, jobs=2, poll_seconds=0.1)
    assert not result.interrupted
    trials = finished(sweep_dir)
    assert [t.number for t in trials] == list(range(6))
    assert [outcome(t) for t in trials] == ["completed"] * 6
    run_dirs = {run_dir_of(sweep_dir, t) for t in trials}
    assert len(run_dirs) == 6
    for run_dir in run_dirs:
        assert len(read_metrics(run_dir)) == 3


class InterruptSecondRun:
    """Ctrl-C at epoch EPOCH of the second trial that starts."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.starts = epoch, 0

    def __call__(self, event: Event) -> None:
        """Count run starts; raise KeyboardInterrupt in the second run."""
        if isinstance(event, RunStart):
            self.starts += 1
        elif isinstance(event, EpochEnd) and self.starts == 2:
            if event.record["epoch"] == self.epoch:
                raise KeyboardInterrupt


def test_an_interrupted_sweep_resumes_its_trial_and_finishes(tmp_path: Path) -> None:
    grid = f"optimizer.lr=choice({', '.join(map(str, GRID))})"
    args = ([grid], "train.epochs=10")
    sweep_dir = new_sweep(tmp_path, *args, out="stopped", sampler="grid", prune=False)
    stopped = run_sweep(sweep_dir, reporters=[InterruptSecondRun(epoch=4)])
    assert stopped.interrupted
    trials = finished(sweep_dir)
    assert [outcome(t) for t in trials] == ["completed", "interrupted"]
    run_dir = run_dir_of(sweep_dir, trials[1])
    assert len(read_metrics(run_dir)) == 5  # epochs 0..4, saved with the checkpoint
    assert read_run_state(run_dir)["state"] == "interrupted"

    moved = tmp_path / "elsewhere"  # a sweep dir keeps working when moved
    shutil.move(sweep_dir, moved)
    sweep_dir, run_dir = moved, moved / run_dir.relative_to(sweep_dir)
    resumed = run_sweep(sweep_dir)
    assert not resumed.interrupted
    trials = finished(sweep_dir)
    done = [t for t in trials if outcome(t) == "completed"]
    assert sorted(t.params["optimizer.lr"] for t in done) == sorted(GRID)
    again = next(t for t in trials if t.user_attrs.get("resumes") == 1)
    assert run_dir_of(sweep_dir, again) == run_dir  # the same run, continued
    assert len(read_metrics(run_dir)) == 10
    # the same numbers as a sweep that was never interrupted
    whole = new_sweep(tmp_path, *args, out="whole", sampler="grid", prune=False)
    run_sweep(whole)
    values = {t.params["optimizer.lr"]: t.value for t in finished(whole)}
    assert {t.params["optimizer.lr"]: t.value for t in done} == values


def test_sweep_dir_records_the_plan(tmp_path: Path) -> None:
    sweep_dir = new_sweep(tmp_path, ["train.epochs=int(2,4)"], sampler="grid")
    plan = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    assert plan["params"] == {"train.epochs": "int(2,4)"}
    assert (plan["trials"], plan["metric"], plan["direction"]) == (3, "train_loss", "minimize")
    assert plan["storage"] is None  # study.journal beside sweep.json
    assert Plan.load(sweep_dir).storage_url() == str(sweep_dir / "study.journal")
    assert sweep_dir.parent == tmp_path / "out" / "sweeps" / "linear_regression"


def test_the_shipped_sweep_brings_b_close_to_the_data_s_b(tmp_path: Path) -> None:
    config = REPO / "configs" / "linear_regression_sweep.yaml"
    cfg = load_sweep_config(config, [], [], {"trials": 12})
    run_sweep(create_sweep(cfg, config, [], tmp_path))
    best = min((t for t in finished_in(tmp_path) if t.value is not None), key=lambda t: t.value)
    (sweep_dir,) = (tmp_path / "sweeps" / "linear_regression_sweep").iterdir()
    b = read_metrics(run_dir_of(sweep_dir, best))[-1]["b"]
    data = linear(100, 5.0, 0)
    slope, intercept = np.polyfit(data.x, data.y, 1)  # the best b this noisy sample allows
    assert data.meta["b"] == 2
    assert b == pytest.approx(intercept, abs=0.05)  # 2.41; the tutorial's 5 epochs reach 0.39
    least = float(np.mean((slope * data.x + intercept - data.y) ** 2))
    assert best.value == pytest.approx(least, rel=1e-3)  # 8.67, from the tutorial's 12.89


def finished_in(root: Path) -> list[Any]:
    """The trials of the one sweep under ROOT."""
    (sweep_dir,) = (root / "sweeps" / "linear_regression_sweep").iterdir()
    return finished(sweep_dir)


def test_a_metric_the_runs_do_not_record_fails_the_trial_with_the_reason(tmp_path: Path) -> None:
    sweep_dir = new_sweep(
        tmp_path, ["optimizer.lr=uniform(0.01,0.02)"], trials=1, metric="train_accuracy"
    )
    run_sweep(sweep_dir)
    (trial,) = finished(sweep_dir)
    assert outcome(trial) == "failed"
    assert trial.user_attrs["error"] == (
        "metric 'train_accuracy' is not recorded; try one of train_loss, w, b, lr"
    )
    assert len(read_metrics(run_dir_of(sweep_dir, trial))) == 1  # stopped after epoch 0


def test_two_sweeps_share_one_study_through_a_journal_file(tmp_path: Path) -> None:
    journal = tmp_path / "shared" / "study.journal"
    journal.parent.mkdir()
    param = ["optimizer.lr=loguniform(1e-3,2e-2)"]
    flags = {"trials": 2, "storage": str(journal), "study": "shared", "prune": False}
    first = new_sweep(tmp_path, param, "train.epochs=3", out="machine-a", **flags)
    second = new_sweep(tmp_path, param, "train.epochs=3", out="machine-b", **flags)
    run_sweep(first)
    run_sweep(second)  # joins the study: its own two trials, after the first sweep's two
    trials = finished(second)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert [outcome(t) for t in trials] == ["completed"] * 4
    for sweep_dir, numbers in ((first, [0, 1]), (second, [2, 3])):
        plan = Plan.load(sweep_dir)
        assert [t.number for t in trials if plan.owns(t)] == numbers
        for trial in trials:
            run_dir = plan.run_dir(trial)
            assert (run_dir is not None) == plan.owns(trial)
            if run_dir is not None:
                assert run_dir.parent.name == f"trial-{trial.number:03d}"
                assert len(read_metrics(run_dir)) == 3
