"""The communicator interface every backend implements, and the one-process communicator.

Collectives take the array *and* the Backend it lives on (NumPy, CuPy, the simulated
device), because a backend that works on host memory (MPI) must know how to stage a
device array through the host and back. Results are new arrays on the same backend.
"""

from __future__ import annotations

from typing import Any

from ..core.device import Backend

OPS = ("sum", "max", "min", "prod")


class Communicator:
    """Collective operations among `size` processes; this process is number `rank`."""

    name = "base"
    rank = 0
    size = 1

    def allreduce(self, backend: Backend, x: Any, op: str = "sum", inplace: bool = False) -> Any:
        """Elementwise `op` of x over all ranks, on every rank (written into x when inplace)."""
        raise NotImplementedError

    def allgather(self, backend: Backend, x: Any) -> Any:
        """Every rank's x stacked along a new axis 0: shape (size, *x.shape)."""
        raise NotImplementedError

    def reduce_scatter(self, backend: Backend, x: Any, op: str = "sum") -> Any:
        """x has shape (size, *s): rank r gets the reduction over ranks of x[r]."""
        raise NotImplementedError

    def broadcast(self, backend: Backend, x: Any, root: int = 0) -> Any:
        """Rank `root`'s x on every rank (x must have root's shape and dtype everywhere)."""
        raise NotImplementedError

    def reduce(self, backend: Backend, x: Any, root: int = 0, op: str = "sum") -> Any:
        """The reduction of x over ranks on `root`; None on the other ranks."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Wait until every rank has reached this call."""
        raise NotImplementedError

    def bcast_object(self, obj: Any, root: int = 0) -> Any:
        """A picklable object from `root`, on every rank."""
        raise NotImplementedError

    def allgather_object(self, obj: Any) -> list:
        """Every rank's picklable object, as a list indexed by rank."""
        raise NotImplementedError


class LocalCommunicator(Communicator):
    """World size 1: every collective is a copy, and nothing is imported for MPI."""

    name = "local"

    def allreduce(self, backend: Backend, x: Any, op: str = "sum", inplace: bool = False) -> Any:
        """x itself (inplace) or a copy: the reduction over one rank."""
        _check_op(op)
        return x if inplace else x.copy()

    def allgather(self, backend: Backend, x: Any) -> Any:
        """x with a new leading axis of length 1."""
        return x.copy().reshape((1, *x.shape))

    def reduce_scatter(self, backend: Backend, x: Any, op: str = "sum") -> Any:
        """x[0] (one rank holds the only chunk)."""
        _check_op(op)
        return x[0].copy()

    def broadcast(self, backend: Backend, x: Any, root: int = 0) -> Any:
        """A copy of x."""
        _check_root(root, 1)
        return x.copy()

    def reduce(self, backend: Backend, x: Any, root: int = 0, op: str = "sum") -> Any:
        """A copy of x (this rank is the root)."""
        _check_root(root, 1)
        _check_op(op)
        return x.copy()

    def barrier(self) -> None:
        """Nothing to wait for."""

    def bcast_object(self, obj: Any, root: int = 0) -> Any:
        """obj itself."""
        _check_root(root, 1)
        return obj

    def allgather_object(self, obj: Any) -> list:
        """[obj]."""
        return [obj]


def _check_op(op: str) -> None:
    if op not in OPS:
        raise ValueError(f"unknown reduction {op!r}: use one of {', '.join(OPS)}")


def _check_root(root: int, size: int) -> None:
    if not 0 <= root < size:
        raise ValueError(f"root rank {root} is out of range for a group of {size} process(es)")
