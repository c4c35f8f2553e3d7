"""Resuming with more epochs keeps a cosine schedule's lr continuous (or says why it cannot)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from trainer_support import InterruptAt, only_run, run

from mgectl.errors import TrainingInterruptedError
from mgectl.train.rundir import read_metrics

COSINE = """
data: {generator: moons, n: 100}
model: {type: mlp, hidden: [4]}
optimizer: {lr: 0.1, scheduler: {type: cosine, warmup_epochs: 1}}
train: {epochs: 6, batch_size: full}
"""


def lrs(run_dir: Path) -> list[float]:
    """The lr of each epoch in metrics.jsonl."""
    return [record["lr"] for record in read_metrics(run_dir)]


def test_more_epochs_continue_the_cosine_from_where_it_was(cli: Callable, tmp_path: Path) -> None:
    config = tmp_path / "cos.yaml"
    config.write_text(COSINE, encoding="utf-8")
    with pytest.raises(TrainingInterruptedError):
        run(config, out=tmp_path, reporters=[InterruptAt(epoch=2)])  # epochs 0-2 done
    run_dir = only_run(tmp_path, "cos")
    result = cli("train", "--resume", str(run_dir), "--set", "train.epochs=10", "-q")
    assert result.exit_code == 0, result.output
    got = lrs(run_dir)
    assert len(got) == 10
    # epochs 0-2 followed the 6-epoch cosine; epoch 3 keeps the lr that schedule gave it
    planned = 0.1 * (1 + math.cos(math.pi * 3 / 6)) / 2
    assert got[3] == pytest.approx(planned)
    # then it anneals on to 0 at epoch 10: a half cosine over epochs 3..10
    for epoch in range(3, 10):
        expected = planned * (1 + math.cos(math.pi * (epoch - 3) / 7)) / 2
        assert got[epoch] == pytest.approx(expected), epoch
    assert all(a > b for a, b in zip(got[2:], got[3:], strict=False)), "no jump upwards"


def test_a_finished_cosine_at_lr_0_refuses_more_epochs(cli: Callable, tmp_path: Path) -> None:
    config = tmp_path / "cos.yaml"
    config.write_text(COSINE, encoding="utf-8")
    run(config, out=tmp_path)
    result = cli("train", "--resume", str(only_run(tmp_path, "cos")), "--set", "train.epochs=9")
    assert result.exit_code == 2
    assert "the cosine reached lr 0 at epoch 6; 9 epochs would train the rest at lr 0" in (
        result.output
    )
