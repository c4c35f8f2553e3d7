"""Draw a generated dataset to a PNG with matplotlib (Agg backend, imported only when used)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgectl.errors import UserError

if TYPE_CHECKING:
    from engine.data import SyntheticData

MAX_IMAGES = 16


def plot_dataset(data: SyntheticData, path: Path) -> None:
    """Scatter 1-D regression or 2-D class data, or tile the first images; save to PATH."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if data.x.ndim > 2:
        figure = _image_grid(plt, data)
    else:
        figure, axes = plt.subplots(figsize=(6, 4.5))
        if data.x.ndim == 1:
            _regression(axes, data)
        else:
            _classes(axes, data)
        axes.set_title(f"{data.name}: {len(data)} samples")
    try:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror or error}") from None
    finally:
        plt.close(figure)


def _regression(axes: Any, data: SyntheticData) -> None:
    axes.scatter(data.x, data.y, marker=".")
    if data.name == "linear":
        low, high = float(data.x.min()), float(data.x.max())
        w, b = data.meta["w"], data.meta["b"]
        axes.plot([low, high], [w * low + b, w * high + b], "-r", label=f"y = {w}x + {b}")
        axes.legend()
    axes.set_xlabel("x")
    axes.set_ylabel("y")


def _classes(axes: Any, data: SyntheticData) -> None:
    if data.x.shape[1] < 2:
        axes.scatter(data.x[:, 0], data.y, c=data.y, marker=".", cmap="tab10")
        return
    points = axes.scatter(data.x[:, 0], data.x[:, 1], c=data.y, s=10, cmap="tab10")
    axes.legend(*points.legend_elements(), title="class", loc="best")
    axes.set_xlabel("x0")
    axes.set_ylabel("x1")


def _image_grid(plt: Any, data: SyntheticData) -> Any:
    count = min(len(data), MAX_IMAGES)
    columns = min(count, 4)
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2 * rows), squeeze=False)
    names = data.meta.get("class_names")
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            axis.imshow(data.x[index].reshape(data.x.shape[-2:]), cmap="gray", vmin=0, vmax=1)
            label = int(data.y[index])
            axis.set_title(names[label] if names else str(label), fontsize=9)
    return figure
