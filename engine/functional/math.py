"""Reductions, sorting and linear algebra: sum, mean, max, var, norm, argmax, logsumexp, sort,
topk, matmul, dot."""

from __future__ import annotations

import builtins
from typing import Any

from ..core.coerce import normalize_axis
from ..ops import nn as N
from ..ops import order as O
from ..ops import reduce as R
from ..tensor import Tensor, apply, as_float, as_tensor, reduction
from ..tensor import matmul as _matmul
from .elemwise import sqrt
from .tensor import gather


def sum(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum of elements over axis (all axes when None)."""
    return reduction(R.sum_, inp, axis, keepdims)


def mean(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over axis (all axes when None); integer input gives float32."""
    return reduction(R.mean, as_float(inp), axis, keepdims)


def max(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over axis (all axes when None)."""
    return reduction(R.max_, inp, axis, keepdims)


def min(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over axis (all axes when None)."""
    return reduction(R.min_, inp, axis, keepdims)


def prod(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Product over axis (all axes when None)."""
    return reduction(R.prod, inp, axis, keepdims)


def argmax(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Index (int32) of the maximum over one axis, or of the flattened tensor when None."""
    inp = as_tensor(inp)
    axis = None if axis is None else normalize_axis(axis, inp.ndim)[0]
    return apply(R.argmax, inp, axis=axis, keepdims=keepdims)


def argmin(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Index (int32) of the minimum over one axis, or of the flattened tensor when None."""
    inp = as_tensor(inp)
    axis = None if axis is None else normalize_axis(axis, inp.ndim)[0]
    return apply(R.argmin, inp, axis=axis, keepdims=keepdims)


def var(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Population variance (divides by n, like MegEngine) over axis."""
    inp = as_float(inp)
    centred = inp - mean(inp, axis, keepdims=True)
    return mean(centred * centred, axis, keepdims)


def std(inp: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation over axis."""
    return sqrt(var(inp, axis, keepdims))


def norm(inp: Any, ord: float | None = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Vector p-norm over axis (all elements when None); ord None means 2."""
    inp = as_float(inp)
    p = 2 if ord is None else ord
    if p == 2:
        return sqrt(sum(inp * inp, axis, keepdims))
    if p == 1:
        return sum(abs_(inp), axis, keepdims)
    if p == float("inf"):
        return max(abs_(inp), axis, keepdims)
    if p == 0:
        return sum(inp != 0, axis, keepdims).astype("float32")
    return sum(abs_(inp) ** p, axis, keepdims) ** (1.0 / p)


def abs_(x: Tensor) -> Tensor:
    """|x| (kept here so `norm` need not shadow the builtin)."""
    from .elemwise import abs as _abs

    return _abs(x)


def logsumexp(inp: Any, axis: Any, keepdims: bool = False) -> Tensor:
    """log(sum(exp(inp))) over one axis, computed without overflow."""
    inp = as_float(inp)
    (ax,) = normalize_axis(axis, inp.ndim)
    return apply(N.logsumexp, inp, axis=ax, keepdims=keepdims)


def matmul(
    inp1: Any, inp2: Any, transpose_a: bool = False, transpose_b: bool = False, **_: Any
) -> Tensor:
    """Matrix product with NumPy's rules: 1-D, 2-D and batched with broadcast batch dims."""
    a = as_tensor(inp1)
    b = as_tensor(inp2, a)
    if transpose_a:
        a = a.transpose(*range(a.ndim - 2), a.ndim - 1, a.ndim - 2)
    if transpose_b:
        b = b.transpose(*range(b.ndim - 2), b.ndim - 1, b.ndim - 2)
    return _matmul(a, b)


def dot(inp1: Any, inp2: Any) -> Tensor:
    """Inner product of two 1-D tensors (a 0-d tensor)."""
    a, b = as_tensor(inp1), as_tensor(inp2)
    if a.ndim > 1 or b.ndim > 1:
        raise ValueError(f"dot expects 1-D tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


# ---- sorting -------------------------------------------------------------------------------


def _rows(fn: str, inp: Any) -> Tensor:
    inp = as_tensor(inp)
    if inp.ndim not in (1, 2):
        raise ValueError(
            f"{fn}: input should be 1-d or 2-d (2-d is sorted by row), got {inp.shape}"
        )
    return inp


def argsort(inp: Any, descending: bool = False) -> Tensor:
    """int32 indices that sort a 1-d tensor, or each row of a 2-d one."""
    return apply(O.argsort, _rows("argsort", inp), descending=descending)


def sort(inp: Any, descending: bool = False) -> tuple[Tensor, Tensor]:
    """(sorted values, int32 indices) of a 1-d tensor or of each row of a 2-d one."""
    inp = _rows("sort", inp)
    order = apply(O.argsort, inp, descending=descending)
    return gather(inp, inp.ndim - 1, order), order


def topk(
    inp: Any, k: int, descending: bool = True, kth_only: bool = False, no_sort: bool = False
) -> tuple[Tensor, Tensor]:
    """The k largest (smallest when descending=False) values per row and their int32 indices.

    kth_only gives just the k-th value and the first index holding it; no_sort is accepted
    (the values come sorted anyway); k above the row length takes the whole row, as MegEngine.
    """
    inp = _rows("topk", inp)
    k = int(k)
    if k < 1:
        raise ValueError(f"topk: k must be at least 1, got {k}")
    axis = inp.ndim - 1
    order = apply(O.argsort, inp, descending=descending)
    if not kth_only:
        index = order[..., :k]
        return gather(inp, axis, index), index
    pick = order[..., builtins.min(k, inp.shape[-1]) - 1 :][..., :1]
    kth = gather(inp, axis, pick)
    index = argmax(inp.detach() == kth.detach(), axis=axis)
    return kth.reshape(index.shape), index
