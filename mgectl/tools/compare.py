"""Comparing runs: the config keys that differ, final and best metrics, their curves."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mgectl.errors import UserError
from mgectl.tools.runs import read_config
from mgectl.train.evaluate import larger_is_better
from mgectl.train.rundir import is_run_dir, read_metrics

METRIC_SUFFIXES = ("_loss", "_accuracy", "_mse", "_r2")
ABSENT = "-"  # a key one run's config does not have


@dataclass(frozen=True)
class ComparedRun:
    """One run's config (dotted keys) and history."""

    label: str  # name/id
    path: Path
    config: dict[str, Any]
    history: list[dict[str, Any]]

    def final(self, key: str) -> float | None:
        """The last epoch's value of KEY that is not null."""
        values = [r[key] for r in self.history if r.get(key) is not None]
        return values[-1] if values else None

    def best(self, key: str) -> float | None:
        """The best value of KEY over the epochs (the largest for accuracy and R², else least)."""
        values = [r[key] for r in self.history if isinstance(r.get(key), int | float)]
        values = [v for v in values if v == v]  # NaN is never best
        if not values:
            return None
        return max(values) if larger_is_better(key) else min(values)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def load_runs(paths: list[Path]) -> list[ComparedRun]:
    """Read each run directory; a UserError names the first that is not one."""
    runs = []
    for path in paths:
        path = Path(path)
        if not is_run_dir(path) or not (path / "metrics.jsonl").is_file():
            raise UserError(
                f"{path}: not a run directory (no checkpoints/ and metrics.jsonl)",
                hint="list them with: mgectl runs",
            )
        label = f"{path.parent.name}/{path.name}"
        runs.append(ComparedRun(label, path, flatten(read_config(path)), read_metrics(path)))
    if len({run.path.parent.name for run in runs}) == 1:  # one experiment: its ids will do
        runs = [replace(run, label=run.path.name) for run in runs]
    return runs


def differing_keys(runs: list[ComparedRun]) -> list[str]:
    """The config keys whose values are not the same in every run, in config order."""
    keys: list[str] = []
    for run in runs:
        keys += [key for key in run.config if key not in keys]
    return [key for key in keys if len({repr(run.config.get(key, ABSENT)) for run in runs}) > 1]


def metric_keys(runs: list[ComparedRun]) -> list[str]:
    """The metrics any of the runs recorded (losses, accuracies, MSE, R²), in record order."""
    keys: list[str] = []
    for run in runs:
        for record in run.history:
            keys += [k for k in record if k.endswith(METRIC_SUFFIXES) and k not in keys]
    return keys


def compare_runs(paths: list[Path], out: Path, console: Any) -> list[ComparedRun]:
    """Print the differing config keys and the metrics of PATHS; draw their curves to OUT."""
    from mgectl.report.plots import compare_plot
    from mgectl.report.runs import config_table, metrics_table

    if len(paths) < 2:
        raise UserError("compare needs two or more run directories", hint="list them: mgectl runs")
    runs = load_runs(paths)
    labels = [run.label for run in runs]
    keys = differing_keys(runs)
    if keys:
        console.print(config_table(labels, keys, [run.config for run in runs]))
    else:
        console.print("the runs have the same config", markup=False)
    rows = []
    for key in metric_keys(runs):
        rows.append((f"final {key}", [run.final(key) for run in runs]))
        rows.append((f"best {key}", [run.best(key) for run in runs]))
    console.print(metrics_table(labels, rows))
    compare_plot([(run.label, run.history) for run in runs], out)
    console.print(f"curves: {out}", markup=False)
    return runs
