"""Neural-network primitives whose math fuses: softmax, log-softmax and the losses."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..core.op import defsamples, defvjp, primitive


def _logsumexp(xp, x, axis):
    m = x.max(axis=axis, keepdims=True)
    return m + xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True))


@primitive("softmax")
def softmax(xp, x, *, axis):
    """exp(x) / sum(exp(x)) along axis"""
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


@defvjp(softmax)
def _(node, g):
    out, axis = node.out, node.params["axis"]
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@primitive("logsoftmax")
def logsoftmax(xp, x, *, axis):
    """x - logsumexp(x) along axis"""
    return x - _logsumexp(xp, x, axis)


@defvjp(logsoftmax)
def _(node, g):
    axis = node.params["axis"]
    return (g - node.xp.exp(node.out) * g.sum(axis=axis, keepdims=True),)


@primitive("logsumexp")
def logsumexp(xp, x, *, axis, keepdims=False):
    """log(sum(exp(x))) along axis, without overflow"""
    out = _logsumexp(xp, x, axis)
    return out if keepdims else out.squeeze(axis)


@defvjp(logsumexp)
def _(node, g):
    x, axis = node.inputs[0], node.params["axis"]
    out = node.out
    if not node.params["keepdims"]:
        out = node.xp.expand_dims(out, axis)
        g = node.xp.expand_dims(g, axis)
    return (g * node.xp.exp(x - out),)


def _reduce(xp, loss, reduction):
    if reduction == "mean":
        return loss.sum() / loss.size  # what ndarray.mean computes, without its overhead
    if reduction == "sum":
        return loss.sum()
    return loss


def _reduce_grad(g, shape, reduction):
    """The gradient of the reduction, shaped like the unreduced loss."""
    if reduction == "mean":
        return g / math.prod(shape)
    return g


@primitive("square_loss", residual=True)
def square_loss(xp, pred, label, *, reduction="mean"):
    """(pred - label) ** 2, reduced"""
    diff = pred - label
    if reduction == "none":
        return diff * diff, diff
    flat = diff if diff.ndim == 1 else diff.reshape(-1)
    total = xp.dot(flat, flat)  # the sum of squares in one BLAS call, no squared temporary
    return (total / diff.size if reduction == "mean" else total), diff


@defvjp(square_loss, reads=("res",))
def _(node, g):
    diff = node.res
    if node.params["reduction"] == "none":
        gp = (g * 2) * diff
    else:  # g is the scalar gradient of the reduced loss: scale it once, then one product
        gp = diff * (g * (2.0 / diff.size if node.params["reduction"] == "mean" else 2.0))
    return gp, (-gp if node.needs_grad(1) else None)


def _row_max(xp, x):
    """x.max(axis=-1, keepdims=True). NumPy reduces short rows slowly, so a 2-D array with
    a few columns there takes the maxima column by column (2.5x faster for 10 classes)."""
    if xp is np and x.ndim == 2 and 1 < x.shape[1] <= 16:
        return functools.reduce(xp.maximum, x.T)[:, None]
    return x.max(axis=-1, keepdims=True)


def _row_sum(xp, x):
    """x.sum(axis=-1, keepdims=True); of float rows as one matrix-vector product (BLAS),
    4x faster than NumPy's reduction over 10 classes."""
    if x.ndim == 2 and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        return x @ xp.ones((x.shape[1], 1), dtype=x.dtype)
    return x.sum(axis=-1, keepdims=True)


@primitive("softmax_cross_entropy", residual=True)
def softmax_cross_entropy(xp, logits, label, *, axis=1, label_smooth=0.0, reduction="mean"):
    """-log softmax(logits)[label] along axis, with optional label smoothing, reduced"""
    last = axis in (-1, logits.ndim - 1)
    moved = logits if last else xp.moveaxis(logits, axis, -1)
    shifted = moved - _row_max(xp, moved)
    logp = shifted - xp.log(_row_sum(xp, xp.exp(shifted)))
    if label.dtype.kind not in "iu":
        label = label.astype("int64")
    if logp.ndim == 2:
        picked = logp[xp.arange(len(label)), label]
    else:
        picked = xp.take_along_axis(logp, label[..., None], axis=-1)[..., 0]
    if label_smooth:
        classes = moved.shape[-1]
        loss = (1 - label_smooth) * -picked - (label_smooth / classes) * logp.sum(axis=-1)
        return _reduce(xp, loss, reduction), logp
    if reduction == "none":
        return -picked, logp
    total = -picked.sum()
    return (total / picked.size if reduction == "mean" else total), logp


