"""The GPU paths: NCCL through CuPy, and MPI staging CuPy arrays through the host.

Skipped without CuPy and a CUDA GPU (CI has none). With one GPU, NCCL runs as a world of
one (NCCL refuses two ranks on one GPU) and two ranks share the GPU through the host-staged
MPI path; with two or more GPUs, two ranks train over NCCL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

from engine.core.device import as_device, is_cuda_available  # noqa: E402

pytestmark = pytest.mark.skipif(not is_cuda_available(), reason="no CUDA GPU")


def _gpu_count() -> int:
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy without a driver: no GPU
        return 0


def test_nccl_collectives_in_a_world_of_one() -> None:
    from engine.distributed.comm import LocalCommunicator
    from engine.distributed.nccl_backend import NCCLCommunicator, is_available

    assert is_available()
    comm = NCCLCommunicator(LocalCommunicator(), 0)
    backend = as_device("gpu0").backend
    x = cupy.arange(12, dtype=cupy.float32).reshape(3, 4)
    host = cupy.asnumpy(x)
    for op in ("sum", "max", "min", "prod"):
        np.testing.assert_array_equal(cupy.asnumpy(comm.allreduce(backend, x, op)), host)
    y = x.copy()
    assert comm.allreduce(backend, y, "sum", inplace=True) is y
    np.testing.assert_array_equal(cupy.asnumpy(comm.allgather(backend, x)), host[None])
    np.testing.assert_array_equal(cupy.asnumpy(comm.reduce_scatter(backend, x[None])), host)
    np.testing.assert_array_equal(cupy.asnumpy(comm.broadcast(backend, x)), host)
    np.testing.assert_array_equal(cupy.asnumpy(comm.reduce(backend, x)), host)
    # a dtype NCCL lacks goes through the bootstrap communicator
    flags = cupy.asarray([True, False])
    np.testing.assert_array_equal(cupy.asnumpy(comm.broadcast(backend, flags)), [True, False])
    comm.barrier()
    assert comm.bcast_object({"a": 1}) == {"a": 1}


def test_nccl_allreduce_callback_in_a_world_of_one() -> None:
    import engine
    import engine.distributed as dist
    from engine.autodiff import GradManager
    from engine.distributed.comm import LocalCommunicator
    from engine.distributed.nccl_backend import NCCLCommunicator

    comm = NCCLCommunicator(LocalCommunicator(), 0)
    comm.size = 2  # make the callback pack and reduce; NCCL's world of one sums our grads alone
    params = [
        engine.Parameter(np.ones((3, 2)), device="gpu0"),
        engine.Parameter([1.0, 2.0], device="gpu0"),
    ]
    cb = dist.make_allreduce_cb("sum", group=dist.Group(comm))
    gm = GradManager().attach(params, callbacks=[cb])
    with gm:
        gm.backward(sum((p * p).sum() for p in params))
    assert cb.allreduce_calls == 1
    for p in params:
        np.testing.assert_allclose(p.grad.numpy(), 2 * p.numpy())


def _run_two(case: str, tmp_path: Path) -> None:
    from test_distributed_mpi import MPIRUN, _ok, run_ranks

    if MPIRUN is None:
        pytest.skip("mpirun not found")
    _ok(run_ranks(case, tmp_path))


def test_two_ranks_stage_gpu_tensors_through_the_host(tmp_path: Path) -> None:
    pytest.importorskip("mpi4py")
    _run_two("gpu_mpi", tmp_path)


@pytest.mark.skipif(_gpu_count() < 2, reason="NCCL needs a GPU per rank")
def test_two_ranks_over_nccl(tmp_path: Path) -> None:
    pytest.importorskip("mpi4py")
    _run_two("gpu_nccl", tmp_path)
