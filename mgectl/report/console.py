"""Rich console output for training events: header, a row per epoch, progress, summary panel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mgectl.train.events import CheckpointSaved, EpochEnd, Event, RunEnd, RunStart, StepEnd

BAR_AFTER_SECONDS = 1.0  # epochs shorter than this never show a progress bar
LABELS = {
    "train_loss": "loss",
    "train_accuracy": "acc",
    "val_loss": "val_loss",
    "val_accuracy": "val_acc",
    "val_mse": "val_mse",
    "val_r2": "val_r2",
}
STATUS = {
    "completed": ("green", "completed"),
    "early_stopped": ("green", "stopped early"),
    "interrupted": ("yellow", "interrupted"),
    "diverged": ("red", "diverged"),
}


def format_value(key: str, value: Any, decimals: int = 4) -> str:
    """A metric as the table shows it: percentages for accuracy, fixed decimals otherwise."""
    if value is None:
        return "-"
    if key.endswith("accuracy"):
        return f"{100 * value:.2f}%"
    if key == "lr":
        return f"{value:.4g}"
    if key == "seconds":
        return f"{value:.2f}s"
    if abs(value) >= 1e6:
        return f"{value:.{decimals}g}"
    return f"{value:.{decimals}f}"


class ConsoleReporter:
    """Prints a run as it goes; on a terminal with a progress bar for slow epochs."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(highlight=False)
        self.quiet = quiet
        self.start: RunStart | None = None
        self.keys: list[str] = []
        self.decimals = 4
        self.bar: Any = None
        self.bar_task: Any = None
        self.epoch_started = time.perf_counter()
        self.slow = False  # the last epoch took longer than BAR_AFTER_SECONDS

    def __call__(self, event: Event) -> None:
        """Route EVENT to its handler."""
        if isinstance(event, RunStart):
            self.on_start(event)
        elif isinstance(event, StepEnd):
            self.on_step(event)
        elif isinstance(event, EpochEnd):
            self.on_epoch(event)
        elif isinstance(event, RunEnd):
            self.on_end(event)
        elif isinstance(event, CheckpointSaved):
            pass  # the summary lists the files; a line per save would drown the table

    # ---- header and rows -------------------------------------------------------------------
    def on_start(self, event: RunStart) -> None:
        """Print what trains where; remember the columns."""
        self.start = event
        self.keys = [*event.param_keys, *event.metric_keys, "lr", "seconds"]
        # the tutorial prints w, b and loss with 3 decimals; keep its look for its model
        self.decimals = 3 if event.param_keys else 4
        self.epoch_started = time.perf_counter()
        if self.quiet:
            return
        rows = [("device", event.device), ("model", event.model)]
        data = f"{event.train_size} train / {event.val_size} val samples, {event.features}"
        rows.append(("data", f"{data}, {event.task}"))
        steps = f"{event.steps_per_epoch} step{'s' if event.steps_per_epoch != 1 else ''}"
        rows.append(("training", f"{event.epochs} epochs, {steps} per epoch"))
        if event.resumed_from is not None:
            rows.append(("resumed", f"from {event.resumed_from} after epoch {event.start_epoch}"))
        rows.append(("run dir", str(event.run_dir)))
        self.console.print(Text.assemble(("mgectl train ", "bold"), event.name))
        for label, text in rows:
            self.console.print(Text.assemble((f"  {label:<9}", "bold"), text), soft_wrap=True)
        if self.console.is_terminal:
            self.console.print(self._row(["epoch", *self._labels()], header=True))

    def _labels(self) -> list[str]:
        return [LABELS.get(key, "time" if key == "seconds" else key) for key in self.keys]

    def _row(self, cells: list[str], header: bool = False) -> Table:
        """One table row with fixed column widths, so rows printed apart still line up."""
        table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
        for index, _ in enumerate(cells):
            table.add_column(justify="right", width=7 if index == 0 else 10, no_wrap=True)
        table.add_row(*cells, style="bold" if header else None)
        return table

    def on_epoch(self, event: EpochEnd) -> None:
        """Close the progress bar; print the epoch's row when it is one to log."""
        self.slow = time.perf_counter() - self.epoch_started > BAR_AFTER_SECONDS
        self._stop_bar()
        self.epoch_started = time.perf_counter()
        if self.quiet or not event.logged:
            return
        record = event.record
        values = [format_value(k, record.get(k), self.decimals) for k in self.keys]
        if self.console.is_terminal:
            self.console.print(self._row([str(record["epoch"]), *values]))
        else:
            parts = [f"epoch = {record['epoch']}"]
            parts += [f"{label} = {v}" for label, v in zip(self._labels(), values, strict=True)]
            self.console.print(", ".join(parts), markup=False, soft_wrap=True)

    # ---- progress within an epoch -----------------------------------------------------------
    def on_step(self, event: StepEnd) -> None:
        """On a terminal, show a bar once an epoch has run for more than a second."""
        if self.quiet or not self.console.is_terminal:
            return
        if self.bar is None:
            if not self.slow and time.perf_counter() - self.epoch_started < BAR_AFTER_SECONDS:
                return
            self._start_bar(event)
        self.bar.update(self.bar_task, completed=event.step, loss=format_value("loss", event.loss))

    def _start_bar(self, event: StepEnd) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn(f"epoch {event.epoch}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bar_task = self.bar.add_task("train", total=event.steps, loss="")
        self.bar.start()

    def _stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    # ---- summary ----------------------------------------------------------------------------
    def on_end(self, event: RunEnd) -> None:
        """The summary panel: how it ended, final and best metrics, learned values, files."""
        self._stop_bar()
        colour, word = STATUS.get(event.status, ("white", event.status))
        lines = [
            f"[{colour}]{word}[/{colour}] after {event.epochs_done}/{event.epochs} epochs "
            f"in {event.seconds:.2f}s"
        ]
        if event.last is not None:
            skip = {"lr", "seconds", *(event.params or {})}
            shown = [k for k in self.keys if k not in skip and k in event.last]
            finals = [
                f"{LABELS.get(k, k)} {format_value(k, event.last[k], self.decimals)}"
                for k in shown
                if event.last[k] is not None
            ]
            lines.append("final    " + ", ".join(finals))
        best = event.best
        if best and best.get("best") is not None:
            value = format_value(best["monitor"], best["best"], self.decimals)
            lines.append(f"best     {best['monitor']} {value} at epoch {best['best_epoch']}")
        if event.test:
            shown = ("loss", "accuracy", "f1", "mse", "r2")
            scores = [
                f"{key} {format_value(f'test_{key}', event.test[f'test_{key}'], self.decimals)}"
                for key in shown
                if f"test_{key}" in event.test
            ]
            lines.append("test     " + ", ".join(scores))
        if event.params:
            learned = ", ".join(f"{k} = {v:.3f}" for k, v in event.params.items())
            lines.append(f"learned  {learned}")
        if event.truth:
            real = ", ".join(f"{k} = {v:.3f}" for k, v in event.truth.items())
            lines.append(f"real     {real}  (the data generator's)")
        lines += self._files(event.files)
        title = f"{self.start.name}" if self.start is not None else "run"
        self.console.print(Panel("\n".join(lines), title=title, expand=False))

    @staticmethod
    def _files(files: dict[str, Path]) -> list[str]:
        if not files:
            return []
        run = files.get("run")
        lines = [f"run dir  {run}"] if run is not None else []
        for key, path in files.items():
            if key == "run":
                continue
            shown = path.relative_to(run) if run is not None and path.is_relative_to(run) else path
            lines.append(f"         {shown}")
        return lines
