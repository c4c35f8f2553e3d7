"""Signals, hard kills, locks and run selection: a stopped run loses nothing and resumes exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import REPO
from trainer_support import (
    assert_same_weights,
    metrics_of,
    only_run,
    quiet_console,
    run,
    train,
    weights,
)

from mgectl.config.experiment import load_config
from mgectl.errors import UserError
from mgectl.train.events import CheckpointSaved
from mgectl.train.rundir import find_checkpoint
from mgectl.train.runlock import RunLock, holder

# small and quick: about 10 ms an epoch, so a signal lands while it trains
LONG = """
seed: 5
data:
  generator: moons
  n: 96
  noise: 0.2
  val_split: 0.25
model:
  type: mlp
  hidden: [8]
optimizer:
  type: adam
  lr: 0.01
train:
  epochs: {epochs}
  batch_size: 8
"""
STEADY = 40  # epochs of the reference run every trial is compared with


def mgectl_process(*args: str, cwd: Path, prelude: str = "") -> subprocess.Popen:
    """`python -m mgectl ARGS` in a child process (PRELUDE runs first, e.g. to plant a kill).

    It touches .started in CWD just before the CLI starts (after the interpreter's own start).
    """
    code = f"{prelude}\nfrom mgectl.__main__ import main\nopen('.started', 'w').close()\nmain()"
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_epochs(run_root: Path, count: int, timeout: float = 60) -> Path:
    """The run directory once its metrics.jsonl holds COUNT lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for metrics in run_root.glob("*/*/metrics.jsonl"):
            if len(metrics.read_text().splitlines()) >= count:
                return metrics.parent
        time.sleep(0.02)
    raise AssertionError(f"no run under {run_root} reached {count} epochs in {timeout}s")


@pytest.fixture
def long_config(write_config: Callable) -> Path:
    """A run long enough to be stopped half way (train.epochs 100000)."""
    return write_config(LONG.format(epochs=100_000), name="long.yaml")


@pytest.fixture
def reference(write_config: Callable, tmp_path: Path) -> Path:
    """The same run trained in one go for STEADY epochs."""
    steady = write_config(LONG.format(epochs=STEADY), name="steady.yaml")
    return run(steady, out=tmp_path / "reference").run_dir


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c_and_the_resume_equals_one_run(
    signum: int, code: int, long_config: Path, reference: Path, tmp_path: Path
) -> None:
    job = mgectl_process("train", str(long_config), "-o", "out", "-q", cwd=tmp_path)
    run_dir = wait_for_epochs(tmp_path / "out", 3)
    job.send_signal(signum)
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == code, stderr
    assert stderr.startswith("interrupted: training stopped after "), stderr
    assert "Traceback" not in stderr
    done = len(metrics_of(run_dir))
    assert 3 <= done < STEADY
    resumed = mgectl_process(
        "train", "--resume", str(run_dir), "--set", f"train.epochs={STEADY}", "-q", cwd=tmp_path
    )
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert metrics_of(run_dir) == metrics_of(reference)
    assert_same_weights(weights(run_dir), weights(reference))


KILL_AT_THIRD_WRITE = textwrap.dedent(
    """
    import os, signal
    import engine.serialization as s
    real, writes = os.replace, []
    def replace(src, dst):
        writes.append(dst)
        if len(writes) == 3:  # the temp file is written, the rename has not happened
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)
    s.os = type("os", (), {**{k: getattr(os, k) for k in dir(os)}, "replace": replace})
    """
)


def test_kill_9_during_a_checkpoint_write_loses_nothing_written_before(
    long_config: Path, reference: Path, tmp_path: Path
) -> None:
    args = ("train", str(long_config), "-o", "out", "-q", "--set", "train.checkpoint_every=2")
    job = mgectl_process(*args, cwd=tmp_path, prelude=KILL_AT_THIRD_WRITE)
    job.communicate(timeout=60)
    assert job.returncode == -signal.SIGKILL
    run_dir = only_run(tmp_path / "out", "long")
    (stale,) = (run_dir / "checkpoints").glob(".*.tmp")  # the torn write's temp file
    resumed = mgectl_process(
        "train", "--resume", str(run_dir), "--set", f"train.epochs={STEADY}", "-q", cwd=tmp_path
    )
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert not stale.exists(), "stale temporaries are removed at the next start"
    assert metrics_of(run_dir) == metrics_of(reference)
    assert_same_weights(weights(run_dir), weights(reference))


# Holds the CLI's import open until the test's Ctrl-C arrives, so the signal always lands
# while starting (a sleep after .started raced with a fast start on an idle machine)
SLOW_CLI_IMPORT = """
import sys, time
class _SlowCliImport:
    def find_spec(self, name, path=None, target=None):
        if name == "mgectl.cli":
            open(".importing", "w").close()
            time.sleep(60)
        return None
sys.meta_path.insert(0, _SlowCliImport())
"""


def test_ctrl_c_while_starting_is_exit_130_without_a_traceback(tmp_path: Path) -> None:
    config = REPO / "configs" / "moons_mlp.yaml"
    job = mgectl_process("train", str(config), "-o", "out", cwd=tmp_path, prelude=SLOW_CLI_IMPORT)
    deadline = time.monotonic() + 30
    while not (tmp_path / ".importing").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    job.send_signal(signal.SIGINT)
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr


def test_a_second_trainer_in_the_same_run_is_refused_naming_the_holder(
    write_config: Callable, tmp_path: Path, cli: Callable
) -> None:
    config = write_config(LONG.format(epochs=2))
    run_dir = run(config, out=tmp_path).run_dir
    lock = RunLock.acquire(run_dir)
    try:
        assert holder(run_dir) == os.getpid()
        result = cli("train", "--resume", str(run_dir), "--set", "train.epochs=4", "-q")
        assert result.exit_code == 2
        assert f"process {os.getpid()} is training in this run directory" in result.stderr
        assert len(metrics_of(run_dir)) == 2, "the refused resume wrote nothing"
    finally:
        lock.release()
    assert holder(run_dir) is None
    result = cli("train", "--resume", str(run_dir), "--set", "train.epochs=4", "-q")
    assert result.exit_code == 0, result.stderr
    assert len(metrics_of(run_dir)) == 4


def test_a_lock_dies_with_its_process(write_config: Callable, tmp_path: Path) -> None:
    config = write_config(LONG.format(epochs=2))
    run_dir = run(config, out=tmp_path).run_dir
    code = f"from mgectl.train.runlock import RunLock; RunLock.acquire({str(run_dir)!r}); input()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 30
    while holder(run_dir) != child.pid and time.monotonic() < deadline:
        time.sleep(0.02)
    assert holder(run_dir) == child.pid
    with pytest.raises(UserError, match=f"process {child.pid} is training"):
        RunLock.acquire(run_dir)
    child.kill()
    child.wait()
    RunLock.acquire(run_dir).release()  # kill -9 left the file, but not the lock


def test_checkpoints_by_time_and_a_size_that_does_not_grow(
    write_config: Callable, tmp_path: Path
) -> None:
    config = write_config(LONG.format(epochs=30))

    def saves(*overrides: str, out: str) -> tuple[int, int]:
        seen: list[CheckpointSaved] = []
        cfg = load_config(config, list(overrides))
        result = train(
            cfg, output_dir=tmp_path / out, console=quiet_console(), plots=False,
            reporters=[lambda e: seen.append(e) if isinstance(e, CheckpointSaved) else None],
        )  # fmt: skip
        last = sum(1 for e in seen if e.kind == "last")
        return last, (result.run_dir / "checkpoints" / "last.npz").stat().st_size

    assert saves("train.checkpoint_seconds=0", out="a")[0] == 1  # at the end only
    every_epoch, size_30 = saves("train.checkpoint_seconds=1e-9", out="b")
    assert every_epoch == 31  # after each epoch (the time is always up), and at the end
    _, size_3 = saves("train.epochs=3", out="c")
    assert abs(size_30 - size_3) < 32  # a few more digits in the counters, nothing per epoch


def test_a_dead_newest_run_does_not_hide_the_good_one(
    write_config: Callable, tmp_path: Path, cli: Callable, capsys: pytest.CaptureFixture
) -> None:
    config = write_config(LONG.format(epochs=2))
    good = run(config, out=tmp_path).run_dir
    dead = good.parent / "99991231-235959-01"  # newer, killed before its first checkpoint
    (dead / "checkpoints").mkdir(parents=True)
    (dead / "metrics.jsonl").write_text("")
    result = cli("train", "--resume", str(good.parent), "--set", "train.epochs=3", "-q")
    assert result.exit_code == 0, result.stderr
    assert f"note: skipped {dead} (no checkpoint yet); using {good}" in result.stderr
    assert len(metrics_of(good)) == 3
    assert find_checkpoint(good.parent, ("best", "last")) == good / "checkpoints" / "best.npz"
    assert f"note: skipped {dead}" in capsys.readouterr().err
