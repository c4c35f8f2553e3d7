"""Tensor creation and shape functions: zeros, arange, reshape, concat, gather, indexing, ..."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.coerce import shape_tuple
from ..core.device import as_device
from ..core.dtype import resolve_dtype
from ..ops import shape as P
from ..tensor import Tensor, apply, as_tensor, operands
from ..tensor import setitem as setitem  # F.setitem is Tensor.__setitem__ without the write-back


def _new(host: np.ndarray, device: Any) -> Tensor:
    dev = as_device(device)
    return Tensor._wrap(dev.backend.from_host(host), dev)


def _filled(shape: Any, value: Any, dtype: Any, device: Any) -> Tensor:
    dev = as_device(device)
    arr = dev.xp.full(shape_tuple(shape), value, dtype=resolve_dtype(dtype))
    return Tensor._wrap(arr, dev)


def zeros(shape: Any, dtype: Any = "float32", device: Any = None) -> Tensor:
    """A tensor of zeros."""
    return _filled(shape, 0, dtype, device)


def ones(shape: Any, dtype: Any = "float32", device: Any = None) -> Tensor:
    """A tensor of ones."""
    return _filled(shape, 1, dtype, device)


def full(shape: Any, value: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor filled with value; the dtype follows the value (7 -> int32, 7. -> float32)."""
    if dtype is None:
        dtype = Tensor(value).dtype
    return _filled(shape, value, dtype, device)


def zeros_like(inp: Any) -> Tensor:
    """Zeros with inp's shape, dtype and device."""
    inp = as_tensor(inp)
    return zeros(inp.shape, inp.dtype, inp.device)


def ones_like(inp: Any) -> Tensor:
    """Ones with inp's shape, dtype and device."""
    inp = as_tensor(inp)
    return ones(inp.shape, inp.dtype, inp.device)


def full_like(inp: Any, value: Any) -> Tensor:
    """value repeated to inp's shape, with inp's dtype and device."""
    inp = as_tensor(inp)
    return _filled(inp.shape, value, inp.dtype, inp.device)


def arange(
    start: float = 0,
    stop: float | None = None,
    step: float = 1,
    dtype: Any = "float32",
    device: Any = None,
) -> Tensor:
    """Evenly spaced values in [start, stop); float32 by default, even for integer bounds."""
    if stop is None:
        start, stop = 0, start
    return _new(np.arange(start, stop, step).astype(resolve_dtype(dtype)), device)


def linspace(
    start: float, stop: float, num: int, dtype: Any = "float32", device: Any = None
) -> Tensor:
    """num evenly spaced values from start to stop, both included."""
    return _new(np.linspace(start, stop, int(num)).astype(resolve_dtype(dtype)), device)


def eye(N: Any, M: int | None = None, dtype: Any = "float32", device: Any = None) -> Tensor:  # noqa: N803
    """A 2-D tensor with ones on the diagonal; N may be a shape (rows, cols) as in MegEngine."""
    rows, cols = N, M
    if isinstance(N, (tuple, list, Tensor)):
        shape = shape_tuple(N)
        if not 1 <= len(shape) <= 2:
            raise ValueError(f"eye: the shape {shape} must have 1 or 2 dimensions")
        rows, cols = shape[0], shape[-1]
    return _new(np.eye(rows, cols, dtype=resolve_dtype(dtype)), device)


def copy(inp: Any, device: Any = None) -> Tensor:
    """A copy of inp on device (its own device when None); differentiable."""
    inp = as_tensor(inp)
    return inp.to(device if device is not None else inp._device)


def reshape(inp: Any, target_shape: Any) -> Tensor:
    """Same elements in a new shape; one dimension may be -1 and is then inferred."""
    return as_tensor(inp).reshape(target_shape)


