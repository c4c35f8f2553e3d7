"""`mgectl train --nproc N`: N ranks under mpirun train like one process with the same global batch.

mpirun is started from pytest (never pytest under mpirun), each job in its own process group
with a timeout that kills it whole, so a hang fails a test instead of the suite. Skipped
when mpi4py or mpirun is missing (the dist extra).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mgectl_support import REPO
from trainer_support import only_run, run, weights

from engine import serialization
from engine.distributed.group import _LAUNCHER_ENV
from engine.distributed.launcher import find_mpirun
from mgectl.train.rundir import read_metrics

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason="mpi4py missing"),
    pytest.mark.skipif(find_mpirun() is None, reason="mpirun not found (dist extra missing)"),
]

CONFIG = REPO / "configs" / "moons_mlp.yaml"
TIMEOUT = 90  # a healthy 2-rank run takes about 3 s
LAUNCHER_VARS = {name for names in _LAUNCHER_ENV for name in names}
# 803 train / 201 validation samples and a global batch of 64: the last batch (35) and the
# validation set split unevenly over 2 ranks, which must still average like one process
UNEVEN = ("--set", "data.n=1004", "--set", "train.batch_size=64")


def mgectl(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m mgectl ARGS` from the repository root; kill the whole job on a hang."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mgectl", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: mpirun and every rank die together
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"mgectl {' '.join(args)} hung for {TIMEOUT} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def assert_close_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Equal state dicts up to 1e-6 relative (summation order differs); the worst difference."""
    assert list(a) == list(b)
    worst = 0.0
    for key in a:
        scale = float(np.abs(a[key]).max()) or 1.0
        worst = max(worst, float(np.abs(a[key] - b[key]).max()) / scale)
    assert worst <= 1e-6, f"ranks and one process differ by {worst:.2e} (relative)"
    return worst


