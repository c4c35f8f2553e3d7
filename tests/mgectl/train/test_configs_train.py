"""Every shipped config trains and reaches the metric the README quotes for it.

moons, spirals and iris run at exactly their shipped settings (the README quotes those
numbers); the CNN is cut down to a few seconds and must still halve its loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import CONFIGS, REPO
from trainer_support import run

from mgectl.train.rundir import RunDir


def final(history: list[dict]) -> dict:
    """The last epoch's record."""
    return history[-1]


def linear_learns(history: list[dict]) -> None:
    assert final(history)["train_loss"] < history[0]["train_loss"] / 100
    assert final(history)["w"] == pytest.approx(9, abs=0.1)  # the generator's w for seed 0


def regression_fits(history: list[dict]) -> None:
    assert final(history)["val_r2"] >= 0.99


def accuracy_at_least(threshold: float) -> Callable[[list[dict]], None]:
    def check(history: list[dict]) -> None:
        assert final(history)["val_accuracy"] >= threshold

    return check


def loss_halves(history: list[dict]) -> None:
    chance = math.log(6)  # cross entropy of a uniform guess over the six shapes
    assert final(history)["val_loss"] <= chance / 2
    assert final(history)["val_loss"] <= history[0]["train_loss"] / 2 + 0.1


# config -> (--set overrides that keep the suite fast, the check)
EXPECTED: dict[str, tuple[tuple[str, ...], Callable[[list[dict]], None]]] = {
    "linear_regression": ((), linear_learns),
    "linear_regression_sweep": ((), linear_learns),  # train ignores the sweep section
    "mlp_regression": ((), regression_fits),
    "moons_mlp": ((), accuracy_at_least(0.97)),
    "spirals_mlp": ((), accuracy_at_least(0.97)),
    "iris_softmax": ((), accuracy_at_least(0.95)),
    "images_cnn": (
        (
            "data.n=600",
            "train.epochs=4",
            "train.batch_size=32",
            "optimizer.lr=0.005",
            "optimizer.scheduler=null",
        ),
        loss_halves,
    ),
    "shapes_sequential": (("data.n=600", "train.epochs=4", "optimizer.lr=0.005"), loss_halves),
    "moons_plugin": ((), accuracy_at_least(0.97)),
}


def test_every_config_has_an_expectation() -> None:
    assert {path.stem for path in CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_trains_and_reaches_its_metric(name: str, tmp_path: Path) -> None:
    overrides, check = EXPECTED[name]
    result = run(REPO / "configs" / f"{name}.yaml", *overrides, out=tmp_path)
    assert result.status in ("completed", "early_stopped")
    check(result.history)
    assert RunDir(result.run_dir).checkpoint("last").is_file()


def test_iris_runs_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the config names its CSV relative to itself
    result = run(REPO / "configs" / "iris_softmax.yaml", "train.epochs=2", out=Path("runs"))
    assert result.history[-1]["val_accuracy"] is not None
    assert result.run_dir.parent == Path("runs") / "iris_softmax"
