"""Non-finite states are never kept: updated weights, optimizer buffers, metrics, best values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from mgectl_support import REPO
from trainer_support import run

from engine import serialization
from mgectl.errors import TrainingDivergedError
from mgectl.train.divergence import first_nonfinite_state
from mgectl.train.evaluate import Monitor
from mgectl.train.rundir import metrics_line, read_metrics

LINEAR = REPO / "configs" / "linear_regression.yaml"


def test_a_step_that_makes_the_weights_inf_is_never_committed(tmp_path: Path) -> None:
    # lr 1e38: the loss and gradients of epoch 0 are finite, the update makes w = b = inf
    with pytest.raises(TrainingDivergedError) as caught:
        run(LINEAR, "optimizer.lr=1e38", out=tmp_path)
    message = caught.value.message
    assert "became non-finite in the optimizer steps of epoch 0" in message
    assert "(0 epoch(s))" in message
    (run_dir,) = (tmp_path / "linear_regression").iterdir()
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").glob("*.npz"))
    assert checkpoints == ["last.npz"]  # no epoch finished, so no best
    saved = serialization.load(run_dir / "checkpoints" / "last.npz")
    assert {k: float(v[0]) for k, v in saved["model"].items()} == {"w": 0.0, "b": 0.0}
    assert saved["progress"]["epoch"] == 0
    assert read_metrics(run_dir) == []


def test_weights_overflowing_in_a_later_epoch_keep_the_epochs_before(tmp_path: Path) -> None:
    # lr 3e18: w grows by a factor of about 1e21 per epoch and overflows float32 in epoch 1
    with pytest.raises(TrainingDivergedError):
        run(LINEAR, "optimizer.lr=3e18", out=tmp_path)
    (run_dir,) = (tmp_path / "linear_regression").iterdir()
    for kind in ("last", "best"):
        saved = serialization.load(run_dir / "checkpoints" / f"{kind}.npz")
        assert all(np.isfinite(v).all() for v in saved["model"].values())
        assert saved["progress"]["epoch"] == 1
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1
    assert math.isfinite(json.loads(lines[0])["w"])


def test_optimizer_buffers_are_checked_too() -> None:
    state = {
        "model": {"w": np.ones(2, np.float32)},
        "optimizer": {"state": {0: {"exp_avg_sq": np.array([1.0, np.inf], np.float32)}}},
    }
    assert first_nonfinite_state(state) == "optimizer.state.0.exp_avg_sq"
    state["optimizer"]["state"][0]["exp_avg_sq"][1] = 0
    assert first_nonfinite_state(state) is None
    state["model"]["w"][0] = np.nan
    assert first_nonfinite_state(state) == "w"


def test_metrics_lines_are_strict_json() -> None:
    line = metrics_line({"epoch": 3, "val_loss": float("nan"), "w": float("-inf"), "lr": 0.1})
    assert line == '{"epoch": 3, "val_loss": null, "w": null, "lr": 0.1}\n'
    json.loads(line, parse_constant=lambda token: pytest.fail(f"non-JSON token {token}"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_metric_is_never_the_best(bad: float) -> None:
    monitor = Monitor("val_loss")
    assert not monitor.update({"epoch": 0, "val_loss": bad})
    assert monitor.best is None and monitor.wait == 1
    assert monitor.update({"epoch": 1, "val_loss": 2.0})
    assert not monitor.update({"epoch": 2, "val_loss": bad})
    assert (monitor.best, monitor.best_epoch, monitor.wait) == (2.0, 1, 1)
