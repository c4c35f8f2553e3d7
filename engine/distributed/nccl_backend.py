"""NCCL collectives on CuPy arrays (`cupy.cuda.nccl`): one process per GPU, bootstrapped over MPI.

Rank 0 draws NCCL's unique id and the bootstrap communicator (MPI) broadcasts it; then
every rank joins the NCCL clique with its own GPU. Each collective is enqueued on
CuPy's current stream, so it is ordered after the kernels that produced its input and
before the ones that consume its output without any host synchronisation. Anything
NCCL cannot carry (host arrays, bool, pickled objects, barriers) goes through the
bootstrap communicator, which stages device memory through the host.

This module is imported only when a group is created with backend "nccl"; nothing
else in engine.distributed depends on it, so CPU-only machines never import CuPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.device import Backend
from .comm import Communicator, _check_op, _check_root

try:
    import cupy
    from cupy.cuda import nccl
except ImportError as exc:  # pragma: no cover - exercised only without CuPy
    raise ImportError(
        'the "nccl" backend needs CuPy with NCCL (pip install "mgectl[gpu]" and the '
        'nvidia-nccl wheel for your CUDA); use backend="mpi" to stage through the host'
    ) from exc

_DTYPES = {
    np.dtype(np.float16): nccl.NCCL_FLOAT16,
    np.dtype(np.float32): nccl.NCCL_FLOAT32,
    np.dtype(np.float64): nccl.NCCL_FLOAT64,
    np.dtype(np.int8): nccl.NCCL_INT8,
    np.dtype(np.uint8): nccl.NCCL_UINT8,
    np.dtype(np.int32): nccl.NCCL_INT32,
    np.dtype(np.int64): nccl.NCCL_INT64,
}
_OPS = {"sum": nccl.NCCL_SUM, "prod": nccl.NCCL_PROD, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}


def is_available() -> bool:
    """Whether CuPy sees a GPU and was built with NCCL."""
    try:
        return bool(getattr(nccl, "available", True)) and cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # a broken driver means "not available", not a crash at import
        return False


class NCCLCommunicator(Communicator):
    """NCCL for CuPy arrays on this rank's GPU; `bootstrap` for everything else."""

    name = "nccl"

    def __init__(self, bootstrap: Communicator, device_index: int) -> None:
        self.bootstrap = bootstrap
        self.rank, self.size = bootstrap.rank, bootstrap.size
        self.device_index = int(device_index)
        with cupy.cuda.Device(self.device_index):
            uid = nccl.get_unique_id() if self.rank == 0 else None
            uid = bootstrap.bcast_object(uid, root=0)
            # blocks until every rank has joined: all must reach this line together
            self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    # ---- routing -----------------------------------------------------------------------
    def _nccl_ok(self, backend: Backend, x: Any) -> bool:
        """Whether x is a CuPy array NCCL can carry (else the host-staged path takes it)."""
        if not (backend.is_gpu and isinstance(x, cupy.ndarray) and x.dtype in _DTYPES):
            return False
        if x.device.id != self.device_index:
            raise RuntimeError(
                f"NCCL communicator of rank {self.rank} is bound to gpu{self.device_index}, "
                f"but got an array on gpu{x.device.id}: keep each rank's tensors on its own GPU"
            )
        return True

    @staticmethod
    def _stream() -> int:
        return cupy.cuda.get_current_stream().ptr

    # ---- collectives -------------------------------------------------------------------
    def allreduce(self, backend: Backend, x: Any, op: str = "sum", inplace: bool = False) -> Any:
        """ncclAllReduce (in place when asked and x is contiguous)."""
        _check_op(op)
        if not self._nccl_ok(backend, x):
            return self.bootstrap.allreduce(backend, x, op, inplace)
        with cupy.cuda.Device(self.device_index):
            src = cupy.ascontiguousarray(x)
            out = src if inplace and src is x else cupy.empty_like(src)
            self.comm.allReduce(
                src.data.ptr, out.data.ptr, src.size, _DTYPES[x.dtype], _OPS[op], self._stream()
            )
            if inplace and out is not x:
                x[...] = out
                return x
            return out

    def allgather(self, backend: Backend, x: Any) -> Any:
        """ncclAllGather into a (size, *x.shape) array."""
        if not self._nccl_ok(backend, x):
            return self.bootstrap.allgather(backend, x)
        with cupy.cuda.Device(self.device_index):
            src = cupy.ascontiguousarray(x)
            out = cupy.empty((self.size, *x.shape), dtype=x.dtype)
            self.comm.allGather(
                src.data.ptr, out.data.ptr, src.size, _DTYPES[x.dtype], self._stream()
            )
            return out

    def reduce_scatter(self, backend: Backend, x: Any, op: str = "sum") -> Any:
        """ncclReduceScatter of a (size, *s) array: rank r gets the reduced x[r]."""
        _check_op(op)
        if x.shape[0] != self.size:
            raise ValueError(f"reduce_scatter needs a leading axis of {self.size}, got {x.shape}")
        if not self._nccl_ok(backend, x):
            return self.bootstrap.reduce_scatter(backend, x, op)
        with cupy.cuda.Device(self.device_index):
            src = cupy.ascontiguousarray(x)
            out = cupy.empty(x.shape[1:], dtype=x.dtype)
            self.comm.reduceScatter(
                src.data.ptr, out.data.ptr, out.size, _DTYPES[x.dtype], _OPS[op], self._stream()
            )
            return out

    def broadcast(self, backend: Backend, x: Any, root: int = 0) -> Any:
        """ncclBcast of root's x into a fresh array on every rank."""
        _check_root(root, self.size)
        if not self._nccl_ok(backend, x):
            return self.bootstrap.broadcast(backend, x, root)
        with cupy.cuda.Device(self.device_index):
            buf = cupy.array(x, copy=True, order="C")
            self.comm.bcast(buf.data.ptr, buf.size, _DTYPES[x.dtype], root, self._stream())
            return buf

    def reduce(self, backend: Backend, x: Any, root: int = 0, op: str = "sum") -> Any:
        """ncclReduce to root; None on the other ranks."""
        _check_root(root, self.size)
        _check_op(op)
        if not self._nccl_ok(backend, x):
            return self.bootstrap.reduce(backend, x, root, op)
        with cupy.cuda.Device(self.device_index):
            src = cupy.ascontiguousarray(x)
            out = cupy.empty_like(src)
            self.comm.reduce(
                src.data.ptr,
                out.data.ptr,
                src.size,
                _DTYPES[x.dtype],
                _OPS[op],
                root,
                self._stream(),
            )
            return out if self.rank == root else None

    def barrier(self) -> None:
        """Finish this rank's queued GPU work, then meet the others on the host."""
        cupy.cuda.get_current_stream().synchronize()
        self.bootstrap.barrier()

    def bcast_object(self, obj: Any, root: int = 0) -> Any:
        """Through the bootstrap communicator."""
        return self.bootstrap.bcast_object(obj, root)

    def allgather_object(self, obj: Any) -> list:
        """Through the bootstrap communicator."""
        return self.bootstrap.allgather_object(obj)
