"""Image functions (F.vision.*, also F.nn.interpolate): resampling NCHW tensors.

interpolate is separable: one gather-and-blend pass per spatial axis, composed of getitem,
mul and add, so its gradient comes from those primitives.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np  # host-side index and weight tables only (tiny, built once per call)

from ..tensor import Tensor, as_tensor
from .tensor import reshape

__all__ = ["interpolate"]

_MODES = ("bilinear", "linear", "nearest")


def _take(x: Tensor, axis: int, positions: np.ndarray) -> Tensor:
    index = (slice(None),) * axis + (positions,)
    return x[index]


def _nearest_axis(x: Tensor, axis: int, out: int) -> Tensor:
    size = x.shape[axis]
    # MegEngine (like OpenCV): source = floor(dst * in / out)
    return _take(x, axis, np.minimum(np.floor(np.arange(out) * (size / out)), size - 1).astype(int))


def _linear_axis(x: Tensor, axis: int, out: int, align_corners: bool) -> Tensor:
    size = x.shape[axis]
    dst = np.arange(out, dtype=np.float64)
    if align_corners:
        src = dst * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        # pixel centres line up; outside the input the edge value repeats
        src = np.clip((dst + 0.5) * (size / out) - 0.5, 0, size - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, size - 1)
    shape = [1] * x.ndim
    shape[axis] = out
    w = Tensor((src - lo).reshape(shape), dtype=x.dtype, device=x.device)
    return _take(x, axis, lo) * (1 - w) + _take(x, axis, hi) * w


def _out_size(inp: Tensor, size: Any, scale_factor: Any, mode: str) -> tuple[int, int]:
    if size is None and scale_factor is None:
        raise ValueError("interpolate: give size or scale_factor")
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: give size or scale_factor, not both")
    if size is not None:
        if isinstance(size, int):
            return size, 1  # MegEngine's reading of a single size: (size, 1)
        if mode == "linear":
            raise ValueError("interpolate: in linear mode size must be a single int")
        h, w = (int(s) for s in size)
        return h, w
    if isinstance(scale_factor, (int, float)):
        scales = (float(scale_factor), 1.0 if mode == "linear" else float(scale_factor))
    elif mode == "linear":
        raise ValueError("interpolate: in linear mode scale_factor must be a single number")
    else:
        scales = tuple(float(s) for s in scale_factor)
        if len(scales) != 2:
            raise ValueError(f"interpolate: scale_factor must be a pair, got {scale_factor!r}")
    return tuple(math.floor(inp.shape[2 + a] * scales[a]) for a in (0, 1))  # type: ignore[return-value]


def interpolate(
    inp: Any,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "bilinear",
    align_corners: bool | None = None,
) -> Tensor:
    """Resample NCHW inp (NCL for mode "linear") to size, or by scale_factor (floored).

    Modes: "nearest" (source = floor(dst * in / out)), "bilinear" and "linear" (pixel centres
    aligned and edges repeated; with align_corners=True the corner pixels line up instead).
    """
    mode = mode.lower()
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {_MODES}, got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners applies to the bilinear/linear modes only")
    inp = as_tensor(inp)
    if inp.dtype not in (np.float32, np.float64):
        inp = inp.astype("float32")  # float16 and integers resample in float32, as MegEngine
    if mode == "linear":
        if inp.ndim != 3:
            raise ValueError(f"interpolate: linear mode needs an (N, C, L) input, got {inp.shape}")
        inp = reshape(inp, (*inp.shape, 1))
    elif inp.ndim != 4:
        raise ValueError(f"interpolate: {mode} mode needs an (N, C, H, W) input, got {inp.shape}")
    out_h, out_w = _out_size(inp, size, scale_factor, mode)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"interpolate: output size ({out_h}, {out_w}) must be positive")
    out = inp
    for axis, n in ((2, out_h), (3, out_w)):
        if n == out.shape[axis]:
            continue  # every mode maps each position onto itself
        if mode == "nearest":
            out = _nearest_axis(out, axis, n)
        else:
            out = _linear_axis(out, axis, n, bool(align_corners))
    return reshape(out, out.shape[:3]) if mode == "linear" else out