def flatten(inp: Any, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge the axes from start_axis to end_axis into one."""
    inp = as_tensor(inp)
    if inp.ndim == 0:
        return reshape(inp, (1,))
    start, end = start_axis % inp.ndim, end_axis % inp.ndim
    shape = inp.shape[:start] + (-1,) + inp.shape[end + 1 :]
    return reshape(inp, shape)


def transpose(inp: Any, pattern: Sequence[int] | None = None) -> Tensor:
    """Permute the axes of inp (reverse them when pattern is None)."""
    return as_tensor(inp).transpose(*(() if pattern is None else (tuple(pattern),)))


def expand_dims(inp: Any, axis: Any) -> Tensor:
    """Insert size-1 axes at the given positions."""
    inp = as_tensor(inp)
    axes = [axis] if isinstance(axis, int) else list(axis)
    ndim = inp.ndim + len(axes)
    shape = list(inp.shape)
    for a in sorted(a % ndim for a in axes):
        shape.insert(a, 1)
    return reshape(inp, shape)


def squeeze(inp: Any, axis: Any = None) -> Tensor:
    """Remove size-1 axes (all of them when axis is None)."""
    inp = as_tensor(inp)
    if axis is None:
        axes = [i for i, s in enumerate(inp.shape) if s == 1]
    else:
        axes = [a % inp.ndim for a in ([axis] if isinstance(axis, int) else axis)]
        for a in axes:
            if inp.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {inp.shape} is not 1")
    return reshape(inp, [s for i, s in enumerate(inp.shape) if i not in axes])


def broadcast_to(inp: Any, shape: Any) -> Tensor:
    """inp repeated along new or size-1 axes to shape; None keeps that axis's size."""
    inp = as_tensor(inp)
    if isinstance(shape, (tuple, list)) and any(s is None for s in shape):
        extra = len(shape) - inp.ndim
        if any(s is None for s in shape[: builtins.max(extra, 0)]):
            raise ValueError(
                f"broadcast_to: None in {tuple(shape)} stands for a new axis of {inp.shape}"
            )
        shape = [inp.shape[i - extra] if s is None else s for i, s in enumerate(shape)]
    return apply(P.broadcast_to, inp, shape=shape_tuple(shape))


def concat(inps: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = _same_dtype(inps)
    return apply(P.concat, *tensors, axis=axis % builtins.max(tensors[0].ndim, 1))


def stack(inps: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = _same_dtype(inps)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return concat([expand_dims(t, axis) for t in tensors], axis)


def _same_dtype(inps: Sequence[Any]) -> list[Tensor]:
    if len(inps) == 0:
        raise ValueError("need at least one tensor")
    tensors = [as_tensor(t) for t in inps]
    first = tensors[0]
    return [first] + [operands(first, t)[1] for t in tensors[1:]]


def split(inp: Any, nsplits_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Split into n parts (the first size % n one longer), or at the given indices, along axis."""
    inp = as_tensor(inp)
    size = inp.shape[axis]
    if isinstance(nsplits_or_sections, (int, np.integer)):
        n = int(nsplits_or_sections)
        if n <= 0 or n > size:
            raise ValueError(
                f"split: the size {size} of axis {axis} cannot be split into {n} parts"
            )
        base, longer = divmod(size, n)
        bounds = [i * base + builtins.min(i, longer) for i in range(n + 1)]
    else:
        sections = [int(s) for s in nsplits_or_sections]
        bounds = [0, *sections, size]
        if any(b > c for b, c in zip(bounds[:-1], bounds[1:], strict=True)):
            raise ValueError(
                f"split: sections {sections} must be non-decreasing indices in [0, {size}]"
            )
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        index = [slice(None)] * inp.ndim
        index[axis] = slice(lo, hi)
        pieces.append(getitem(inp, tuple(index)))
    return pieces


def gather(inp: Any, axis: int, index: Any) -> Tensor:
    """out[i][j][k] = inp[i][index[i][j][k]][k] for axis 1 (likewise for the others).

    index has inp's rank; along the other axes it may be shorter than inp, never longer.
    """
    inp = as_tensor(inp)
    index = as_tensor(index, inp)
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {index.dtype}")
    axis = _along_axis_checks("gather", inp, axis, index)
    return apply(P.gather, inp, index, axis=axis)


def _along_axis_checks(fn: str, inp: Tensor, axis: int, index: Tensor) -> int:
    """Check index against inp for gather/scatter and return axis as a non-negative int."""
    if index.ndim != inp.ndim:
        raise ValueError(f"{fn}: index rank {index.ndim} differs from input rank {inp.ndim}")
    if not -inp.ndim <= axis < inp.ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for input of shape {inp.shape}")
    axis %= inp.ndim
    if any(i > n for d, (i, n) in enumerate(zip(index.shape, inp.shape, strict=True)) if d != axis):
        raise ValueError(
            f"{fn}: index of shape {index.shape} is longer than input {inp.shape} on an axis "
            f"other than {axis}"
        )
    return axis


def one_hot(inp: Any, num_classes: int) -> Tensor:
    """Integer labels as one-hot int32 rows (a new last axis of size num_classes)."""
    inp = as_tensor(inp)
    xp = inp._device.xp
    out = (inp._data[..., None] == xp.arange(num_classes)).astype("int32")
    return Tensor._wrap(out, inp._device)


def getitem(inp: Tensor, index: Any) -> Tensor:
    """inp[index]: ints, slices, ..., None, integer arrays and boolean masks."""
    return as_tensor(inp)[index]
