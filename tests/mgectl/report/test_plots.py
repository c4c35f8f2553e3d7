"""Each run's figures are written and non-empty, for every task, interrupted runs included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from trainer_support import REGRESSION, STATEFUL, InterruptAt, run

from engine.data import save_csv
from mgectl.errors import TrainingInterruptedError

IMAGES = """
data: {generator: images, n: 48, val_split: 0.25}
model: {type: cnn, channels: [2], hidden: [8]}
train: {epochs: 1, batch_size: 16}
"""
LINEAR = """
data: {generator: linear, n: 30}
model: {type: linear}
train: {epochs: 2, batch_size: full}
"""


def figures(tmp_path: Path, text: str, *overrides: str, **kwargs: object) -> dict[str, int]:
    """Train TEXT with plots on; the size in bytes of each PNG under the run's plots/."""
    config = tmp_path / "exp.yaml"
    config.write_text(text, encoding="utf-8")
    result = run(config, *overrides, out=tmp_path / "runs", plots=True, **kwargs)
    return {p.name: p.stat().st_size for p in (result.run_dir / "plots").glob("*.png")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (STATEFUL, {"loss.png", "confusion.png", "regions.png"}),  # 2-D classes
        (IMAGES, {"loss.png", "confusion.png"}),
        (REGRESSION, {"loss.png", "fit.png"}),  # one feature: the fitted curve
        (LINEAR, {"loss.png", "fit.png"}),
    ],
    ids=["moons", "images", "poly", "linear"],
)
def test_each_task_gets_its_figures(tmp_path: Path, text: str, expected: set[str]) -> None:
    sizes = figures(tmp_path, text)
    assert set(sizes) == expected
    assert all(size > 5_000 for size in sizes.values()), sizes


def test_regression_on_several_features_plots_predicted_against_actual(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    save_csv(tmp_path / "three.csv", x, x @ [1.0, -2.0, 0.5], feature_names=["a", "b", "c"])
    text = "data: {path: three.csv, val_split: 0.25, task: regression}\nmodel: {type: mlp}\n"
    sizes = figures(tmp_path, text + "train: {epochs: 2}\n")
    assert set(sizes) == {"loss.png", "predictions.png"}


def test_an_interrupted_run_gets_plots_of_what_it_did(tmp_path: Path) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text(STATEFUL, encoding="utf-8")
    with pytest.raises(TrainingInterruptedError):
        run(config, out=tmp_path / "runs", plots=True, reporters=[InterruptAt(epoch=2)])
    (plots,) = (tmp_path / "runs").glob("*/*/plots")
    assert {p.name for p in plots.glob("*.png")} == {"loss.png", "confusion.png", "regions.png"}
