"""Metrics (loss; accuracy, macro-F1, confusion; MSE, RMSE, MAE, R²) and the best monitor."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import engine as mge
from engine.core.device import Device
from mgectl.build.losses import LossFn, predicted_classes

EVAL_CHUNK = 512  # rows per forward pass while evaluating: bounds memory for the CNN


@dataclass
class EvalSet:
    """A fixed data set moved to the device once, in chunks, with its labels kept on the host.

    Split over several ranks, each rank holds the chunks of its rows and `y` keeps every
    row's labels: metrics are sums over the ranks, divided by the whole set's size.
    """

    chunks: list[tuple[mge.Tensor, mge.Tensor, int]]
    y: np.ndarray
    rows: slice | None = None  # this rank's rows of y (None: all of them)

    @classmethod
    def on_device(
        cls, x: np.ndarray, y: np.ndarray, device: Device, rank: int = 0, size: int = 1
    ) -> EvalSet:
        """Split X, Y (this rank's share of them) into chunks of EVAL_CHUNK rows on DEVICE."""
        rows = None
        if size > 1:
            bounds = np.cumsum([0] + [len(part) for part in np.array_split(y, size)])
            rows = slice(int(bounds[rank]), int(bounds[rank + 1]))
        xs, ys = (x, y) if rows is None else (x[rows], y[rows])
        chunks = [
            (
                mge.tensor(xs[i : i + EVAL_CHUNK], device=device),
                mge.tensor(ys[i : i + EVAL_CHUNK], device=device),
                len(ys[i : i + EVAL_CHUNK]),
            )
            for i in range(0, len(ys), EVAL_CHUNK)
        ]
        return cls(chunks, y, rows)


def regression_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R² = 1 - SSE / SST of OUTPUTS against TARGETS (in float64)."""
    return _regression(*_errors(outputs, targets), targets)


def _errors(outputs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Sums of squared and of absolute errors, in float64."""
    diff = outputs.reshape(-1).astype(np.float64) - targets.reshape(-1).astype(np.float64)
    return float((diff**2).sum()), float(np.abs(diff).sum())


def _regression(sse: float, sae: float, targets: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R² from the error sums over all of TARGETS."""
    truth = targets.reshape(-1).astype(np.float64)
    sst = float(((truth - truth.mean()) ** 2).sum())
    mse = sse / len(truth)
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": sae / len(truth),
        "r2": 1.0 - sse / sst if sst > 0 else 0.0,
    }


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j]: samples of class i predicted as class j."""
    flat = labels.astype(np.int64) * classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def per_class(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 of each class from a confusion matrix (0 where undefined)."""
    right = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(right, predicted, out=np.zeros_like(right), where=predicted > 0)
    recall = np.divide(right, actual, out=np.zeros_like(right), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(right), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1}


def classification_metrics(matrix: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (the mean F1 over the classes that occur or are predicted)."""
    seen = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    f1 = per_class(matrix)["f1"]
    return {
        "accuracy": float(np.trace(matrix) / max(matrix.sum(), 1)),
        "f1": float(f1[seen].mean()) if seen.any() else 0.0,
    }


Combine = Callable[[Sequence[float]], list[float]]


@dataclass
class Outcome:
    """One pass over a data set: its metrics and, for classes, the confusion matrix."""

    metrics: dict[str, float]
    matrix: np.ndarray | None = None


def assess(
    model: Any,
    data: EvalSet,
    loss_fn: LossFn,
    loss_type: str,
    task: str,
    prefix: str = "val",
    combine: Combine | None = None,
    classes: int | None = None,
    target: Any = None,
) -> Outcome:
    """Loss and metrics of MODEL on DATA in eval mode (Dropout off, BatchNorm running stats),
    and a classifier's confusion matrix.

    COMBINE sums partial results over the ranks when DATA is this rank's share of the set.
    TARGET (a Standardizer of standardised regression targets) puts the metrics back in the
    data's own units; the loss stays the one training minimises.
    """
    model.eval()
    try:
        total = 0.0
        outputs = []
        for x, y, n in data.chunks:
            out = model(x)
            total += loss_fn(out, y).item() * n
            outputs.append(out.numpy())
    finally:
        model.train()
    mine = data.y if data.rows is None else data.y[data.rows]
    if task == "classification":
        count = classes or int(data.y.max()) + 1
        predicted = predicted_classes(np.concatenate(outputs), loss_type) if outputs else mine[:0]
        scores = confusion_matrix(mine, predicted, count).reshape(-1).astype(float).tolist()
    else:
        predicted, truth = (np.concatenate(outputs) if outputs else mine[:0]), mine
        if target is not None:
            predicted, truth = target.invert(predicted), target.invert(truth)
        scores = list(_errors(predicted, truth))
    if combine is not None:
        total, *scores = combine([total, *scores])
    metrics = {f"{prefix}_loss": total / len(data.y)}
    matrix = None
    if task == "classification":
        matrix = np.asarray(scores, dtype=np.int64).reshape(count, count)
        found = classification_metrics(matrix)
    else:
        found = _regression(
            scores[0], scores[1], data.y if target is None else target.invert(data.y)
        )
    metrics.update({f"{prefix}_{key}": value for key, value in found.items()})
    return Outcome(metrics, matrix)


LARGER_IS_BETTER = ("accuracy", "_r2", "_f1")  # every other metric is a loss or an error


def larger_is_better(key: str) -> bool:
    """Whether a larger value of metric KEY is better (accuracy, R², F1)."""
    return key.endswith(LARGER_IS_BETTER)


def monitored_key(early_stopping: Any, has_val: bool) -> str:
    """The metric a run watches for its best checkpoint: early stopping's, else a loss."""
    if early_stopping is not None:
        return early_stopping.monitor
    return "val_loss" if has_val else "train_loss"


class Monitor:
    """Tracks the best value of one metric and how many checks passed without improving."""

    def __init__(self, key: str, min_delta: float = 0.0) -> None:
        self.key = key
        self.maximize = larger_is_better(key)
        self.min_delta = min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0

    def update(self, record: dict[str, Any]) -> bool:
        """Look at RECORD's value (if it has one this epoch); True when it is a new best."""
        value = record.get(self.key)
        if value is None:
            return False
        if not math.isfinite(value):  # a NaN/inf metric is never a best value
            self.wait += 1
            return False
        gain = value - self.best if self.best is not None else None
        if gain is not None and not self.maximize:
            gain = -gain
        if gain is None or gain > self.min_delta:
            self.best, self.best_epoch, self.wait = float(value), int(record["epoch"]), 0
            return True
        self.wait += 1
        return False

    def state(self) -> dict[str, Any]:
        """Plain values for a checkpoint."""
        return {
            "monitor": self.key,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from state()."""
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


def fitted_curve(
    model: Any, data: Any, device: Device, points: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training data in original units and the model's prediction over its x range (1-D)."""
    x = data.x_train.reshape(len(data.x_train), 1)
    if data.standardizer is not None:
        x = data.standardizer.invert(x)
    curve_x = np.linspace(float(x.min()), float(x.max()), points, dtype=np.float32)
    inputs = curve_x.reshape(points, 1)
    if data.standardizer is not None:
        inputs = data.standardizer.apply(inputs)
    inputs = inputs.reshape(points) if data.shape.layout == "scalar" else inputs
    model.eval()
    try:
        curve_y = model(mge.tensor(inputs, device=device)).numpy().reshape(points)
    finally:
        model.train()
    y = data.y_train
    if data.target is not None:  # back to the data's own units
        curve_y, y = data.target.invert(curve_y), data.target.invert(y)
    return x.reshape(-1), y, curve_x, curve_y


def predict_rows(model: Any, x: np.ndarray, device: Device) -> np.ndarray:
    """MODEL's raw outputs for the rows of X, in eval mode and in chunks of EVAL_CHUNK."""
    model.eval()
    try:
        parts = [
            model(mge.tensor(x[i : i + EVAL_CHUNK], device=device)).numpy()
            for i in range(0, len(x), EVAL_CHUNK)
        ]
    finally:
        model.train()
    return np.concatenate(parts) if parts else np.zeros((0,), np.float32)


def region_grid(
    model: Any, data: Any, device: Device, loss_type: str, points: int = 150
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 2-D classifier's class at each point of a grid over its training data.

    Returns the training features in original units, and the grid's xs, ys and classes.
    """
    x = data.x_train
    if data.standardizer is not None:
        x = data.standardizer.invert(x)
    low, high = x.min(axis=0), x.max(axis=0)
    pad = 0.05 * (high - low)
    xs, ys = np.meshgrid(
        np.linspace(low[0] - pad[0], high[0] + pad[0], points, dtype=np.float32),
        np.linspace(low[1] - pad[1], high[1] + pad[1], points, dtype=np.float32),
    )
    inputs = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    if data.standardizer is not None:
        inputs = data.standardizer.apply(inputs)
    classes = predicted_classes(predict_rows(model, inputs, device), loss_type)
    return x, xs, ys, classes.reshape(xs.shape)
