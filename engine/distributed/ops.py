"""Collective primitives and their VJPs, wrapped as F.distributed (functional/distributed.py).

Each primitive's gradient is the adjoint collective, as in MegEngine: all_reduce_sum's
is all_reduce_sum, all_gather's is reduce_scatter_sum and back, broadcast's is a sum
reduced onto the root. A VJP that communicates must run on every rank, so every rank
must build the same graph (data-parallel code does); broadcast makes sure its node
exists on every rank even when only the root's input is tracked.

Params: `group` (a Group, WORLD by default) and `backend` (the Backend of the input's
device, CPU when absent, so the registry's sample check can call them bare).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.device import CPU, Backend
from ..core.op import defsamples, defvjp, primitive
from .group import WORLD, Group


def _ctx(params: dict) -> tuple[Any, Backend]:
    group: Group = params.get("group") or WORLD
    backend: Backend = params.get("backend") or CPU
    return group.comm, backend


def _split_stack(xp: Any, x: Any, parts: int, axis: int) -> Any:
    """x cut into `parts` equal chunks along axis, stacked on a new axis 0 (rank order)."""
    return xp.stack(xp.split(x, parts, axis=axis))


def _concat(xp: Any, stacked: Any, axis: int) -> Any:
    """The rank-stacked chunks joined back along axis."""
    return xp.concatenate([stacked[i] for i in range(stacked.shape[0])], axis=axis)


# ---- all_reduce ------------------------------------------------------------------------
def _all_reduce(op: str) -> Any:
    def forward(xp: Any, x: Any, **params: Any) -> Any:
        comm, backend = _ctx(params)
        return comm.allreduce(backend, x, op)

    forward.__doc__ = f"elementwise {op} of x over the ranks of a group, on every rank"
    return forward


all_reduce_sum = primitive("all_reduce_sum")(_all_reduce("sum"))
all_reduce_max = primitive("all_reduce_max")(_all_reduce("max"))
all_reduce_min = primitive("all_reduce_min")(_all_reduce("min"))


# The VJPs call the adjoint collectives as primitives, so a recorded backward records them
# (and every rank records the same graph, as the forward requires).
@defvjp(all_reduce_sum)
def _(node: Any, g: Any) -> tuple:
    # y = sum_r x_r on every rank: d(sum_r L_r)/dx_r = sum_r g_r
    return (all_reduce_sum(node.xp, g, **node.params),)


def _extremum_vjp(node: Any, g: Any) -> tuple:
    # the summed gradient flows to the elements that attained the extremum (ties share it)
    hit = node.xp.equal(node.inputs[0], node.out).astype(g.dtype)
    return (all_reduce_sum(node.xp, g, **node.params) * hit,)


defvjp(all_reduce_max)(_extremum_vjp)
defvjp(all_reduce_min)(_extremum_vjp)


# ---- all_gather / reduce_scatter_sum ------------------------------------------------------
@primitive("all_gather")
def all_gather(xp: Any, x: Any, *, axis: int = 0, **params: Any) -> Any:
    """every rank's x concatenated along axis, in rank order"""
    comm, backend = _ctx(params)
    return _concat(xp, comm.allgather(backend, x), axis)


@defvjp(all_gather)
def _(node: Any, g: Any) -> tuple:
    return (reduce_scatter_sum(node.xp, g, **node.params),)


@primitive("reduce_scatter_sum")
def reduce_scatter_sum(xp: Any, x: Any, *, axis: int = 0, **params: Any) -> Any:
    """the sum over ranks of x, cut along axis: rank r keeps chunk r"""
    comm, backend = _ctx(params)
    if x.shape[axis] % comm.size:
        raise ValueError(
            f"reduce_scatter_sum: axis {axis} has length {x.shape[axis]}, not a multiple of "
            f"the group size {comm.size}"
        )
    return comm.reduce_scatter(backend, _split_stack(xp, x, comm.size, axis), "sum")


@defvjp(reduce_scatter_sum)
def _(node: Any, g: Any) -> tuple:
    return (all_gather(node.xp, g, **node.params),)


# ---- broadcast -------------------------------------------------------------------------
@primitive("broadcast", higher_order=False)  # its VJP is a reduce onto the root, not a primitive
def broadcast(xp: Any, x: Any, *token: Any, root: int = 0, **params: Any) -> Any:
    """the root rank's x on every rank (`token`: an ignored input that makes it recorded)"""
    comm, backend = _ctx(params)
    return comm.broadcast(backend, x, root)


@defvjp(broadcast)
def _(node: Any, g: Any) -> tuple:
    # every rank's output is the root's input: the root's gradient is the sum of all of them
    comm, backend = _ctx(node.params)
    grad = comm.reduce(backend, g, node.params.get("root", 0), "sum")
    return (grad,) + (None,) * (len(node.inputs) - 1)


def _samples(rng: np.random.Generator) -> list:
    # world size 1 (a plain process): the collectives are identities, and so must be their VJPs
    return [((rng.standard_normal((3, 4)),), {}), ((rng.standard_normal((2, 3, 2)),), {})]


for _prim in (all_reduce_sum, all_reduce_max, all_reduce_min, broadcast):
    defsamples(_prim)(_samples)
defsamples(all_gather)(lambda rng: [((rng.standard_normal((2, 3)),), {"axis": 1})])
defsamples(reduce_scatter_sum)(lambda rng: [((rng.standard_normal((4, 3)),), {"axis": 0})])
