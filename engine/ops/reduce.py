"""Reduction primitives (sum, mean, max, min, prod, argmax, argmin) with their VJPs."""

from __future__ import annotations

from ..core.op import defsamples, defvjp, primitive

# Reductions take `axis` as None or a tuple of non-negative ints (the functional layer
# normalises it) and `keepdims`.


def _expand(g, x_ndim, axis, keepdims):
    """Give a reduced gradient back its reduced axes so it broadcasts against the input."""
    if keepdims or axis is None and g.ndim == x_ndim:
        return g
    if axis is None:
        return g.reshape((1,) * x_ndim)
    shape = list(g.shape)
    for a in sorted(axis):
        shape.insert(a, 1)
    return g.reshape(shape)


def _count(shape, axis):
    n = 1
    for a in range(len(shape)) if axis is None else axis:
        n *= shape[a]
    return n


def _int_accumulator(dtype):
    """MegEngine keeps an integer input's dtype (NumPy would widen to int64); bool sums to int32."""
    if dtype.kind == "b":
        return "int32"
    return dtype if dtype.kind in "iu" else None


@primitive("sum")
def sum_(xp, x, *, axis=None, keepdims=False):
    """sum over axis"""
    return x.sum(axis=axis, keepdims=keepdims, dtype=_int_accumulator(x.dtype))


@defvjp(sum_)
def _(node, g):
    x = node.inputs[0]
    g = _expand(g, x.ndim, node.params["axis"], node.params["keepdims"])
    return (node.xp.broadcast_to(g, x.shape),)


@primitive("mean")
def mean(xp, x, *, axis=None, keepdims=False):
    """mean over axis"""
    return x.mean(axis=axis, keepdims=keepdims)


@defvjp(mean)
def _(node, g):
    x, axis = node.inputs[0], node.params["axis"]
    g = _expand(g, x.ndim, axis, node.params["keepdims"]) / _count(x.shape, axis)
    return (node.xp.broadcast_to(g, x.shape),)


def _extreme_vjp(node, g):
    x, axis, keepdims = node.inputs[0], node.params["axis"], node.params["keepdims"]
    out = _expand(node.out, x.ndim, axis, keepdims)
    mask = x == out
    # ties share the gradient equally
    count = mask.sum(axis=axis, keepdims=True)
    return (_expand(g, x.ndim, axis, keepdims) * mask / count,)


@primitive("max")
def max_(xp, x, *, axis=None, keepdims=False):
    """maximum over axis"""
    return x.max(axis=axis, keepdims=keepdims)


@primitive("min")
def min_(xp, x, *, axis=None, keepdims=False):
    """minimum over axis"""
    return x.min(axis=axis, keepdims=keepdims)


defvjp(max_)(_extreme_vjp)
defvjp(min_)(_extreme_vjp)


@primitive("prod")
def prod(xp, x, *, axis=None, keepdims=False):
    """product over axis"""
    return x.prod(axis=axis, keepdims=keepdims, dtype=_int_accumulator(x.dtype))


@defvjp(prod)
def _(node, g):
    x, axis, keepdims = node.inputs[0], node.params["axis"], node.params["keepdims"]
    out = _expand(node.out, x.ndim, axis, keepdims)
    return (_expand(g, x.ndim, axis, keepdims) * out / x,)


@primitive("argmax")
def argmax(xp, x, *, axis=None, keepdims=False):
    """index of the maximum (int32, no gradient)"""
    out = x.argmax(axis=axis, keepdims=keepdims)
    return out.astype("int32")


@primitive("argmin")
def argmin(xp, x, *, axis=None, keepdims=False):
    """index of the minimum (int32, no gradient)"""
    out = x.argmin(axis=axis, keepdims=keepdims)
    return out.astype("int32")


def _reduce_samples(rng, low=-2.0, high=2.0):
    shapes_params = [
        ((5,), {"axis": None, "keepdims": False}),
        ((2, 3), {"axis": (1,), "keepdims": False}),
        ((2, 3), {"axis": (0,), "keepdims": True}),
        ((2, 3, 4), {"axis": (0, 2), "keepdims": False}),
        ((2, 3, 4), {"axis": None, "keepdims": True}),
    ]
    return [((rng.uniform(low, high, s),), p) for s, p in shapes_params]


def _distinct_extremes(inputs):
    """Flag every element when two values are too close for a clean max/min derivative."""
    x = inputs[0].ravel()
    gaps = abs(x[:, None] - x[None, :]) + 1e9 * __import__("numpy").eye(x.size)
    return (gaps.min(axis=1) < 0.01).reshape(inputs[0].shape)


defsamples(sum_)(_reduce_samples)
defsamples(mean)(_reduce_samples)
defsamples(max_, kinks=_distinct_extremes)(_reduce_samples)
defsamples(min_, kinks=_distinct_extremes)(_reduce_samples)
defsamples(prod)(lambda rng: _reduce_samples(rng, 0.5, 1.5))
