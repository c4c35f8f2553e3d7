"""Each metric against a value computed by hand; the training-set metric is taken in eval mode."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from trainer_support import STATEFUL, train

from mgectl.build.builder import build
from mgectl.config.experiment import load_config
from mgectl.train.evaluate import (
    EvalSet,
    assess,
    classification_metrics,
    confusion_matrix,
    per_class,
    regression_metrics,
)
from mgectl.train.loop import RunResult

LABELS = np.array([0, 0, 0, 1, 1, 2])
PREDICTED = np.array([0, 1, 0, 1, 2, 2])


def test_confusion_matrix_counts_label_rows_and_prediction_columns() -> None:
    matrix = confusion_matrix(LABELS, PREDICTED, 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_per_class_precision_recall_f1_by_hand() -> None:
    found = per_class(confusion_matrix(LABELS, PREDICTED, 3))
    # class 0: 2 of 2 predicted right, 2 of 3 found; class 1: 1/2, 1/2; class 2: 1/2, 1/1
    np.testing.assert_allclose(found["precision"], [1.0, 0.5, 0.5])
    np.testing.assert_allclose(found["recall"], [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(found["f1"], [0.8, 0.5, 2 / 3])


def test_accuracy_and_macro_f1_by_hand() -> None:
    found = classification_metrics(confusion_matrix(LABELS, PREDICTED, 3))
    assert found["accuracy"] == pytest.approx(4 / 6)
    assert found["f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_a_class_that_never_occurs_does_not_drag_macro_f1_down() -> None:
    matrix = confusion_matrix(np.array([0, 1]), np.array([0, 1]), 4)
    assert classification_metrics(matrix) == {"accuracy": 1.0, "f1": 1.0}


def test_regression_metrics_by_hand() -> None:
    outputs = np.array([1.0, 2.0, 4.0])
    targets = np.array([1.0, 3.0, 5.0])
    found = regression_metrics(outputs, targets)
    # errors 0, -1, -1: SSE 2, SAE 2; SST = (1-3)^2 + 0 + (5-3)^2 = 8
    assert found == pytest.approx(
        {"mse": 2 / 3, "rmse": math.sqrt(2 / 3), "mae": 2 / 3, "r2": 0.75}
    )


def test_training_accuracy_is_measured_in_eval_mode(tmp_path: Path) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text(STATEFUL.replace("dropout: 0.1", "dropout: 0.5"), encoding="utf-8")
    cfg = load_config(config)
    result: RunResult = train(cfg, output_dir=tmp_path, plots=False, quiet=True)
    # rebuild the trained model and measure its training set in eval mode by hand
    built = build(cfg)
    built.model.load_state_dict(result.state)
    data = EvalSet.on_device(built.data.x_train, built.data.y_train, device=None)
    found = assess(built.model, data, built.loss, cfg.loss.type, "classification", "train")
    by_hand = found.metrics
    assert result.history[-1]["train_accuracy"] == pytest.approx(by_hand["train_accuracy"])
    assert result.history[-1]["train_f1"] == pytest.approx(by_hand["train_f1"])
    assert set(result.history[-1]) >= {"val_accuracy", "val_f1", "train_accuracy", "train_f1"}