def train_loss(run_dir: Path) -> list[float]:
    """The train_loss of every epoch in metrics.jsonl."""
    return [record["train_loss"] for record in read_metrics(run_dir)]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """One 3-epoch run on 2 ranks (global batch 32): its run directory and its output."""
    out = tmp_path_factory.mktemp("two-ranks")
    result = mgectl("train", str(CONFIG), "--nproc", "2", "--set", "train.epochs=3", "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return only_run(out, "moons_mlp"), result


def test_two_ranks_equal_one_process_with_the_same_global_batch(
    two_ranks: tuple[Path, subprocess.CompletedProcess], tmp_path: Path
) -> None:
    run_dir, result = two_ranks
    single = run(CONFIG, "train.epochs=3", out=tmp_path / "single").run_dir
    assert_close_weights(weights(single), weights(run_dir))
    np.testing.assert_allclose(train_loss(run_dir), train_loss(single), rtol=1e-6)
    # rank 0 alone printed (one header, one row per epoch, one summary) and wrote the run
    assert result.stdout.count("mgectl train moons_mlp") == 1
    assert result.stdout.count("epoch = 0,") == 1
    assert result.stdout.count("completed after 3/3 epochs") == 1
    assert "2 processes" in result.stdout
    assert "\x1b[" not in result.stdout, "not a terminal: no escape codes from rank 0's pty"
    assert len(read_metrics(run_dir)) == 3
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["best.npz", "last.npz"]


def test_an_unevenly_split_last_batch_still_averages_like_one_process(tmp_path: Path) -> None:
    result = mgectl(
        "train", str(CONFIG), "--nproc", "2", "--set", "train.epochs=2", *UNEVEN,
        "-o", str(tmp_path / "ranks"), "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sets = ["train.epochs=2", *UNEVEN[1::2]]
    single = run(CONFIG, *sets, out=tmp_path / "single").run_dir
    ranks = only_run(tmp_path / "ranks", "moons_mlp")
    assert_close_weights(weights(single), weights(ranks))
    for mine, theirs in zip(read_metrics(ranks), read_metrics(single), strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-6), key


def test_traced_steps_on_two_ranks_equal_one_eager_process(tmp_path: Path) -> None:
    # --trace replays each step's graph; the allreduce callbacks still run on every replay
    result = mgectl(
        "train", str(CONFIG), "--nproc", "2", "--trace", "--set", "train.epochs=2", *UNEVEN,
        "-o", str(tmp_path / "ranks"), "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    single = run(CONFIG, "train.epochs=2", *UNEVEN[1::2], out=tmp_path / "single").run_dir
    ranks = only_run(tmp_path / "ranks", "moons_mlp")
    assert_close_weights(weights(single), weights(ranks))
    np.testing.assert_allclose(train_loss(ranks), train_loss(single), rtol=1e-6)


def test_a_two_rank_run_resumes_on_two_ranks(
    two_ranks: tuple[Path, subprocess.CompletedProcess], tmp_path: Path
) -> None:
    run_dir = tmp_path / "moons_mlp" / "copy"
    shutil.copytree(two_ranks[0], run_dir)
    result = mgectl("train", "--resume", str(run_dir), "--nproc", "2", "--set", "train.epochs=5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "after epoch 3" in result.stdout and result.stdout.count("completed after 5/5") == 1
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["copy"], "continued in place"
    assert [r["epoch"] for r in read_metrics(run_dir)] == [0, 1, 2, 3, 4]
    single = run(CONFIG, "train.epochs=5", out=tmp_path / "single").run_dir
    assert_close_weights(weights(single), weights(run_dir))


def test_a_batch_size_the_ranks_cannot_split_is_one_clear_error(
    cli: Callable, in_repo: Path, tmp_path: Path
) -> None:
    result = cli(
        "train", str(CONFIG), "--nproc", "2", "--set", "train.batch_size=33", "-o", str(tmp_path)
    )
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: train.batch_size: 33 is the global batch size and must split evenly among 2 "
        "processes"
    ]
    assert "--set train.batch_size=32 or 34" in result.stderr
    assert not any(tmp_path.iterdir()), "nothing was started, nothing written"


def test_one_process_imports_no_mpi_and_functional_reaches_distributed(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import engine.functional as F\n"
        "assert F.distributed.all_reduce_sum is not None and 'distributed' in F.__all__\n"
        "from mgectl.cli import main\n"
        f"sys.argv = ['mgectl', 'train', {str(CONFIG)!r}, '-q', '-o', {str(tmp_path)!r},\n"
        "            '--set', 'train.epochs=1']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print('mpi4py' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_sigterm_stops_every_rank_at_one_step_and_the_job_resumes(tmp_path: Path) -> None:
    import time

    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    args = ["train", str(CONFIG), "--nproc", "2", "-o", str(tmp_path), "-q"]
    args += ["--set", "train.epochs=100000", "--set", "train.early_stopping=null"]
    job = subprocess.Popen(
        [sys.executable, "-m", "mgectl", *args], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            lines = [len(read_metrics(m)) for m in tmp_path.glob("*/*/metrics.jsonl")]
            if lines and lines[0] >= 2:
                break
            time.sleep(0.05)
        job.send_signal(signal.SIGTERM)
        stdout, stderr = job.communicate(timeout=TIMEOUT)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == 143, stdout + stderr
    assert "interrupted: training stopped after" in stdout + stderr
    assert "MPI_ABORT" not in stderr
    run_dir = only_run(tmp_path, "moons_mlp")
    done = len(read_metrics(run_dir))
    saved = serialization.load(run_dir / "checkpoints" / "last.npz")
    assert saved["progress"]["epoch"] == done >= 2  # rank 0 wrote every finished epoch
    result = mgectl("train", "--resume", str(run_dir), "--nproc", "2",
                    "--set", f"train.epochs={done + 2}")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r["epoch"] for r in read_metrics(run_dir)] == list(range(done + 2))
