"""Two real processes under mpirun, started from pytest (never pytest under mpirun).

Each test runs mpi_worker.py on 2 ranks with a timeout and kills the whole process
group if it is exceeded, so a deadlock fails the test instead of hanging the suite.
Skipped when mpi4py or mpirun is missing (install the dist extra).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")  # the package only: MPI itself is never started in pytest

from engine.distributed.launcher import find_mpirun, mpirun_command  # noqa: E402

MPIRUN = find_mpirun()
pytestmark = pytest.mark.skipif(MPIRUN is None, reason="mpirun not found (dist extra missing)")

HERE = Path(__file__).resolve().parent
WORKER = HERE / "mpi_worker.py"
ROOT = HERE.parents[2]
TIMEOUT = 60  # generous for a loaded CI machine; a healthy run takes about 2 s


def run_ranks(case: str, out: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    """Run one worker case on nproc ranks; kill every rank if it outlives TIMEOUT."""
    cmd = mpirun_command(nproc, [str(WORKER), case, str(out)], mpirun=MPIRUN)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",  # two ranks on two cores: one BLAS thread each
    }
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a hang can be killed whole
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"mpirun {case} hung for {TIMEOUT} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"ranks failed:\n{result.stdout}\n{result.stderr}"


def test_collectives_match_numpy_on_two_ranks(tmp_path: Path) -> None:
    # every F.distributed op and its gradient, bcast_list_, the bucketed callback and the
    # sampler, on the CPU and through the host-staged path (simulated device): the
    # worker asserts against NumPy on each rank; here both ranks must have finished
    _ok(run_ranks("collectives", tmp_path))
    grads = [np.load(tmp_path / f"collectives-rank{r}.npz") for r in range(2)]
    # all_reduce_sum's gradient is itself all-reduced: identical on both ranks
    np.testing.assert_array_equal(grads[0]["all_reduce_sum"], grads[1]["all_reduce_sum"])


def _load_worker():
    spec = importlib.util.spec_from_file_location("mpi_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_ranks_train_like_one_process_with_twice_the_batch(tmp_path: Path) -> None:
    _ok(run_ranks("train", tmp_path))
    ranks = [np.load(tmp_path / f"train-rank{r}.npz") for r in range(2)]
    single = _load_worker().train()  # 1 process, batch 16, in this process (world size 1)
    assert len(single) >= 3
    for step, params in enumerate(single):
        for i, expected in enumerate(params):
            key = f"step{step}_p{i}"
            # the allreduce gives every rank the same bits: parameters never drift apart
            np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
            err = np.abs(ranks[0][key] - expected).max() / np.abs(expected).max()
            assert err <= 1e-6, f"{key}: relative difference {err:.2e} from one process"


def test_a_failing_rank_ends_the_job_and_names_itself(tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_ranks("fail", tmp_path)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "rank 1 fails on purpose" in output
    assert "rank 1 of 2 failed" in output
    assert elapsed < 20, f"the job took {elapsed:.1f} s to end after rank 1 failed"


def test_launcher_module_runs_a_script(tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text(
        "import engine.distributed as dist\n"
        "dist.init_process_group()\n"
        "dist.group_barrier()\n"
        "if dist.is_main_process():\n"
        "    print('world', dist.get_world_size(), flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "engine.distributed.launcher", "-n", "2", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    _ok(result)
    assert result.stdout.count("world 2") == 1  # only rank 0 prints
