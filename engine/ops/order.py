"""Order and scan primitives: argsort and the flat positions of a mask (index results, no
gradient; sort, topk and cond_take compose them with gather and getitem), and cumsum."""

from __future__ import annotations

from ..core.op import defsamples, defvjp, primitive


@primitive("argsort")
def argsort(xp, x, *, descending=False):
    """int32 positions that sort x along its last axis; ties keep their order ascending and
    come out reversed descending (what MegEngine 1.13 gives)"""
    order = xp.argsort(x, axis=-1, kind="stable")
    if descending:
        order = xp.flip(order, axis=-1)
    return order.astype("int32")


@primitive("mask_positions")
def mask_positions(xp, mask):
    """int32 flat positions of mask's true elements, in order"""
    return xp.nonzero(mask.reshape(-1))[0].astype("int32")


@primitive("cumsum")
def cumsum(xp, x, *, axis):
    """running sum along axis; integer tensors keep their dtype"""
    return xp.cumsum(x, axis=axis, dtype=x.dtype)


@defvjp(cumsum)
def _(node, g):
    # each input element feeds every later partial sum: a running sum of g from the far end
    xp, axis = node.xp, node.params["axis"]
    return (xp.flip(xp.cumsum(xp.flip(g, axis=axis), axis=axis), axis=axis),)


defsamples(argsort)(
    lambda rng: [
        ((rng.integers(0, 4, (3, 6)).astype("float64"),), {"descending": False}),
        ((rng.integers(0, 4, (7,)).astype("float64"),), {"descending": True}),
    ]
)
defsamples(mask_positions)(lambda rng: [((rng.uniform(size=(3, 4)) > 0.5,), {})])
defsamples(cumsum)(
    lambda rng: [
        ((rng.uniform(-2, 2, (5,)),), {"axis": 0}),
        ((rng.uniform(-2, 2, (3, 4)),), {"axis": 1}),
        ((rng.uniform(-2, 2, (2, 3, 4)),), {"axis": 0}),
    ]
)
