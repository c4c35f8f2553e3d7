"""Functions that rearrange or scan a tensor's elements: repeat, tile, roll, cumsum, scatter,
cond_take. All but cumsum are compositions of reshape, broadcast, concat and indexing, so
their gradients come from those primitives."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.coerce import normalize_axis
from ..ops import order as O
from ..ops import shape as P
from ..tensor import Tensor, apply, as_tensor
from .tensor import _along_axis_checks, broadcast_to, concat, reshape


def cumsum(inp: Any, axis: int) -> Tensor:
    """Running sum along axis; integer tensors keep their dtype."""
    inp = as_tensor(inp)
    if inp.dtype.kind not in "iuf":
        raise TypeError(f"cumsum needs a numeric tensor, got dtype {inp.dtype}")
    (ax,) = normalize_axis(axis, inp.ndim)
    return apply(O.cumsum, inp, axis=ax)


def repeat(inp: Any, repeats: int, axis: int | None = None) -> Tensor:
    """Each element repeated `repeats` times along axis (of the flattened tensor when None)."""
    inp = as_tensor(inp)
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeat: repeats must be an int >= 1, got {repeats!r}")
    if axis is None:
        inp, axis = reshape(inp, -1), 0
    (axis,) = normalize_axis(axis, inp.ndim)
    shape = inp.shape
    before, size, after = shape[:axis], shape[axis], shape[axis + 1 :]
    spread = broadcast_to(
        reshape(inp, (*before, size, 1, *after)), (*before, size, repeats, *after)
    )
    return reshape(spread, (*before, size * repeats, *after))


def tile(inp: Any, reps: Iterable[int]) -> Tensor:
    """inp repeated reps[i] times along axis i; extra leading reps add new axes (as NumPy)."""
    inp = as_tensor(inp)
    reps = tuple(int(r) for r in reps)
    if len(reps) < inp.ndim:
        raise ValueError(
            f"tile: reps {reps} has fewer entries than input of shape {inp.shape} has dimensions"
        )
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must not be negative, got {reps}")
    shape = (1,) * (len(reps) - inp.ndim) + inp.shape
    interleaved = [d for s in shape for d in (1, s)]
    spread = [d for r, s in zip(reps, shape, strict=True) for d in (r, s)]
    out = broadcast_to(reshape(inp, interleaved), spread)
    return reshape(out, [r * s for r, s in zip(reps, shape, strict=True)])


def roll(inp: Any, shift: Any, axis: Any = None) -> Tensor:
    """Elements shifted along axis (of the flattened tensor when None), wrapping around."""
    inp = as_tensor(inp)
    shape = inp.shape
    if axis is None:
        if not isinstance(shift, int):
            raise ValueError(f"roll: without axis, shift must be an int, got {shift!r}")
        return reshape(roll(reshape(inp, -1), shift, 0), shape)
    shifts = [shift] if isinstance(shift, int) else list(shift)
    axes = [axis] if isinstance(axis, int) else list(axis)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes")
    out = inp
    for s, a in zip(shifts, axes, strict=True):
        (a,) = normalize_axis(a, inp.ndim)
        size = shape[a]
        s = s % size if size else 0
        if s:
            index = [slice(None)] * inp.ndim
            index[a] = slice(size - s, None)
            tail = out[tuple(index)]
            index[a] = slice(None, size - s)
            out = concat([tail, out[tuple(index)]], a)
    return out


def scatter(inp: Tensor, axis: int, index: Any, source: Any) -> Tensor:
    """Write source into inp along axis at index, in place, and return inp (as MegEngine).

    For axis 1: inp[i][index[i][j][k]][k] = source[i][j][k]; index and source share a shape
    no longer than inp's on any axis.
    """
    index = as_tensor(index, inp)
    source = as_tensor(source, inp)
    if index.dtype.kind not in "iu":
        raise TypeError(f"scatter: index must be an integer tensor, got {index.dtype}")
    if source.shape != index.shape:
        raise ValueError(
            f"scatter: index of shape {index.shape} and source of shape {source.shape} differ"
        )
    axis = _along_axis_checks("scatter", inp, axis, index)
    inp[P.along_axis(inp._device.xp, index._data, axis)] = source
    return inp


def cond_take(mask: Any, x: Any) -> tuple[Tensor, Tensor]:
    """(x's elements where mask is true, their int32 positions in the flattened x), both 1-d."""
    x = as_tensor(x)
    mask = as_tensor(mask, x)
    if mask.dtype.kind != "b":
        raise ValueError(f"cond_take: mask must be bool, got dtype {mask.dtype}")
    if mask.shape != x.shape:
        raise ValueError(f"cond_take: mask of shape {mask.shape} does not match x {x.shape}")
    positions = apply(O.mask_positions, mask)
    return reshape(x, -1)[positions], positions