@defvjp(softmax_cross_entropy, reads=("inputs", "res"))
def _(node, g):
    xp, logp = node.xp, node.res
    label, axis = node.inputs[1], node.params["axis"]
    smooth, reduction = node.params["label_smooth"], node.params["reduction"]
    classes = logp.shape[-1]
    grad = xp.exp(logp)
    target = label[..., None] == xp.arange(classes)  # one-hot (CuPy 13 has no put_along_axis)
    if smooth:
        grad -= (1 - smooth) * target.astype(grad.dtype) + smooth / classes
    else:
        grad -= target
    scale = _reduce_grad(g, logp.shape[:-1], reduction)
    if reduction == "none":
        scale = scale[..., None]
    grad *= scale
    last = axis in (-1, logp.ndim - 1)
    return (grad if last else xp.moveaxis(grad, -1, axis)), None


@primitive("binary_cross_entropy_logits", residual=True)
def binary_cross_entropy_logits(xp, logits, label, *, reduction="mean"):
    """-(label * log sigmoid(x) + (1 - label) * log(1 - sigmoid(x))), from logits, reduced"""
    loss = xp.maximum(logits, 0) - logits * label + xp.log1p(xp.exp(-xp.abs(logits)))
    return _reduce(xp, loss, reduction), None


@defvjp(binary_cross_entropy_logits)
def _(node, g):
    xp = node.xp
    x, label = node.inputs
    s = 0.5 + 0.5 * xp.tanh(0.5 * x)
    scale = _reduce_grad(g, node.inputs[0].shape, node.params["reduction"])
    gx = (s - label) * scale
    gl = -x * scale if node.needs_grad(1) else None
    return gx, gl


def _logits_samples(rng):
    return [
        (
            (rng.normal(size=(4, 3)), rng.integers(0, 3, 4)),
            {"axis": 1, "label_smooth": 0.0, "reduction": "mean"},
        ),
        (
            (rng.normal(size=(4, 5)), rng.integers(0, 5, 4)),
            {"axis": 1, "label_smooth": 0.1, "reduction": "sum"},
        ),
        (
            (rng.normal(size=(2, 3, 2, 2)), rng.integers(0, 3, (2, 2, 2))),
            {"axis": 1, "label_smooth": 0.0, "reduction": "none"},
        ),
    ]


defsamples(softmax)(
    lambda rng: [
        ((rng.normal(size=(3, 4)),), {"axis": 1}),
        ((rng.normal(size=(2, 3, 2)),), {"axis": 0}),
    ]
)
defsamples(logsoftmax)(
    lambda rng: [
        ((rng.normal(size=(3, 4)),), {"axis": 1}),
        ((rng.normal(size=(2, 3, 2)),), {"axis": 2}),
    ]
)
defsamples(logsumexp)(
    lambda rng: [
        ((rng.normal(size=(3, 4)),), {"axis": 1, "keepdims": False}),
        ((rng.normal(size=(2, 3, 2)),), {"axis": 0, "keepdims": True}),
    ]
)
defsamples(square_loss)(
    lambda rng: [
        ((rng.normal(size=(5,)), rng.normal(size=(5,))), {"reduction": "mean"}),
        ((rng.normal(size=(4, 3)), rng.normal(size=(4, 3))), {"reduction": "sum"}),
        ((rng.normal(size=(4, 1)), rng.normal(size=(4, 3))), {"reduction": "none"}),
    ]
)
defsamples(softmax_cross_entropy)(_logits_samples)
defsamples(binary_cross_entropy_logits)(
    lambda rng: [
        ((rng.normal(size=(6,)), rng.uniform(size=(6,))), {"reduction": "mean"}),
        ((rng.normal(size=(3, 2)), rng.uniform(size=(3, 2))), {"reduction": "none"}),
    ]
)
