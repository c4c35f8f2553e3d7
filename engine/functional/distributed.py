"""F.distributed: collective communication on tensors, differentiable as in MegEngine.

    import engine.functional.distributed as FD   # or F.distributed once exported
    total = FD.all_reduce_sum(x)                 # grad: all_reduce_sum of the grad
    full = FD.all_gather(x, axis=0)              # grad: reduce_scatter_sum of the grad
    w = FD.broadcast(w)                          # rank 0's w everywhere; grad summed on rank 0

Every rank must call the same collectives in the same order (and, when recording, build
the same graph), or the processes wait on each other forever. `group=None` returns the
input unchanged, as MegEngine does.
"""

from __future__ import annotations

from typing import Any

from ..core.tape import RECORDING
from ..distributed import ops as P
from ..distributed.group import WORLD, Group
from ..tensor import Tensor, apply, as_tensor
from .tensor import zeros

__all__ = [
    "all_gather",
    "all_reduce_max",
    "all_reduce_min",
    "all_reduce_sum",
    "broadcast",
    "reduce_scatter_sum",
]


def _prepare(inp: Any, device: Any) -> Tensor:
    inp = as_tensor(inp)
    return inp.to(device) if device is not None and inp.device != device else inp


def _collective(prim: Any, inp: Any, group: Group | None, device: Any, **params: Any) -> Tensor:
    if group is None:
        return inp
    inp = _prepare(inp, device)
    return apply(prim, inp, group=group, backend=inp.device.backend, **params)


def all_reduce_sum(inp: Tensor, group: Group | None = WORLD, device: Any = None) -> Tensor:
    """The elementwise sum of inp over the group's ranks, on every rank."""
    return _collective(P.all_reduce_sum, inp, group, device)


def all_reduce_max(inp: Tensor, group: Group | None = WORLD, device: Any = None) -> Tensor:
    """The elementwise maximum of inp over the group's ranks, on every rank."""
    return _collective(P.all_reduce_max, inp, group, device)


def all_reduce_min(inp: Tensor, group: Group | None = WORLD, device: Any = None) -> Tensor:
    """The elementwise minimum of inp over the group's ranks, on every rank."""
    return _collective(P.all_reduce_min, inp, group, device)


def all_gather(
    inp: Tensor, group: Group | None = WORLD, device: Any = None, axis: int = 0
) -> Tensor:
    """Every rank's inp concatenated along axis, in rank order."""
    if group is None:
        return inp
    inp = _prepare(inp, device)
    return _collective(P.all_gather, inp, group, None, axis=axis % max(inp.ndim, 1))


def reduce_scatter_sum(
    inp: Tensor, group: Group | None = WORLD, device: Any = None, axis: int = 0
) -> Tensor:
    """The sum of inp over the ranks, split along axis into one chunk per rank (rank r: chunk r)."""
    if group is None:
        return inp
    inp = _prepare(inp, device)
    return _collective(P.reduce_scatter_sum, inp, group, None, axis=axis % max(inp.ndim, 1))


def broadcast(inp: Tensor | None, group: Group | None = WORLD, device: Any = None) -> Tensor:
    """Rank 0's inp on every rank; other ranks may pass None (shape and dtype come from rank 0)."""
    if group is None:
        return inp
    comm = group.comm
    root = 0
    meta = None
    if comm.rank == root:
        inp = _prepare(inp, device)
        meta = (inp.shape, inp.dtype.str, _tracked(inp))
    if comm.size > 1:
        meta = comm.bcast_object(meta, root)  # non-root ranks learn the shape and the grad need
    shape, dtype, tracked = meta
    if comm.rank != root:
        inp = zeros(shape, dtype=dtype, device=device) if inp is None else _prepare(inp, device)
        if tuple(inp.shape) != tuple(shape) or inp.dtype.str != dtype:
            raise ValueError(
                f"broadcast: rank {comm.rank} passed {inp.shape} {inp.dtype}, but rank 0 "
                f"broadcasts {shape} {dtype}"
            )
    params = {"group": group, "backend": inp.device.backend, "root": root}
    if tracked and not _tracked(inp):
        # the root reduces its gradient over every rank in backward, so this rank must record
        # the broadcast too, although nothing it owns needs a gradient
        return _recorded_broadcast(inp, params)
    return apply(P.broadcast, inp, **params)


def _recorded_broadcast(inp: Tensor, params: dict) -> Tensor:
    """apply(broadcast) with a token input attached to a private manager, so it is on the tape."""
    from ..autodiff import GradManager  # imported here: engine.autodiff imports functional

    token = Tensor(0.0, device=inp.device)
    gm = GradManager().attach([token])
    gm.record()  # joins the recording under way (same epoch): the token becomes a leaf of it
    try:
        return apply(P.broadcast, inp, token, **params)
    finally:
        gm.release()


def _tracked(t: Tensor) -> bool:
    """Whether t is part of the graph being recorded (so its broadcast needs a backward)."""
    node = t._node
    return bool(RECORDING.active) and node is not None and node.epoch == RECORDING.epoch
