"""Time a data-parallel step of an MLP with and without the allreduce callback.

    python -m benchmarks.distributed                       # 1 process
    python -m engine.distributed.launcher -n 2 -m benchmarks.distributed
    python -m benchmarks.distributed --sizes 784 512 256 10 --batch 256 --device cpu0

A step is forward, backward and an SGD-momentum update on `--batch` random samples per
rank. Rank 0 prints the median time per step with the callback, without it (each rank
then trains on its own), and one bare allreduce of all the gradients, in milliseconds.
The two variants alternate step by step, so both see the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

import engine
import engine.functional as F
from engine.autodiff import GradManager
from engine.core.allocator import tune_allocator
from engine.distributed import group as G
from engine.distributed.helper import _flat, bcast_list_, make_allreduce_cb
from engine.optimizer import SGD


def _mlp(sizes: Sequence[int]) -> list[engine.Parameter]:
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(engine.Parameter(rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)))
        params.append(engine.Parameter(np.zeros(fan_out)))
    return params


def _sync(t: engine.Tensor) -> None:
    """Wait for the GPU work queued so far (a CPU step is done when the call returns)."""
    if t.device.backend.is_gpu:
        t.device.xp.cuda.get_current_stream().synchronize()


def _stepper(params: list, callbacks: list, batch: int) -> Callable[[], float]:
    """A function that runs one training step and returns its seconds."""
    rng = np.random.default_rng(1 + G.get_rank())
    x = engine.Tensor(rng.standard_normal((batch, params[0].shape[1])))
    y = engine.Tensor(rng.integers(0, params[-1].shape[0], batch).astype("int32"))
    gm = GradManager().attach(params, callbacks=callbacks)
    opt = SGD(params, lr=0.01, momentum=0.9)

    def step() -> float:
        G.group_barrier()  # start every step together, so a rank's wait is not counted twice
        start = time.perf_counter()
        with gm:
            h = x
            for j in range(0, len(params) - 2, 2):
                h = F.relu(F.nn.linear(h, params[j], params[j + 1]))
            gm.backward(F.nn.cross_entropy(F.nn.linear(h, params[-2], params[-1]), y))
        opt.step().clear_grad()
        _sync(params[0])
        return time.perf_counter() - start

    return step


def _time_allreduce(params: list, repeats: int) -> float:
    """Median seconds of one in-place allreduce of a buffer the size of all gradients."""
    comm = G.WORLD.comm
    backend = params[0].device.backend
    buf = _flat(backend, [p._data for p in params])
    times = []
    for _ in range(repeats):
        G.group_barrier()
        start = time.perf_counter()
        comm.allreduce(backend, buf, "sum", inplace=True)
        _sync(params[0])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(args: Sequence[str] | None = None) -> None:
    """Parse options, time both variants, and print rank 0's numbers."""
    tune_allocator()  # as mgectl train does
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed")
    parser.add_argument("--sizes", type=int, nargs="+", default=[784, 512, 256, 10])
    parser.add_argument("--batch", type=int, default=256, help="samples per rank and step")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", help="e.g. cpu0 (default: the rank's GPU, else the CPU)")
    parser.add_argument("--backend", choices=G.BACKENDS, help="default: NCCL on GPUs, else MPI")
    ns = parser.parse_args(args)
    G.init_process_group(device=ns.device, backend=ns.backend)
    params = _mlp(ns.sizes)
    bcast_list_(params)
    n_floats = sum(p.size for p in params)
    variants = [
        _stepper(params, [make_allreduce_cb("mean")], ns.batch),
        _stepper(_mlp(ns.sizes), [], ns.batch),
    ]
    times: list[list[float]] = [[], []]
    for i in range(ns.warmup + ns.steps):
        for k, step in enumerate(variants):  # interleaved: both see the same machine load
            seconds = step()
            if i >= ns.warmup:
                times[k].append(seconds)
    with_cb, without = (statistics.median(t) for t in times)
    bare = _time_allreduce(params, ns.steps)
    if G.is_main_process():
        print(
            f"ranks={G.get_world_size()} backend={G.get_backend()} device={params[0].device} "
            f"mlp={'-'.join(map(str, ns.sizes))} batch/rank={ns.batch} "
            f"grads={n_floats} floats ({n_floats * 4 / 2**20:.2f} MiB)\n"
            f"  step with allreduce callback: {with_cb * 1e3:8.2f} ms\n"
            f"  step without callback:        {without * 1e3:8.2f} ms\n"
            f"  allreduce of all gradients:   {bare * 1e3:8.2f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
