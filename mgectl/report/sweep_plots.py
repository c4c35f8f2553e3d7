"""A sweep's figures through optuna.visualization.matplotlib: history, importances, slices."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _save(draw: Callable[[], Any], path: Path, problems: list[str]) -> bool:
    """Draw one figure and write it to PATH; a figure Optuna cannot draw is noted, not fatal."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt
    from optuna.exceptions import ExperimentalWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            axes = draw()
    except (ValueError, RuntimeError, ZeroDivisionError) as error:
        problems.append(f"{path.name}: {error}")
        plt.close("all")
        return False
    figure = axes.flat[0].figure if hasattr(axes, "flat") else axes.figure
    figure.set_size_inches(7, 4.5)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close("all")
    return True


def sweep_plots(study: Any, params: list[str], out_dir: Path) -> tuple[list[Path], list[str]]:
    """history.png, importances.png (two completed trials at least) and slice-<param>.png.

    Returns the files written and, for the figures left out, why.
    """
    from optuna.visualization import matplotlib as vis

    out_dir.mkdir(parents=True, exist_ok=True)
    completed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    written: list[Path] = []
    problems: list[str] = []
    if not completed:
        return written, ["no completed trial to plot"]
    figures: list[tuple[str, Callable[[], Any]]] = [
        ("history.png", lambda: vis.plot_optimization_history(study))
    ]
    if len(completed) >= 2:
        figures.append(("importances.png", lambda: vis.plot_param_importances(study)))
    for param in params:
        name = f"slice-{re.sub(r'[^A-Za-z0-9_.-]', '_', param)}.png"
        figures.append((name, lambda param=param: vis.plot_slice(study, params=[param])))
    for name, draw in figures:
        if _save(draw, out_dir / name, problems):
            written.append(out_dir / name)
    return written, problems
