"""The console reporter: plain lines in logs, a table on a terminal, --quiet, progress bars."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import REPO
from rich.console import Console
from trainer_support import STATEFUL, run

from mgectl.report import console as report
from mgectl.report.console import ConsoleReporter, format_value
from mgectl.train.events import EpochEnd, RunStart, StepEnd

LINEAR = REPO / "configs" / "linear_regression.yaml"


def console(terminal: bool) -> Console:
    """A console writing to a string, pretending to be a terminal or a pipe."""
    return Console(file=io.StringIO(), force_terminal=terminal, width=120, color_system=None)


def output(tmp_path: Path, config: Path, *overrides: str, terminal: bool, quiet: bool = False):
    """Everything a run printed."""
    out = console(terminal)
    run(config, *overrides, out=tmp_path, console=out, quiet=quiet)
    return out.file.getvalue()


def test_plain_lines_per_epoch_when_not_a_terminal(tmp_path: Path) -> None:
    text = output(tmp_path, LINEAR, terminal=False)
    lines = text.splitlines()
    assert lines[0] == "mgectl train linear_regression"
    epoch_lines = [line for line in lines if line.startswith("epoch = ")]
    assert len(epoch_lines) == 5
    assert epoch_lines[0].startswith("epoch = 0, w = ")
    assert ", loss = " in epoch_lines[0] and ", lr = 0.01, time = " in epoch_lines[0]
    assert "\x1b[" not in text, "no escape codes in a log"


def test_a_table_on_a_terminal(tmp_path: Path, write_config: Callable) -> None:
    text = output(tmp_path, write_config(STATEFUL), terminal=True)
    assert "epoch = " not in text
    header = next(line for line in text.splitlines() if "val_acc" in line)
    assert header.split() == ["epoch", "loss", "acc", "val_loss", "val_acc", "lr", "time"]
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["0", "1", "2", "3", "4", "5"]
    assert all(len(row) == 7 and row[2].endswith("%") for row in rows)


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    text = output(tmp_path, LINEAR, terminal=False, quiet=True)
    assert "epoch = " not in text and "device" not in text
    assert "completed after 5/5 epochs" in text
    assert "learned  w = " in text and "metrics.jsonl" in text


def test_summary_lists_final_best_and_files(tmp_path: Path, write_config: Callable) -> None:
    text = output(tmp_path, write_config(STATEFUL), terminal=False)
    assert "final    loss " in text and "val_acc " in text
    assert "best     val_loss " in text
    for name in ("metrics.jsonl", "checkpoints/last.npz", "checkpoints/best.npz"):
        assert name in text


def _start() -> RunStart:
    return RunStart(
        name="x",
        run_dir=Path("runs/x/1"),
        device="cpu0",
        model="mlp",
        parameters=10,
        task="classification",
        train_size=10,
        val_size=0,
        features="2 features",
        epochs=2,
        start_epoch=0,
        steps_per_epoch=3,
        metric_keys=("train_loss",),
    )


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_only_on_a_terminal_and_for_slow_epochs(
    terminal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    reporter = ConsoleReporter(console=console(terminal))
    reporter(_start())
    reporter(StepEnd(0, 1, 3, 0.5))
    assert reporter.bar is None, "a fast epoch gets no bar"
    monkeypatch.setattr(report, "BAR_AFTER_SECONDS", -1.0)  # every epoch is now "slow"
    reporter(StepEnd(0, 2, 3, 0.4))
    assert (reporter.bar is not None) == terminal
    reporter(EpochEnd({"epoch": 0, "train_loss": 0.4, "lr": 0.1, "seconds": 2.0}, 2, True))
    assert reporter.bar is None


def test_numbers_are_formatted_for_reading() -> None:
    assert format_value("val_accuracy", 0.97) == "97.00%"
    assert format_value("train_loss", 1799.2254, 3) == "1799.225"
    assert format_value("lr", 0.001) == "0.001"
    assert format_value("val_loss", None) == "-"
    assert format_value("seconds", 1.234) == "1.23s"
