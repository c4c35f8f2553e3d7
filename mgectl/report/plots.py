"""The run's figures: loss and metric curves, the fit, confusion, predictions and regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CURVE_METRICS = ("val_accuracy", "val_r2", "train_accuracy")  # compare's right panel: the first


def _figure(width: float = 6.0, height: float = 4.5) -> Any:
    """A matplotlib Figure drawn by Agg, without pyplot's global state (imported lazily)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


# The metric drawn beside the loss, per task: the first of these the history has.
METRIC_KEYS = ("accuracy", "r2")


def loss_plot(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """Loss per epoch (log scale when it spans two decades) and, beside it, the task's metric."""
    metric = next(
        (key for key in METRIC_KEYS if any(r.get(f"val_{key}") is not None for r in history)),
        next(
            (k for k in METRIC_KEYS if any(r.get(f"train_{k}") is not None for r in history)), None
        ),
    )
    figure = _figure(10.0 if metric else 6.0, 4.5)
    axes = figure.subplots(1, 2 if metric else 1)
    loss_axes = axes[0] if metric else axes
    _curves(loss_axes, history, ("train_loss", "val_loss"), "loss")
    values = [r["train_loss"] for r in history if np.isfinite(r.get("train_loss", np.nan))]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        loss_axes.set_yscale("log")
    if metric:
        _curves(axes[1], history, (f"train_{metric}", f"val_{metric}"), metric)
    figure.suptitle(title)
    figure.savefig(path, dpi=100)


def _curves(axes: Any, history: list[dict[str, Any]], keys: tuple[str, ...], label: str) -> None:
    """One line per key of HISTORY over the epochs it has a value for."""
    for key, style in zip(keys, ("-", "o-"), strict=True):
        points = [(r["epoch"], r[key]) for r in history if r.get(key) is not None]
        if points:
            epochs, values = zip(*points, strict=True)
            axes.plot(epochs, values, style, label=key.replace("_", " "), markersize=3)
    axes.set_xlabel("epoch")
    axes.set_ylabel(label)
    axes.legend()


def confusion_plot(matrix: np.ndarray, names: list[str], path: Path, title: str) -> None:
    """The confusion matrix as a heat map: rows the true class, columns the predicted one."""
    size = max(4.5, 0.6 * len(names) + 2.5)
    figure = _figure(size, size)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    ticks = np.arange(len(names))
    axes.set_xticks(ticks, names, rotation=45, ha="right")
    axes.set_yticks(ticks, names)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > threshold else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=colour)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def prediction_plot(actual: np.ndarray, predicted: np.ndarray, path: Path, title: str) -> None:
    """Predicted against actual values: a perfect model puts every dot on the diagonal."""
    figure = _figure(5.0, 5.0)
    axes = figure.subplots()
    axes.scatter(actual, predicted, marker=".")
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], "--", color="grey", label="predicted = actual")
    axes.set_xlabel("actual")
    axes.set_ylabel("predicted")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def regions_plot(
    x: np.ndarray,
    labels: np.ndarray,
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    names: list[str],
    path: Path,
    title: str,
) -> None:
    """A 2-D classifier's decision regions (GRID: xs, ys, class per point) under its data."""
    figure = _figure()
    axes = figure.subplots()
    xs, ys, classes = grid
    count = len(names)
    axes.contourf(xs, ys, classes, levels=np.arange(count + 1) - 0.5, cmap="tab10", alpha=0.25,
                  vmin=0, vmax=9)  # fmt: skip
    for index, name in enumerate(names):
        mine = labels == index
        axes.scatter(x[mine, 0], x[mine, 1], s=8, color=f"C{index}", label=name)
    axes.set_xlabel("x0")
    axes.set_ylabel("x1")
    axes.set_title(title)
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=100)


def fit_plot(
    x: np.ndarray,
    y: np.ndarray,
    curve_x: np.ndarray,
    curve_y: np.ndarray,
    path: Path,
    title: str,
    truth: dict[str, float] | None = None,
) -> None:
    """The tutorial's figure: data as dots, the model's prediction as a blue line, and (when
    the generator's real w and b are known) the true line dashed, to see how far b still is."""
    figure = _figure()
    axes = figure.subplots()
    axes.scatter(x, y, marker=".", label="data")
    axes.plot(curve_x, curve_y, "-b", label="learned")
    if truth and {"w", "b"} <= truth.keys():
        real = truth["w"] * curve_x + truth["b"]
        axes.plot(curve_x, real, "--g", label=f"real: y = {truth['w']:g} x + {truth['b']:g}")
        axes.legend()
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.set_title(title)
    figure.savefig(path, dpi=100)


def compare_plot(curves: list[tuple[str, list[dict[str, Any]]]], path: Path) -> None:
    """Loss curves (train solid, validation dashed) and one metric's curves, runs overlaid."""
    recorded = {key for _, history in curves for record in history for key in record}
    metric = next((key for key in CURVE_METRICS if key in recorded), None)
    figure = _figure(11.0 if metric else 6.0, 4.5)
    axes = figure.subplots(1, 2 if metric else 1, squeeze=False)[0]
    colours = [f"C{index % 10}" for index in range(len(curves))]
    for (label, history), colour in zip(curves, colours, strict=True):
        for key, style, suffix in (("train_loss", "-", "train"), ("val_loss", "--", "val")):
            points = [(r["epoch"], r[key]) for r in history if r.get(key) is not None]
            if points:
                epochs, values = zip(*points, strict=True)
                axes[0].plot(epochs, values, style, color=colour, label=f"{label} {suffix}")
        if metric:
            points = [(r["epoch"], r[metric]) for r in history if r.get(metric) is not None]
            if points:
                epochs, values = zip(*points, strict=True)
                axes[1].plot(epochs, values, "-", color=colour, label=label)
    losses = [r[k] for _, h in curves for r in h for k in ("train_loss", "val_loss") if r.get(k)]
    if losses and min(losses) > 0:
        axes[0].set_yscale("log")  # runs being compared often differ by decades
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend(fontsize="small")
    if metric:
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel(metric)
        axes[1].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
