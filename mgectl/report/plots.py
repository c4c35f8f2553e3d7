"""The run's figures: the loss curves and, for 1-D regression, the data with the fitted curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float = 6.0, height: float = 4.5) -> Any:
    """A matplotlib Figure drawn by Agg, without pyplot's global state (imported lazily)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def loss_plot(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """Train (and validation) loss per epoch; a log scale when the loss spans two decades."""
    figure = _figure()
    axes = figure.subplots()
    for key, style in (("train_loss", "-"), ("val_loss", "o-")):
        points = [(r["epoch"], r[key]) for r in history if r.get(key) is not None]
        if points:
            epochs, values = zip(*points, strict=True)
            axes.plot(epochs, values, style, label=key.replace("_", " "), markersize=3)
    values = [r["train_loss"] for r in history if np.isfinite(r.get("train_loss", np.nan))]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.legend()
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
