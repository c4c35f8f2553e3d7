"""The program each rank runs in the multi-process tests: `python -m mpi4py mpi_worker.py CASE OUT`.

Each case checks its results on every rank against NumPy (an AssertionError aborts the
whole job through `python -m mpi4py`) and writes what the test compares across ranks
into OUT/<case>-rank<r>.npz. Inputs are functions of the rank, so every rank can
compute every other rank's input and hence the expected result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import engine
import engine.distributed as dist
import engine.functional as F
import engine.functional.distributed as FD
import engine.module as M
from engine.autodiff import GradManager
from engine.data import ArrayDataset, DataLoader, RandomSampler
from engine.optimizer import SGD

SIZES = (20, 32, 16, 5)  # the MLP of the training test
GLOBAL_BATCH = 16
STEPS = 4


def rank_input(rank: int, shape: tuple = (4, 6), dtype: str = "float32") -> np.ndarray:
    """The array rank `rank` feeds to a collective (any rank can recompute it)."""
    return np.random.default_rng(100 + rank).standard_normal(shape).astype(dtype)


def check_collectives(device: str) -> dict[str, Any]:
    """Every F.distributed collective and its gradient against NumPy, on `device`."""
    rank, size = dist.get_rank(), dist.get_world_size()
    xs = [rank_input(r) for r in range(size)]
    cs = [rank_input(50 + r, (4 * size, 6)) for r in range(size)]  # per-rank cotangents
    close = np.testing.assert_allclose

    def param(a: np.ndarray) -> engine.Parameter:
        return engine.Parameter(a, device=device)

    x = param(xs[rank])
    close(FD.all_reduce_sum(x).numpy(), np.sum(xs, axis=0), rtol=1e-6)
    close(FD.all_reduce_max(x).numpy(), np.max(xs, axis=0))
    close(FD.all_reduce_min(x).numpy(), np.min(xs, axis=0))
    close(FD.all_gather(x).numpy(), np.concatenate(xs, axis=0))
    close(FD.all_gather(x, axis=1).numpy(), np.concatenate(xs, axis=1))
    big = [rank_input(r, (2 * size, 3)) for r in range(size)]
    close(
        FD.reduce_scatter_sum(param(big[rank])).numpy(),
        np.split(np.sum(big, axis=0), size)[rank],
        rtol=1e-6,
    )
    close(FD.broadcast(x).numpy(), xs[0])
    none_in = x if rank == 0 else None  # non-root ranks may pass nothing
    close(FD.broadcast(none_in).numpy(), xs[0])

    grads = {}
    # all_reduce_sum: each rank weighs the sum with its own cotangent; grad = sum of them
    gm = GradManager().attach([x])
    with gm:
        gm.backward((FD.all_reduce_sum(x) * cs[rank][:4]).sum())
    grads["all_reduce_sum"] = x.grad.numpy()
    close(grads["all_reduce_sum"], np.sum([c[:4] for c in cs], axis=0), rtol=1e-6)
    # all_gather: grad is reduce_scatter_sum of the cotangents (rank r's rows of their sum)
    x.grad = None
    with gm:
        gm.backward((FD.all_gather(x) * cs[rank]).sum())
    close(x.grad.numpy(), np.split(np.sum(cs, axis=0), size)[rank], rtol=1e-6)
    # reduce_scatter_sum: grad is all_gather of the cotangents
    y = param(big[rank])
    gm2 = GradManager().attach([y])
    with gm2:
        gm2.backward((FD.reduce_scatter_sum(y) * cs[rank][:2, :3]).sum())
    close(y.grad.numpy(), np.concatenate([c[:2, :3] for c in cs]), rtol=1e-6)
    # broadcast: the root's grad is the sum over ranks; the others pass None and get none
    x.grad = None
    with gm:
        out = FD.broadcast(x if rank == 0 else None)
        gm.backward((out * cs[rank][:4]).sum())
    if rank == 0:
        close(x.grad.numpy(), np.sum([c[:4] for c in cs], axis=0), rtol=1e-6)
    else:
        assert x.grad is None
    # all_reduce_max: the summed gradient flows to the rank holding the maximum
    x.grad = None
    with gm:
        gm.backward((FD.all_reduce_max(x) * cs[rank][:4]).sum())
    winner = np.argmax(xs, axis=0) == rank
    close(x.grad.numpy(), np.sum([c[:4] for c in cs], axis=0) * winner, rtol=1e-6)
    dist.group_barrier()
    return grads


def check_helpers(device: str) -> None:
    """bcast_list_, the bucketed allreduce callback (with accumulation) and the sampler."""
    rank, size = dist.get_rank(), dist.get_world_size()
    close = np.testing.assert_allclose
    shapes = [(3, 4), (4,), (5, 3), (2,)]
    params = [
        engine.Parameter(rank_input(rank + 7 * i, s), device=device) for i, s in enumerate(shapes)
    ]
    dist.bcast_list_(params)
    for i, (p, s) in enumerate(zip(params, shapes, strict=True)):
        close(p.numpy(), rank_input(7 * i, s))  # rank 0's values everywhere
    # 40 bytes per bucket: several buckets for four small float32 tensors
    cb = dist.make_allreduce_cb("mean", bucket_bytes=40)
    gm = GradManager().attach(params, callbacks=[cb])
    coeffs = [rank_input(30 + r, (4,)) for r in range(size)]

    def loss() -> engine.Tensor:
        c = coeffs[rank]
        return sum(float(c[i]) * (p * p).sum() for i, p in enumerate(params))

    with gm:
        gm.backward(loss())
    assert len(cb.buckets) > 1 and cb.allreduce_calls == len(cb.buckets)
    mean_c = np.mean(coeffs, axis=0)
    for i, p in enumerate(params):
        close(p.grad.numpy(), 2 * mean_c[i] * p.numpy(), rtol=1e-5)
    with gm:  # a second backward accumulates: old + reduced
        gm.backward(loss())
    for i, p in enumerate(params):
        close(p.grad.numpy(), 4 * mean_c[i] * p.numpy(), rtol=1e-5)
    # params[1] shares a bucket with params[2], which the loss ignores: the next pass says so
    for p in params:
        p.grad = None
    with gm:
        gm.backward((params[1] * params[1]).sum())
    try:
        with gm:
            gm.backward((params[1] * params[1]).sum())
    except RuntimeError as exc:
        assert "no gradient" in str(exc), exc
    else:
        raise AssertionError("an incomplete bucket went unnoticed")
    # DistributedSampler: the ranks' batches laid end to end are one process's batches
    data = list(range(37))
    mine = list(dist.DistributedSampler(data, batch_size=4, drop_last=True, seed=3))
    everyone = dist.WORLD.comm.allgather_object(mine)
    # world_size=1: one process's batches (left alone, RandomSampler would take this rank's)
    single = list(RandomSampler(data, 4 * size, True, world_size=1, rank=0, seed=3))
    assert [sum((b[k] for b in everyone), []) for k in range(len(single))] == single


def mlp(seed: int) -> M.Sequential:
    """The training test's MLP (M.Linear layers), initialised from `seed`."""
    engine.random.seed(seed)
    layers: list[M.Module] = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        layers += [M.Linear(fan_in, fan_out), M.ReLU()]
    return M.Sequential(*layers[:-1])


