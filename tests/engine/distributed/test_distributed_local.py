"""engine.distributed inside one process: world size 1, and the logic that needs no MPI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import engine
import engine.distributed as dist
import engine.functional.distributed as FD
from engine.autodiff import GradManager
from engine.autodiff.check import check_registry
from engine.data import RandomSampler, SequentialSampler
from engine.distributed import group as group_module
from engine.distributed.comm import LocalCommunicator
from engine.distributed.launcher import main as launcher_main
from engine.distributed.launcher import maybe_launch, mpirun_command

ROOT = Path(__file__).resolve().parents[3]
LAUNCHER_VARS = [key for keys in group_module._LAUNCHER_ENV for key in keys]


@pytest.fixture(autouse=True)
def _not_launched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts outside any MPI job, with no process group."""
    for key in LAUNCHER_VARS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setitem(group_module._state, "comm", None)
    monkeypatch.setitem(group_module._state, "backend", None)


# ---- the process group ---------------------------------------------------------------------
def test_one_process_is_rank_zero_of_one() -> None:
    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank()) == (0, 1, 0)
    assert dist.is_main_process() and not dist.is_distributed()
    dist.init_process_group()
    assert isinstance(dist.WORLD.comm, LocalCommunicator)
    dist.group_barrier()
    with pytest.raises(RuntimeError, match="already called"):
        dist.init_process_group()


def test_rank_comes_from_the_launcher_before_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank()) == (1, 2, 1)
    assert not dist.is_main_process()


def test_world_size_without_a_launcher_says_how_to_launch() -> None:
    with pytest.raises(RuntimeError, match="mpirun -n 2 python -m mpi4py"):
        dist.init_process_group(world_size=2)


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group(backend="gloo")


def test_single_process_training_never_imports_mpi() -> None:
    code = (
        "import sys, numpy as np, engine, engine.distributed as dist\n"
        "import engine.functional.distributed as FD\n"
        "from engine.autodiff import GradManager\n"
        "w = engine.Parameter(np.ones(3, 'float32'))\n"
        "dist.bcast_list_([w])\n"
        "gm = GradManager().attach([w], callbacks=[dist.make_allreduce_cb('mean')])\n"
        "with gm:\n"
        "    gm.backward(FD.all_reduce_sum(w * w).sum())\n"
        "assert w.grad.numpy().tolist() == [2, 2, 2]\n"
        "assert dist.get_world_size() == 1\n"
        "print('mpi4py' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ---- F.distributed at world size 1 ----------------------------------------------------------
def test_collectives_are_identities_for_one_process() -> None:
    x = engine.Parameter(np.arange(6, dtype="float32").reshape(2, 3))
    for fn in (FD.all_reduce_sum, FD.all_reduce_max, FD.all_reduce_min, FD.broadcast):
        np.testing.assert_array_equal(fn(x).numpy(), x.numpy())
    np.testing.assert_array_equal(FD.all_gather(x, axis=1).numpy(), x.numpy())
    np.testing.assert_array_equal(FD.reduce_scatter_sum(x, axis=-1).numpy(), x.numpy())
    assert FD.all_reduce_sum(x, group=None) is x  # MegEngine: no group, no communication
    gm = GradManager().attach([x])
    with gm:
        y = FD.all_reduce_sum(x) * 3 + FD.all_gather(x) + FD.broadcast(x)
        gm.backward(y.sum())
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 5.0))


def test_collective_primitives_pass_the_gradient_check() -> None:
    names = [
        "all_reduce_sum",
        "all_reduce_max",
        "all_reduce_min",
        "all_gather",
        "reduce_scatter_sum",
        "broadcast",
    ]
    results = check_registry(names)
    assert [(r.name, r.status) for r in results] == [(n, "pass") for n in names]


# ---- the bucketed allreduce callback, against a fake second rank ---------------------------
class TwinComm(LocalCommunicator):
    """Pretends to be rank 0 of 2 whose peer's gradients are exactly twice ours."""

    rank, size = 0, 2

    def __init__(self) -> None:
        self.calls = 0

    def allreduce(self, backend: Any, x: Any, op: str = "sum", inplace: bool = False) -> Any:
        """x + 2x, written into x when inplace."""
        self.calls += 1
        out = x * 3
        if inplace:
            x[...] = out
            return x
        return out


def _params() -> list[engine.Parameter]:
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (5, 3), (2,)]
    params = [engine.Parameter(rng.standard_normal(s)) for s in shapes]
    params.append(engine.Parameter(rng.standard_normal(3), dtype="float64"))
    return params


def _backward(gm: GradManager, params: list, used: list | None = None) -> None:
    with gm:
        used_params = params if used is None else used
        gm.backward(sum((p * p).sum() for p in used_params))


def test_callback_packs_buckets_and_averages() -> None:
    comm = TwinComm()
    params = _params()
    cb = dist.make_allreduce_cb("mean", group=dist.Group(comm), bucket_bytes=60)
    _backward(GradManager().attach(params, callbacks=[cb]), params)
    # a bucket closes once it holds >= 60 bytes: 48+16, 60, then the rest; float64 apart
    shapes = [[p.shape for p in bucket] for bucket in cb.buckets]
    assert shapes == [[(3, 4), (4,)], [(5, 3)], [(2,)], [(3,)]]
    assert comm.calls == cb.allreduce_calls == 4
    for p in params:  # local grad 2p, peer's 4p: mean 3p
        np.testing.assert_allclose(p.grad.numpy(), 3 * p.numpy(), rtol=1e-6)
        assert p.grad.dtype == p.dtype


