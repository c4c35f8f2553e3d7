"""F.nn.pad: constant, reflect and replicate padding (constant is a primitive; the others are
concatenations of slices, so their gradients come from getitem and concat)."""

from __future__ import annotations

from typing import Any

from ..ops import shape as S
from ..tensor import Tensor, apply, as_tensor

_PAD_MODES = {
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "edge": "replicate",
}


def _pad_axis(x: Tensor, axis: int, before: int, after: int, mode: str) -> Tensor:
    """x extended along one axis by mirroring ("reflect") or repeating the edge ("replicate")."""
    from .tensor import broadcast_to, concat

    n = x.shape[axis]

    def take(index: slice) -> Tensor:
        full = [slice(None)] * x.ndim
        full[axis] = index
        return x[tuple(full)]

    def repeat(edge: Tensor, times: int) -> Tensor:
        shape = list(x.shape)
        shape[axis] = times
        return broadcast_to(edge, shape)

    parts = []
    if mode == "reflect":
        if before >= n or after >= n:
            raise ValueError(
                f"pad: reflect padding ({before}, {after}) of axis {axis} needs fewer than "
                f"{n} (its size) on each side, input shape {x.shape}"
            )
        if before:
            parts.append(take(slice(before, 0, -1)))
        parts.append(x)
        if after:
            stop = n - 2 - after
            parts.append(take(slice(n - 2, stop if stop >= 0 else None, -1)))
    else:
        if before:
            parts.append(repeat(take(slice(0, 1)), before))
        parts.append(x)
        if after:
            parts.append(repeat(take(slice(n - 1, n)), after))
    return concat(parts, axis) if len(parts) > 1 else x


def pad(src: Any, pad_width: Any, mode: str = "constant", constant_value: float = 0.0) -> Tensor:
    """Pad src by ((before, after), ...) per leading axis: "constant", "reflect" or
    "replicate" (alias "edge")."""
    src = as_tensor(src)
    kind = _PAD_MODES.get(str(mode).lower())
    if kind is None:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    width = [(int(lo), int(hi)) for lo, hi in pad_width]
    if len(width) > src.ndim or any(lo < 0 or hi < 0 for lo, hi in width):
        raise ValueError(f"pad: pad_width {pad_width} does not fit input of shape {src.shape}")
    width += [(0, 0)] * (src.ndim - len(width))
    if kind == "constant":
        return apply(S.pad, src, pad_width=tuple(width), value=constant_value)
    out = src
    for axis, (lo, hi) in enumerate(width):
        if lo or hi:
            out = _pad_axis(out, axis, lo, hi, kind)
    return out
