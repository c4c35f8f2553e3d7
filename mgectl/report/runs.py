"""Tables of runs (``mgectl runs``) and of their differences (``mgectl compare``)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from mgectl.report.console import format_value

STATE_STYLES = {
    "completed": "green",
    "early_stopped": "green",
    "running": "cyan",
    "interrupted": "yellow",
    "pruned": "yellow",
    "unfinished": "yellow",
    "diverged": "red",
}


def runs_table(runs: list[Any]) -> Table:
    """One row per run (tools.runs.RunInfo): name, id, state, epochs, best, time, device."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for title in ("name", "id", "state", "epochs", "best", "time", "device"):
        justify = "right" if title in ("epochs", "time") else "left"
        table.add_column(title, justify=justify, no_wrap=True)
    for run in runs:
        epochs = f"{run.epochs_done}/{run.epochs}" if run.epochs else str(run.epochs_done)
        best = "-"
        if run.best is not None:
            best = f"{run.monitor} {format_value(run.monitor, run.best)} @{run.best_epoch}"
        table.add_row(
            run.name,
            run.run_id,
            Text(run.state, style=STATE_STYLES.get(run.state, "")),
            epochs,
            best,
            "-" if run.seconds is None else f"{run.seconds:.2f}s",
            run.device or "-",
        )
    return table


def show(value: Any) -> str:
    """A config value in a cell."""
    if value is None:
        return "null"
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_table(labels: list[str], keys: list[str], configs: list[dict[str, Any]]) -> Table:
    """The config keys that differ, one row each, one column per run."""
    table = Table(title="config keys that differ", title_justify="left", header_style="bold")
    table.add_column("key")
    for label in labels:
        table.add_column(label, justify="right")
    for key in keys:
        table.add_row(key, *(show(config.get(key, "-")) for config in configs))
    return table


def metrics_table(labels: list[str], rows: list[tuple[str, list[float | None]]]) -> Table:
    """Final and best value of each metric, one column per run."""
    table = Table(title="metrics", title_justify="left", header_style="bold")
    table.add_column("metric")
    for label in labels:
        table.add_column(label, justify="right")
    for name, values in rows:
        key = name.split(" ", 1)[-1]
        table.add_row(name, *(format_value(key, value) for value in values))
    return table