def test_callback_sum_and_accumulation() -> None:
    params = _params()
    cb = dist.make_allreduce_cb("sum", group=dist.Group(TwinComm()), bucket_bytes=60)
    gm = GradManager().attach(params, callbacks=[cb])
    _backward(gm, params)
    _backward(gm, params)  # accumulates: twice the summed gradient 6p
    for p in params:
        np.testing.assert_allclose(p.grad.numpy(), 12 * p.numpy(), rtol=1e-6)


def test_callback_reports_a_bucket_left_incomplete() -> None:
    params = _params()
    cb = dist.make_allreduce_cb("mean", group=dist.Group(TwinComm()), bucket_bytes=60)
    gm = GradManager().attach(params, callbacks=[cb])
    _backward(gm, params, used=[params[1]])  # (4,) shares its bucket with the unused (3, 4)
    with pytest.raises(RuntimeError, match=r"no gradient to tensors of shape \(3, 4\)"):
        _backward(gm, params)


def test_callback_is_the_identity_for_one_process() -> None:
    cb = dist.make_allreduce_cb("mean")
    grad = engine.Tensor([1.0, 2.0])
    assert cb(engine.Parameter([0.0, 0.0]), grad) is grad
    with pytest.raises(ValueError, match="'sum' or 'mean'"):
        dist.make_allreduce_cb("max")


# ---- DistributedSampler ---------------------------------------------------------------------
@pytest.mark.parametrize("world", [1, 2, 3])
def test_ranks_together_see_what_one_process_sees(world: int) -> None:
    data = range(50)
    ranks = [
        list(dist.DistributedSampler(data, 4, drop_last=True, seed=9, world_size=world, rank=r))
        for r in range(world)
    ]
    single = list(RandomSampler(data, batch_size=4 * world, drop_last=True, seed=9))
    assert all(len(batches) == len(single) for batches in ranks)
    for step, batch in enumerate(single):
        assert sum((ranks[r][step] for r in range(world)), []) == batch


def test_unshuffled_tail_is_split_without_empty_batches() -> None:
    ranks = [
        list(dist.DistributedSampler(range(9), 2, shuffle=False, world_size=4, rank=r))
        for r in range(4)
    ]
    assert list(SequentialSampler(range(9), 8)) == [list(range(8)), [8]]
    assert [r[0] for r in ranks] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [r[1] for r in ranks] == [[8], [0], [1], [2]]  # padded from the epoch's start
    assert len(dist.DistributedSampler(range(9), 2, world_size=4, rank=0)) == 2


def test_sampler_state_round_trips() -> None:
    a = dist.DistributedSampler(range(20), 2, seed=1, world_size=2, rank=1)
    list(a)
    b = dist.DistributedSampler(range(20), 2, seed=5, world_size=2, rank=1)
    b.load_state_dict(a.state_dict())
    assert list(a) == list(b)
    with pytest.raises(ValueError, match="out of range"):
        dist.DistributedSampler(range(4), 1, world_size=2, rank=2)


# ---- launcher -----------------------------------------------------------------------------
def test_mpirun_command_runs_python_under_mpi4py(tmp_path: Path) -> None:
    fake = tmp_path / "mpirun"  # not Open MPI: no Open MPI flags are added
    fake.write_text("#!/bin/sh\necho 'HYDRA build details'\n")
    fake.chmod(0o755)
    cmd = mpirun_command(3, ["-m", "mgectl", "train", "c.yaml"], mpirun=str(fake))
    assert cmd == [
        str(fake),
        "-n",
        "3",
        sys.executable,
        "-m",
        "mpi4py",
        "-m",
        "mgectl",
        "train",
        "c.yaml",
    ]
    with pytest.raises(ValueError, match="at least 1"):
        mpirun_command(0, ["x.py"], mpirun=str(fake))


def test_maybe_launch_runs_here_when_already_a_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    assert maybe_launch(1, ["x.py"]) is None  # one process: train in this one
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("PMI_SIZE", "2")
    assert maybe_launch(2, ["x.py"]) is None  # mpirun already started us
    with pytest.raises(RuntimeError, match="asked for 4 processes but mpirun started 2"):
        maybe_launch(4, ["x.py"])


def test_launcher_cli_needs_a_program() -> None:
    with pytest.raises(SystemExit):
        launcher_main(["-n", "2"])


# ---- backend choice -------------------------------------------------------------------------
class AnswersComm(LocalCommunicator):
    """Two ranks whose (problem, host, gpu) answers are given."""

    size = 2

    def __init__(self, answers: list) -> None:
        self.answers = answers

    def allgather_object(self, obj: Any) -> list:
        """The given answers (ours is the first)."""
        return self.answers


@pytest.mark.parametrize(
    ("answers", "chosen"),
    [
        ([(None, "a", 0), (None, "a", 1)], "nccl"),  # a GPU each
        ([(None, "a", 0), (None, "b", 0)], "nccl"),  # GPU 0 of two machines
        ([(None, "a", 0), (None, "a", 0)], "mpi"),  # one GPU shared: NCCL would refuse
        ([(None, "a", 0), ("not a GPU", "a", None)], "mpi"),
    ],
)
def test_nccl_only_when_every_rank_has_its_own_gpu(answers: list, chosen: str) -> None:
    comm = AnswersComm(answers)
    assert group_module._choose_backend(None, comm) == chosen
    if chosen == "mpi":
        with pytest.raises(RuntimeError, match='backend="nccl" cannot run'):
            group_module._choose_backend("nccl", comm)
    assert group_module._choose_backend("mpi", comm) == "mpi"
