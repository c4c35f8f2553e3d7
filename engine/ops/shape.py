"""Shape and indexing primitives: reshape, transpose, broadcast, index, concat, pad, gather."""

from __future__ import annotations

from ..core.device import as_device
from ..core.op import defsamples, defvjp, primitive
from . import special


@primitive("reshape")
def reshape(xp, x, *, shape):
    """x with a new shape (same elements)"""
    return x.reshape(shape)


@defvjp(reshape)
def _(node, g):
    return (g.reshape(node.inputs[0].shape),)


@primitive("transpose")
def transpose(xp, x, *, axes=None):
    """x with its axes permuted (reversed when axes is None)"""
    return x.transpose(axes)


@defvjp(transpose)
def _(node, g):
    axes = node.params["axes"]
    if axes is None:
        return (g.transpose(),)
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return (g.transpose(inverse),)


@primitive("broadcast_to")
def broadcast_to(xp, x, *, shape):
    """x repeated along new or size-1 axes to `shape`"""
    return xp.broadcast_to(x, shape)


@defvjp(broadcast_to)
def _(node, g):
    return (g,)  # the engine sums the broadcast axes back


def _has_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(hasattr(i, "shape") or isinstance(i, list) for i in items)


@primitive("getitem")
def getitem(xp, x, *, index):
    """x[index] (basic and advanced indexing)"""
    return x[index]


@defvjp(getitem)
def _(node, g):
    return (index_add(node.xp, g, index=node.params["index"], shape=node.inputs[0].shape),)


@primitive("index_add")
def index_add(xp, values, *, index, shape):
    """zeros of `shape` with values added at [index], repeats adding up (getitem's adjoint)"""
    out = xp.zeros(shape, dtype=values.dtype)
    if _has_advanced(index):
        special.index_add(xp, out, index, values)
    else:
        out[index] = values  # basic indexing never repeats an element
    return out


@defvjp(index_add)
def _(node, g):
    return (getitem(node.xp, g, index=node.params["index"]),)


@primitive("setitem")
def setitem(xp, x, value, *, index):
    """a copy of x with x[index] = value"""
    out = x.copy()
    out[index] = value
    return out


@defvjp(setitem)
def _(node, g):
    index = node.params["index"]
    gx = setitem(node.xp, g, 0, index=index) if node.needs_grad(0) else None
    gv = g[index] if node.needs_grad(1) else None
    return gx, gv


@primitive("concat")
def concat(xp, *xs, axis=0):
    """the inputs joined along axis"""
    return xp.concatenate(xs, axis=axis)


@defvjp(concat)
def _(node, g):
    axis = node.params["axis"]
    grads, start = [], 0
    for i, x in enumerate(node.inputs):
        stop = start + x.shape[axis]
        if node.needs_grad(i):
            index = [slice(None)] * g.ndim
            index[axis] = slice(start, stop)
            grads.append(g[tuple(index)])
        else:
            grads.append(None)
        start = stop
    return tuple(grads)


@primitive("pad")
def pad(xp, x, *, pad_width, value=0.0):
    """x padded with a constant on each side of each axis"""
    return xp.pad(x, pad_width, mode="constant", constant_values=value)


@defvjp(pad)
def _(node, g):
    index = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(node.params["pad_width"]))
    return (g[index],)


def along_axis(xp, index, axis):
    """The advanced index picking x[i0, .., index[i], .., in] for every position i of `index`:
    `index` on `axis`, an open mesh of aranges on the others (so `index` may be shorter there)."""
    ndim = index.ndim
    return tuple(
        index if k == axis else xp.arange(n).reshape([n if d == k else 1 for d in range(ndim)])
        for k, n in enumerate(index.shape)
    )


@primitive("gather")
def gather(xp, x, index, *, axis):
    """x's elements picked along axis by an integer index of the same rank"""
    return x[along_axis(xp, index, axis)]


@defvjp(gather)
def _(node, g):
    x, index = node.inputs
    return scatter_add(node.xp, g, index, axis=node.params["axis"], shape=x.shape), None


@primitive("scatter_add")
def scatter_add(xp, values, index, *, axis, shape):
    """zeros of `shape` with values added at along_axis(index, axis) (gather's adjoint)"""
    out = xp.zeros(shape, dtype=values.dtype)
    special.index_add(xp, out, along_axis(xp, index, axis % len(shape)), values)
    return out