def mlp_data() -> ArrayDataset:
    """64 labelled points, the same in every process."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, SIZES[0])).astype("float32")
    return ArrayDataset(x, rng.integers(0, SIZES[-1], 64).astype("int32"))


def train(steps: int = STEPS) -> list[list[np.ndarray]]:
    """SGD-momentum steps of the MLP; returns every parameter after every step."""
    size = dist.get_world_size()
    model = mlp(seed=1 if dist.get_rank() == 0 else 1000 + dist.get_rank())
    params = list(model.parameters())
    dist.bcast_list_(params)  # the other ranks drew different weights: start from rank 0's
    gm = GradManager().attach(params, callbacks=[dist.make_allreduce_cb("mean")])
    opt = SGD(params, lr=0.1, momentum=0.9)
    data = mlp_data()
    if size == 1:
        sampler = RandomSampler(data, batch_size=GLOBAL_BATCH, drop_last=True, seed=5)
    else:
        sampler = dist.DistributedSampler(data, GLOBAL_BATCH // size, drop_last=True, seed=5)
    history = []
    for xb, yb in DataLoader(data, sampler=sampler):
        with gm:
            gm.backward(F.nn.cross_entropy(model(engine.Tensor(xb)), engine.Tensor(yb)))
        opt.step().clear_grad()
        history.append([p.numpy() for p in params])
        if len(history) == steps:
            break
    return history


def fail() -> None:
    """Rank 1 raises while rank 0 waits in a barrier it will never leave on its own."""
    dist.init_process_group()
    if dist.get_rank() == 1:
        raise RuntimeError("rank 1 fails on purpose")
    dist.group_barrier()


def main(case: str, out: Path) -> None:
    """Run one case and save what the test compares across ranks."""
    if case == "fail":
        fail()
        return
    dist.init_process_group(backend="mpi" if case == "gpu_mpi" else None)
    rank = dist.get_rank()
    saved: dict[str, np.ndarray] = {}
    if case == "collectives":
        saved.update(check_collectives("cpu0"))
        check_helpers("cpu0")
        # the host-staged path (what the MPI backend does with GPU arrays), on the simulated
        # device whose arrays refuse silent host copies just as CuPy's do
        from engine.testing import simulated

        simulated.install()
        check_collectives("sim0")
        check_helpers("sim0")
    elif case == "train":
        for step, params in enumerate(train()):
            saved.update({f"step{step}_p{i}": p for i, p in enumerate(params)})
    elif case in ("gpu_mpi", "gpu_nccl"):  # test_distributed_gpu.py, on a GPU machine
        expected = case.removeprefix("gpu_")
        assert dist.get_backend() == expected, (dist.get_backend(), expected)
        device = engine.get_default_device()
        assert device.startswith("gpu"), device
        check_collectives(device)
        check_helpers(device)
        history = train()
        peers = dist.WORLD.comm.allgather_object(history[-1])
        for mine, theirs in zip(peers[0], peers[1], strict=True):
            np.testing.assert_array_equal(mine, theirs)
    else:
        raise SystemExit(f"unknown case {case!r}")
    np.savez(out / f"{case}-rank{rank}.npz", **saved)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
