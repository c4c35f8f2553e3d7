"""Image kernels of the data pipeline on NumPy HWC arrays: pad, flip, resize (as OpenCV does).

MegEngine calls OpenCV here; these reproduce its results without the dependency. Images are
host arrays shaped (H, W, C); a 2-D result keeps its channel axis. Resizing follows
cv2.resize: bilinear samples at half-pixel centres with edge clamping, nearest takes
floor(dst * src / dst_size). Integer images are rounded back to their dtype (OpenCV's
fixed-point bilinear may differ by 1 on uint8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

INTER_NEAREST = 0  # OpenCV's constants, as MegEngine's transforms take them
INTER_LINEAR = 1
_INTERPOLATIONS = {INTER_NEAREST: "nearest", INTER_LINEAR: "linear", "nearest": "nearest"}
_INTERPOLATIONS.update({"linear": "linear", "bilinear": "linear"})


def _check_image(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"{what}: image must have 3 dims (H, W, C), got shape {image.shape}")
    return image


def pad_sizes(size: int | Sequence[int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a (bottom, right) pair or a 4-tuple."""
    if isinstance(size, (int, np.integer)):
        return (int(size),) * 4
    if isinstance(size, Sequence) and len(size) == 2:
        return 0, int(size[0]), 0, int(size[1])
    if isinstance(size, Sequence) and len(size) == 4:
        return tuple(int(s) for s in size)  # type: ignore[return-value]
    raise ValueError(
        f"pad size must be an int, (bottom, right) or (top, bottom, left, right), got {size!r}"
    )


def pad(image: np.ndarray, size: int | Sequence[int], value: Any = 0) -> np.ndarray:
    """Pad an HWC image with a constant: a scalar fills every channel, a sequence one each.

    A float `value` makes the result float32, as in MegEngine. (MegEngine's OpenCV call puts
    a scalar into the first channel only and zeros into the others.)
    """
    image = _check_image(image, "pad")
    top, bottom, left, right = pad_sizes(size)
    fill = np.asarray(value)
    if fill.dtype.kind == "f":
        image = image.astype(np.float32)
    h, w, c = image.shape
    if fill.ndim > 1:
        raise ValueError(f"pad value must be a scalar or one value per channel, got {value!r}")
    if fill.ndim == 1:  # per channel, as an OpenCV Scalar: extra entries unused, missing ones 0
        fill = np.concatenate([fill[:c], np.zeros(max(0, c - fill.size), fill.dtype)])
    out = np.empty((h + top + bottom, w + left + right, c), dtype=image.dtype)
    out[...] = fill
    out[top : top + h, left : left + w] = image
    return out


def flip(image: np.ndarray, flip_code: int) -> np.ndarray:
    """Mirror an HWC image: 1 left-right, 0 upside down, -1 both (OpenCV's flipCode)."""
    image = _check_image(image, "flip")
    axes = {1: (1,), 0: (0,), -1: (0, 1)}.get(flip_code)
    if axes is None:
        raise ValueError(f"flip_code must be 1, 0 or -1, got {flip_code!r}")
    return np.ascontiguousarray(np.flip(image, axes))


def resize(image: np.ndarray, size: Sequence[int], interpolation: Any = INTER_LINEAR) -> np.ndarray:
    """Resize an HWC image to `size` = (height, width) as cv2.resize does."""
    image = _check_image(image, "resize")
    if len(size) != 2:
        raise ValueError(f"resize needs (h, w), got {size!r}")
    kind = _INTERPOLATIONS.get(interpolation)
    if kind is None:
        raise ValueError(f"interpolation must be 0 (nearest) or 1 (linear), got {interpolation!r}")
    th, tw = int(size[0]), int(size[1])
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize needs a positive size, got {size!r}")
    h, w = image.shape[:2]
    if kind == "nearest":
        rows = np.minimum(np.floor(np.arange(th) * (h / th)).astype(np.intp), h - 1)
        cols = np.minimum(np.floor(np.arange(tw) * (w / tw)).astype(np.intp), w - 1)
        return image[rows[:, None], cols[None, :]]
    y0, y1, wy = _linear_taps(h, th)
    x0, x1, wx = _linear_taps(w, tw)
    src = image.astype(np.float64)
    top = src[y0] * (1 - wy)[:, None, None] + src[y1] * wy[:, None, None]
    out = top[:, x0] * (1 - wx)[None, :, None] + top[:, x1] * wx[None, :, None]
    if image.dtype.kind in "iub":
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(image.dtype)
    return out.astype(image.dtype)


def _linear_taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of m half-pixel-centred samples from n (edges clamped)."""
    pos = (np.arange(m) + 0.5) * (n / m) - 0.5
    pos = np.clip(pos, 0, n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, pos - lo


__all__ = ["INTER_LINEAR", "INTER_NEAREST", "flip", "pad", "pad_sizes", "resize"]
