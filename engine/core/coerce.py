"""Operand facts that need no Tensor: dtype promotion, axes, shapes, data -> device array.

`engine.tensor` (Tensor's operators) and `engine.functional` both ask these, so the
rules exist once and below both.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .device import Device
from .dtype import canonical_dtype, resolve_dtype


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype two operands meet in, as MegEngine: int with float gives the float dtype."""
    a_float, b_float = a.kind == "f", b.kind == "f"
    if a_float != b_float:
        return a if a_float else b
    return np.promote_types(a, b)


def normalize_axis(axis: Any, ndim: int) -> tuple | None:
    """None or a sorted tuple of non-negative axes, with a clear error when out of range."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (int(axis),)
    result = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimension(s)")
        result.append(a % builtins.max(ndim, 1))
    return tuple(sorted(result))


def shape_tuple(shape: Any) -> tuple:
    """A shape argument (int, sequence, or a tensor/array of sizes) as a tuple of ints."""
    if isinstance(shape, (tuple, list)):
        return tuple(int(s) for s in shape)
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    sizes = np.asarray(shape).tolist()  # a tensor or array of sizes: read on the host
    return (int(sizes),) if isinstance(sizes, int) else tuple(int(s) for s in sizes)


def reshape_target(shape: tuple, size: int, target: Any) -> tuple:
    """The new shape for `size` elements, one -1 inferred, or a ValueError naming both shapes."""
    new = shape_tuple(target)
    unknown = [i for i, s in enumerate(new) if s == -1]
    if len(unknown) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {new}")
    known = int(np.prod([s for s in new if s != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape {shape} into {new}")
        return tuple(size // known if s == -1 else s for s in new)
    if known != size:
        raise ValueError(f"reshape: cannot reshape {shape} ({size} elements) into {new}")
    return new


def transpose_pattern(pattern: Any, ndim: int) -> tuple | None:
    """A validated axis permutation (None: reverse the axes)."""
    if pattern is None:
        return None
    pattern = tuple(int(p) for p in pattern)
    if sorted(pattern) != list(range(ndim)):
        raise ValueError(f"transpose: {pattern} is not a permutation of {ndim} axes")
    return pattern


def check_matmul(a: tuple, b: tuple) -> None:
    """Raise a ValueError naming both shapes unless `a @ b` is defined by NumPy's rules."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"matmul needs tensors with at least 1 dimension, got {a} and {b}")
    ka = a[-1]
    kb = b[0] if len(b) == 1 else b[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {a} and {b} do not match (inner sizes {ka} != {kb})")


def _short_repr(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 40 else text[:37] + "..."


def to_array(data: Any, dtype: Any, device: Device) -> Any:
    """Copy host data (numbers, lists, ndarrays, CuPy arrays) into a new array on `device`."""
    if data is None:
        data = []
    elif hasattr(data, "get") and hasattr(data, "__cuda_array_interface__"):
        data = data.get()  # a CuPy array: copy it to the host first
    try:
        host = np.asarray(data)
    except ValueError as exc:  # NumPy 2 refuses ragged nested lists
        raise TypeError(f"cannot make a tensor from ragged {type(data).__name__}: {exc}") from None
    if host.dtype == object:
        raise TypeError(
            f"cannot make a tensor from ragged or non-numeric {type(data).__name__} "
            "(NumPy sees dtype object): tensors hold bool, integer or float numbers"
        )
    if host.dtype.kind not in "biuf":
        raise TypeError(
            f"cannot make a tensor of dtype {host.dtype} from {type(data).__name__} "
            f"{_short_repr(data)}: tensors hold bool, integer or float numbers"
        )
    target = resolve_dtype(dtype) if dtype is not None else canonical_dtype(host.dtype)
    return device.backend.from_host(np.array(host, dtype=target, copy=True))
