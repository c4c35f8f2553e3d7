"""Resuming a run ends bit-identical to never stopping; bad resumes are clear user errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from trainer_support import (
    STATEFUL,
    InterruptAt,
    assert_same_weights,
    metrics_of,
    only_run,
    quiet_console,
    run,
    train,
    weights,
)

from engine import serialization
from mgectl.errors import ConfigError, TrainingInterruptedError, UserError
from mgectl.train.checkpoint import config_from_checkpoint


@pytest.fixture
def stateful(write_config: Callable) -> Path:
    """A config using every piece of state a resume has to restore."""
    return write_config(STATEFUL)


@pytest.fixture
def uninterrupted(stateful: Path, tmp_path: Path) -> Path:
    """The reference: the same config trained in one go."""
    return run(stateful, out=tmp_path / "straight").run_dir


@pytest.mark.parametrize(
    "stop",
    [InterruptAt(epoch=0), InterruptAt(epoch=3), InterruptAt(epoch=2, step=4)],
    ids=["after-epoch-0", "after-epoch-3", "mid-epoch-2"],
)
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(
    stop: InterruptAt, stateful: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingInterruptedError):
        run(stateful, out=tmp_path / "cut", reporters=[stop])
    run_dir = only_run(tmp_path / "cut", "exp")
    result = run(stateful, out=tmp_path / "unused", resume=run_dir)
    assert result.run_dir == run_dir, "a resume continues in the same run directory"
    assert not (tmp_path / "unused").exists()
    assert metrics_of(run_dir) == metrics_of(uninterrupted)
    assert_same_weights(weights(run_dir), weights(uninterrupted))
    assert_same_weights(weights(run_dir, "best"), weights(uninterrupted, "best"))


def test_fewer_epochs_then_resume_with_more_equals_one_run(
    stateful: Path, tmp_path: Path, cli: Callable
) -> None:
    # the legitimate user path: train 3 epochs, later ask for 6 on the command line
    no_schedule = ("optimizer.scheduler=null",)
    straight = run(stateful, *no_schedule, out=tmp_path / "straight").run_dir
    short = run(stateful, *no_schedule, "train.epochs=3", out=tmp_path / "short").run_dir
    result = cli("train", "--resume", str(short), "--set", "train.epochs=6", "-q")
    assert result.exit_code == 0, result.stderr
    assert metrics_of(short) == metrics_of(straight)
    assert_same_weights(weights(short), weights(straight))


def test_resume_accepts_a_checkpoint_file_and_a_name_folder(
    stateful: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingInterruptedError):
        run(stateful, out=tmp_path / "cut", reporters=[InterruptAt(epoch=1)])
    run_dir = only_run(tmp_path / "cut", "exp")
    run(stateful, out=tmp_path, resume=run_dir / "checkpoints" / "last.npz")
    assert metrics_of(run_dir) == metrics_of(uninterrupted)
    # a <root>/<name> folder resolves to its newest run, which is finished by now
    with pytest.raises(UserError, match="already finished 6 of train.epochs=6"):
        run(stateful, out=tmp_path, resume=tmp_path / "cut" / "exp")


def test_resume_drops_metrics_written_after_the_checkpoint(
    stateful: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingInterruptedError):
        run(stateful, out=tmp_path / "cut", reporters=[InterruptAt(epoch=3)])
    run_dir = only_run(tmp_path / "cut", "exp")
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"epoch": 4, "train_loss": 123.0}\n')  # as if a crash outran the save
    run(stateful, out=tmp_path, resume=run_dir)
    assert metrics_of(run_dir) == metrics_of(uninterrupted)


def test_the_checkpoint_holds_everything_a_resume_needs(uninterrupted: Path) -> None:
    saved = serialization.load(uninterrupted / "checkpoints" / "last.npz")
    assert {"model", "optimizer", "scheduler", "sampler", "rng", "progress"} <= set(saved)
    assert "history" not in saved  # metrics.jsonl keeps it: the size must not grow with epochs
    assert saved["progress"]["epoch"] == 6 and saved["scheduler"]["current_epoch"] == 6
    assert saved["data"]["mean"].shape == (2,) and saved["data"]["std"].shape == (2,)
    assert saved["config"]["data"]["generator"] == "moons"
    assert saved["optimizer"]["state"], "Adam's moment buffers are saved"


def test_resume_config_must_describe_the_same_experiment(
    stateful: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        run(stateful, "model.hidden=[8, 4]", "train.epochs=9", out=tmp_path, resume=uninterrupted)
    assert caught.value.problems == [
        f"--resume {uninterrupted / 'checkpoints' / 'last.npz'}: model.hidden: the checkpoint "
        "has [8, 8], the config has [8, 4]"
    ]
    with pytest.raises(ConfigError, match="data.noise: the checkpoint has 0.2, the config has 0.3"):
        run(stateful, "data.noise=0.3", "train.epochs=9", out=tmp_path, resume=uninterrupted)


def test_resume_may_change_the_learning_rate(
    stateful: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    result = run(
        stateful,
        "train.epochs=8",
        "optimizer.lr=0.001",
        "optimizer.scheduler=null",
        out=tmp_path,
        resume=uninterrupted,
    )
    assert [r["lr"] for r in result.history[6:]] == [0.001, 0.001]


def test_finished_and_early_stopped_runs_say_how_to_continue(
    stateful: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(UserError) as caught:
        run(stateful, out=tmp_path, resume=uninterrupted)
    assert "already finished 6 of train.epochs=6 epochs" in caught.value.message
    assert caught.value.hint == "ask for more epochs, e.g. --set train.epochs=12"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a zip archive"),
        (b"PK\x03\x04 truncated", "truncated or corrupted"),
        (b"\x80\x04pickle", "looks like a pickle"),
    ],
)
def test_a_corrupt_checkpoint_is_a_user_error(
    content: bytes, reason: str, stateful: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    with pytest.raises(UserError, match=reason):
        run(stateful, out=tmp_path, resume=bad)


def test_a_foreign_checkpoint_is_a_user_error(stateful: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "weights.npz"
    serialization.save({"w": [1.0]}, foreign)
    with pytest.raises(UserError, match="not one of an mgectl run"):
        run(stateful, out=tmp_path, resume=foreign)


def test_a_folder_without_runs_is_a_user_error(stateful: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a run directory"):
        run(stateful, out=tmp_path, resume=tmp_path / "empty")


def test_the_config_can_come_from_the_checkpoint(uninterrupted: Path) -> None:
    # its cosine ended at lr 0 with epoch 6: one more epoch needs a schedule of its own
    cfg = config_from_checkpoint(uninterrupted, ["train.epochs=7", "optimizer.scheduler.t_max=5"])
    assert (cfg.train.epochs, cfg.seed, cfg.model.hidden) == (7, 3, [8, 8])
    result = train(cfg, resume=uninterrupted, console=quiet_console(), plots=False)
    assert [r["epoch"] for r in result.history] == list(range(7))