@defvjp(scatter_add)
def _(node, g):
    return gather(node.xp, g, node.inputs[1], axis=node.params["axis"]), None


@primitive("copy")
def copy(xp, x, *, src, dst):
    """x moved to another device (the result lives on dst)"""
    return _move(x, src, dst)


@defvjp(copy)
def _(node, g):
    return (copy(node.xp, g, src=node.params["dst"], dst=node.params["src"]),)


def _move(x, src, dst):
    # One backend is one memory (cpu0, cpu1 and xpux on a CPU box): no trip through the host.
    if src.backend is dst.backend:
        return x.copy()
    return dst.backend.from_host(src.backend.to_host(x))


def _rand(rng, *shape):
    return rng.uniform(-2, 2, shape)


defsamples(reshape)(
    lambda rng: [
        ((_rand(rng, 2, 3),), {"shape": (3, 2)}),
        ((_rand(rng, 2, 3, 4),), {"shape": (4, 6)}),
    ]
)
defsamples(transpose)(
    lambda rng: [
        ((_rand(rng, 2, 3),), {"axes": None}),
        ((_rand(rng, 2, 3, 4),), {"axes": (1, 2, 0)}),
    ]
)
defsamples(broadcast_to)(
    lambda rng: [
        ((_rand(rng, 3),), {"shape": (2, 3)}),
        ((_rand(rng, 2, 1),), {"shape": (4, 2, 3)}),
    ]
)
defsamples(getitem)(
    lambda rng: [
        ((_rand(rng, 4, 5),), {"index": (1, slice(None, 3))}),
        ((_rand(rng, 6),), {"index": slice(None, None, -2)}),
        ((_rand(rng, 3, 4),), {"index": (Ellipsis, None, 2)}),
        ((_rand(rng, 5, 2),), {"index": __import__("numpy").array([0, 2, 2, 4])}),
        ((_rand(rng, 2, 3),), {"index": __import__("numpy").array([[True, False, True]] * 2)}),
    ]
)
defsamples(setitem)(
    lambda rng: [
        ((_rand(rng, 4, 5), _rand(rng, 3)), {"index": (1, slice(None, 3))}),
        ((_rand(rng, 4, 3), _rand(rng, 2, 3)), {"index": slice(1, 3)}),
    ]
)
defsamples(concat)(
    lambda rng: [
        ((_rand(rng, 2, 3), _rand(rng, 1, 3)), {"axis": 0}),
        ((_rand(rng, 2, 3), _rand(rng, 2, 2), _rand(rng, 2, 1)), {"axis": 1}),
    ]
)
defsamples(pad)(lambda rng: [((_rand(rng, 2, 3),), {"pad_width": ((1, 0), (2, 1)), "value": 0.0})])
defsamples(copy)(
    lambda rng: [
        ((_rand(rng, 2, 3),), {"src": as_device("cpu0"), "dst": as_device("cpu0")}),
        ((_rand(rng),), {"src": as_device("xpux"), "dst": as_device("xpux")}),
    ]
)
defsamples(gather)(
    lambda rng: [
        ((_rand(rng, 3, 4), rng.integers(0, 4, (3, 2))), {"axis": 1}),
        ((_rand(rng, 3, 4), rng.integers(0, 3, (5, 4))), {"axis": 0}),
        ((_rand(rng, 4, 3, 2), rng.integers(0, 3, (2, 3, 1))), {"axis": 1}),
    ]
)
defsamples(index_add)(
    lambda rng: [
        ((_rand(rng, 3),), {"index": (1, slice(None, 3)), "shape": (4, 5)}),
        ((_rand(rng, 4, 2),), {"index": __import__("numpy").array([0, 2, 2, 4]), "shape": (5, 2)}),
    ]
)
defsamples(scatter_add)(
    lambda rng: [
        ((_rand(rng, 3, 2), rng.integers(0, 4, (3, 2))), {"axis": 1, "shape": (3, 4)}),
        ((_rand(rng, 5, 4), rng.integers(0, 3, (5, 4))), {"axis": 0, "shape": (3, 4)}),
    ]
)
