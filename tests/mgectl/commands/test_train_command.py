"""`mgectl train` and `mgectl predict` end to end through the CLI: output, files, exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import REPO
from trainer_support import STATEFUL, only_run

import engine as mge
from mgectl.report import console as report
from mgectl.train.rundir import read_metrics

LINEAR = str(REPO / "configs" / "linear_regression.yaml")


def test_train_linear_regression(cli: Callable, tmp_path: Path) -> None:
    result = cli("train", LINEAR, "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    run_dir = only_run(tmp_path, "linear_regression")
    records = read_metrics(run_dir)
    first = records[0]
    tutorial = (
        f"epoch = 0, w = {first['w']:.3f}, b = {first['b']:.3f}, loss = {first['train_loss']:.3f}"
    )
    assert tutorial in result.stdout
    assert "device   xpux -> " in result.stdout
    assert "completed after 5/5 epochs" in result.stdout
    assert (run_dir / "plots" / "fit.png").is_file()
    assert result.stderr == ""


def test_quiet_prints_the_summary_only(cli: Callable, tmp_path: Path) -> None:
    result = cli("train", LINEAR, "-o", str(tmp_path), "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "epoch = " not in result.stdout
    assert "completed after 5/5 epochs" in result.stdout


def test_output_root_comes_from_the_config(
    cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", LINEAR, "--set", "output.root=elsewhere", "-q")
    assert result.exit_code == 0, result.stderr
    assert only_run(tmp_path / "elsewhere", "linear_regression").is_dir()


def test_gpu0_without_a_gpu_is_one_line_and_exit_2(cli: Callable, tmp_path: Path) -> None:
    if mge.is_cuda_available():
        pytest.skip("this machine has a GPU")
    result = cli("train", LINEAR, "--device", "gpu0", "-o", str(tmp_path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: device 'gpu0' is not available")
    assert lines[1].startswith("hint: ") and len(lines) == 2
    assert result.stdout == ""


def test_a_bad_set_value_is_refused_even_when_a_flag_sets_the_same_key(
    cli: Callable, tmp_path: Path
) -> None:
    # flags are applied first, so --set is checked (and wins) instead of being overwritten
    result = cli("train", LINEAR, "--trace", "--set", "train.trace=maybe", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --set train.trace=maybe: train.trace: must be true")
    assert not any(tmp_path.iterdir()), "nothing was trained"


def test_nan_exits_1_naming_epoch_step_and_parameter(
    cli: Callable, tmp_path: Path, write_config: Callable
) -> None:
    # seed 1: with seed 0 the shuffle (MegEngine's RandomState draws) leads this run to stay
    # finite (stuck at 50% accuracy) instead of overflowing
    path = write_config(
        "seed: 1\ndata: {generator: moons, n: 64}\nmodel: {type: mlp, hidden: [8]}\n"
        "optimizer: {lr: 1.0e+6}\ntrain: {epochs: 20, batch_size: 16}\n"
    )
    result = cli("train", str(path), "-o", str(tmp_path), "-q")
    assert result.exit_code == 1
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: loss became nan at epoch ")
    assert ", step " in error and "first non-finite gradient: 0.bias" in error
    assert hint.startswith("hint: lower the learning rate")
    assert "diverged" in result.stdout


def test_ctrl_c_exits_130_with_a_resume_command(
    cli: Callable, tmp_path: Path, write_config: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = report.ConsoleReporter.on_epoch

    def press_ctrl_c(self: report.ConsoleReporter, event: report.EpochEnd) -> None:
        original(self, event)
        if event.record["epoch"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(report.ConsoleReporter, "on_epoch", press_ctrl_c)
    path = write_config(STATEFUL)
    result = cli("train", str(path), "-o", str(tmp_path))
    assert result.exit_code == 130
    run_dir = only_run(tmp_path, "exp")
    message, hint = result.stderr.splitlines()
    assert message == (
        "interrupted: training stopped after 2 finished epoch(s); "
        f"{run_dir / 'checkpoints' / 'last.npz'} holds them"
    )
    assert hint == f"hint: continue with: mgectl train --resume {run_dir}"
    monkeypatch.setattr(report.ConsoleReporter, "on_epoch", original)
    resumed = cli("train", "--resume", str(run_dir), "-q")
    assert resumed.exit_code == 0, resumed.stderr
    assert [r["epoch"] for r in read_metrics(run_dir)] == list(range(6))


def test_train_needs_a_config_or_a_run(cli: Callable) -> None:
    result = cli("train")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: missing CONFIG")


def test_resume_from_a_corrupt_checkpoint_is_exit_2(cli: Callable, tmp_path: Path) -> None:
    bad = tmp_path / "last.npz"
    bad.write_bytes(b"not a zip")
    result = cli("train", "--resume", str(bad))
    assert result.exit_code == 2
    assert "is not an engine checkpoint: it is not a zip archive" in result.stderr


def test_predict_cli_table_and_wrong_count(cli: Callable, tmp_path: Path) -> None:
    assert cli("train", LINEAR, "-o", str(tmp_path), "-q").exit_code == 0
    run_dir = only_run(tmp_path, "linear_regression")
    good = tmp_path / "x.csv"
    good.write_text("x\n1.5\n-2\n", encoding="utf-8")
    result = cli("predict", str(run_dir), "--data", str(good))
    assert result.exit_code == 0, result.stderr
    assert "prediction" in result.stdout and "best.npz" in result.stdout
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    result = cli("predict", str(run_dir), "--data", str(wide))
    assert result.exit_code == 2
    assert "has 3 feature column(s), but the model was trained on 1 (x)" in result.stderr
