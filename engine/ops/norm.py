"""Batch normalisation (training statistics) and dropout primitives.

Inference-mode batch norm is plain elementwise math on the running statistics, so it is
composed from existing primitives in engine.functional.nn rather than registered here.
"""

from __future__ import annotations

from ..core.op import defsamples, defvjp, primitive


def reduce_axes(ndim: int) -> tuple:
    """The axes batch statistics reduce over: every axis but the channel axis 1."""
    return (0,) + tuple(range(2, ndim))


@primitive("batch_norm", residual=True)
def batch_norm(xp, x, weight, bias, *, eps):
    """(x - batch mean) / sqrt(batch var + eps) * weight + bias, statistics per channel (axis 1)"""
    axes = reduce_axes(x.ndim)
    centred = x - x.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    normed = centred * inv_std
    return normed * weight + bias, (normed, inv_std)


@defvjp(batch_norm)
def _(node, g):
    normed, inv_std = node.res
    weight = node.inputs[1]
    axes = reduce_axes(g.ndim)
    gx = gw = gb = None
    if node.needs_grad(0):
        g_normed = g * weight
        # the batch mean and variance depend on x too: project out their directions
        gx = inv_std * (
            g_normed
            - g_normed.mean(axis=axes, keepdims=True)
            - normed * (g_normed * normed).mean(axis=axes, keepdims=True)
        )
    if node.needs_grad(1):
        gw = (g * normed).sum(axis=axes, keepdims=True)
    if node.needs_grad(2):
        gb = g.sum(axis=axes, keepdims=True)
    return gx, gw, gb


@primitive("dropout")
def dropout(xp, x, keep, *, scale):
    """x * scale where the boolean mask keep is true, else 0"""
    return xp.where(keep, x * scale, x.dtype.type(0))


@defvjp(dropout)
def _(node, g):
    keep, scale = node.inputs[1], node.params["scale"]
    return node.xp.where(keep, g * scale, g.dtype.type(0)), None


def _param(rng, c, ndim):
    return rng.normal(size=(1, c) + (1,) * (ndim - 2))


defsamples(batch_norm)(
    lambda rng: [
        ((rng.normal(size=(4, 3)), _param(rng, 3, 2), _param(rng, 3, 2)), {"eps": 1e-5}),
        ((rng.normal(size=(2, 3, 4)), _param(rng, 3, 3), _param(rng, 3, 3)), {"eps": 1e-3}),
        ((rng.normal(size=(2, 2, 3, 3)), _param(rng, 2, 4), _param(rng, 2, 4)), {"eps": 1e-5}),
    ]
)
defsamples(dropout)(
    lambda rng: [
        ((rng.normal(size=(4, 5)), rng.uniform(size=(4, 5)) > 0.3), {"scale": 1 / 0.7}),
        ((rng.normal(size=(2, 3, 2, 2)), rng.uniform(size=(2, 3, 2, 2)) > 0.5), {"scale": 2.0}),
    ]
)
