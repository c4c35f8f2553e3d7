"""train.trace / --trace: every shipped config trains to the same losses as eager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from trainer_support import (
    STATEFUL,
    InterruptAt,
    assert_same_weights,
    metrics_of,
    only_run,
    run,
    weights,
)

from mgectl.errors import TrainingInterruptedError

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
SHORT = {  # a few epochs (and less data) of each shipped config: enough steps to compare
    "linear_regression.yaml": ["train.epochs=3"],
    "mlp_regression.yaml": ["train.epochs=3", "data.n=200", "optimizer.scheduler.warmup_epochs=1"],
    "moons_mlp.yaml": ["train.epochs=2", "data.n=200"],
    "spirals_mlp.yaml": ["train.epochs=2", "data.n=200"],
    "iris_softmax.yaml": ["train.epochs=3"],
    "images_cnn.yaml": ["train.epochs=2", "data.n=150", "optimizer.scheduler.milestones=[1]"],
    "shapes_sequential.yaml": ["train.epochs=2", "data.n=150"],
    "moons_plugin.yaml": ["train.epochs=2", "data.n=200"],
    "linear_regression_sweep.yaml": ["train.epochs=3"],  # train ignores its sweep: section
}


def _losses(records: list[dict]) -> dict[str, list]:
    keys = [k for k in records[0] if k.endswith(("loss", "accuracy", "mse", "r2")) or k in "wb"]
    return {k: [r[k] for r in records] for k in keys}


def _assert_close(a: list[dict], b: list[dict]) -> None:
    la, lb = _losses(a), _losses(b)
    assert la.keys() == lb.keys()
    for key in la:
        x = np.array([np.nan if v is None else v for v in la[key]], dtype=float)
        y = np.array([np.nan if v is None else v for v in lb[key]], dtype=float)
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_traced_training_equals_eager_for_every_shipped_config(name: str, tmp_path: Path) -> None:
    short = SHORT.get(name, ["train.epochs=2"])  # a config shipped later: two epochs of it
    eager = run(CONFIGS / name, *short, out=tmp_path / "eager").run_dir
    traced = run(CONFIGS / name, *short, "train.trace=true", out=tmp_path / "t").run_dir
    _assert_close(metrics_of(traced), metrics_of(eager))


def test_traced_dropout_batchnorm_adam_and_resume(write_config: Callable, tmp_path: Path) -> None:
    cfg = write_config(STATEFUL)
    eager = run(cfg, out=tmp_path / "eager").run_dir
    with pytest.raises(TrainingInterruptedError):
        run(cfg, "train.trace=true", out=tmp_path / "cut", reporters=[InterruptAt(epoch=2, step=4)])
    run_dir = only_run(tmp_path / "cut", "exp")
    run(cfg, "train.trace=true", out=tmp_path / "unused", resume=run_dir)
    _assert_close(metrics_of(run_dir), metrics_of(eager))
    assert_same_weights(weights(run_dir), weights(eager))
