"""Validation metrics (loss, accuracy, MSE, R²) and the monitor behind best checkpoints."""

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


def accuracy(outputs: np.ndarray, labels: np.ndarray, loss_type: str) -> float:
    """Fraction of samples whose predicted class is the label."""
    return float((predicted_classes(outputs, loss_type) == labels).mean())


def regression_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Mean squared error and R² = 1 - SSE / SST (computed in float64)."""
    return _regression(_sse(outputs, targets), targets)


def _sse(outputs: np.ndarray, targets: np.ndarray) -> float:
    """Sum of squared errors in float64."""
    pred = outputs.reshape(-1).astype(np.float64)
    truth = targets.reshape(-1).astype(np.float64)
    return float(((pred - truth) ** 2).sum())


def _regression(sse: float, targets: np.ndarray) -> dict[str, float]:
    """MSE and R² from the sum of squared errors over all of TARGETS."""
    truth = targets.reshape(-1).astype(np.float64)
    sst = float(((truth - truth.mean()) ** 2).sum())
    return {"mse": sse / len(truth), "r2": 1.0 - sse / sst if sst > 0 else 0.0}


Combine = Callable[[Sequence[float]], list[float]]


def evaluate(
    model: Any,
    data: EvalSet,
    loss_fn: LossFn,
    loss_type: str,
    task: str,
    prefix: str = "val",
    combine: Combine | None = None,
) -> dict[str, float]:
    """Loss and metrics of MODEL on DATA in eval mode (Dropout off, BatchNorm running stats).

    COMBINE sums partial results over the ranks when DATA is this rank's share of the set.
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
    score = 0.0  # a rank may hold no rows of a tiny set
    if outputs and task == "classification":
        score = float((predicted_classes(np.concatenate(outputs), loss_type) == mine).sum())
    elif outputs:
        score = _sse(np.concatenate(outputs), mine)
    if combine is not None:
        total, score = combine([total, score])
    metrics = {f"{prefix}_loss": total / len(data.y)}
    if task == "classification":
        metrics[f"{prefix}_accuracy"] = score / len(data.y)
    else:
        for key, value in _regression(score, data.y).items():
            metrics[f"{prefix}_{key}"] = value
    return metrics


class Monitor:
    """Tracks the best value of one metric and how many checks passed without improving."""

    def __init__(self, key: str, min_delta: float = 0.0) -> None:
        self.key = key
        self.maximize = key.endswith("accuracy")
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
    return x.reshape(-1), data.y_train, curve_x, curve_y
