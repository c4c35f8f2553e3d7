"""A sweep on the console: a live table of trials (plain lines in a pipe) and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mgectl.report.console import format_value

STYLES = {
    "completed": "green",
    "pruned": "yellow",
    "diverged": "red",
    "failed": "red",
    "interrupted": "magenta",
    "running": "cyan",
    "waiting": "dim",
}


@dataclass(frozen=True)
class TrialRow:
    """What the table shows of one trial."""

    number: int
    state: str  # completed, pruned, diverged, failed, interrupted, running, waiting
    values: dict[str, Any]  # config key -> sampled value
    metric: float | None  # the trial's value, or its last reported epoch's
    epochs: int | None  # epochs the pruner saw
    seconds: float | None
    finished: bool
    run_dir: str | None = None
    note: str = ""  # why a trial failed or diverged


@dataclass(frozen=True)
class SweepSummary:
    """How a sweep went, for the closing panel."""

    study: str
    metric: str
    rows: list[TrialRow]
    best: TrialRow | None
    command: str | None  # the mgectl train command that reproduces the best trial
    sweep_dir: Path
    plots: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


def show_param(value: Any) -> str:
    """A parameter value in a table cell: 4 significant digits for floats."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trials_table(title: str, keys: list[str], metric: str, rows: list[TrialRow]) -> Table:
    """One row per trial: number, state, parameters, metric, epochs, seconds."""
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("state")
    for key in keys:
        table.add_column(key, justify="right")
    table.add_column(metric, justify="right")
    table.add_column("epochs", justify="right")
    table.add_column("time", justify="right")
    for row in sorted(rows, key=lambda r: r.number):
        table.add_row(
            str(row.number),
            Text(row.state, style=STYLES.get(row.state, "")),
            *(show_param(row.values[k]) if k in row.values else "-" for k in keys),
            format_value(metric, row.metric),
            "-" if row.epochs is None else str(row.epochs),
            "-" if row.seconds is None else f"{row.seconds:.2f}s",
        )
    return table


def trial_line(metric: str, row: TrialRow) -> str:
    """A finished trial as one plain line (for logs and pipes)."""
    params = ", ".join(f"{k}={show_param(v)}" for k, v in row.values.items())
    line = (
        f"trial {row.number} {row.state}: {params}, {metric} = {format_value(metric, row.metric)}"
        f", epochs {row.epochs if row.epochs is not None else '-'}, {row.seconds or 0.0:.2f}s"
    )
    return f"{line} ({row.note})" if row.note else line


class SweepConsole:
    """Shows the trials as they go: a live table on a terminal, a line per trial elsewhere."""

    def __init__(
        self,
        study: str,
        keys: list[str],
        metric: str,
        direction: str,
        console: Console | None = None,
    ) -> None:
        self.title = f"sweep {study}: {metric} ({direction})"
        self.keys, self.metric = keys, metric
        self.console = console or Console(highlight=False)
        self.live: Live | None = None
        self.printed: set[int] = set()

    def __enter__(self) -> SweepConsole:
        if self.console.is_terminal:
            self.live = Live(console=self.console, refresh_per_second=4, transient=False)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __call__(self, rows: list[TrialRow]) -> None:
        """Show the trials as they stand now."""
        if self.live is not None:
            self.live.update(trials_table(self.title, self.keys, self.metric, rows))
            return
        for row in sorted(rows, key=lambda r: r.number):
            if row.finished and row.number not in self.printed:
                self.printed.add(row.number)
                self.console.print(trial_line(self.metric, row), markup=False, soft_wrap=True)


def print_summary(summary: SweepSummary, console: Console) -> None:
    """The panel, then the command reproducing the best trial on one unwrapped line."""
    console.print(summary_panel(summary))
    if summary.command is not None:
        console.print("train the best trial again:", style="bold")
        console.print(f"  {summary.command}", markup=False, highlight=False, soft_wrap=True)


def summary_panel(summary: SweepSummary) -> Panel:
    """How the sweep went: counts, the best trial, its run dir, the files."""
    counts: dict[str, int] = {}
    for row in summary.rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    word = "[yellow]interrupted[/yellow]" if summary.interrupted else "[green]finished[/green]"
    lines = [f"{word}: {len(summary.rows)} trials ({tally}) in {summary.seconds:.2f}s"]
    best = summary.best
    if best is None:
        lines.append("best     no trial completed")
    else:
        value = format_value(summary.metric, best.metric)
        lines.append(escape(f"best     trial {best.number}: {summary.metric} {value}"))
        lines += [escape(f"         {key} = {show_param(v)}") for key, v in best.values.items()]
        lines.append(escape(f"run dir  {best.run_dir or '-'}"))
    lines.append(escape(f"sweep    {summary.sweep_dir}"))
    lines += [escape(f"         {path.relative_to(summary.sweep_dir)}") for path in summary.plots]
    if summary.interrupted:
        lines.append(escape(f"resume   mgectl sweep --resume {summary.sweep_dir}"))
    return Panel("\n".join(lines), title=escape(f"sweep {summary.study}"), expand=False)
