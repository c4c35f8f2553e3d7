"""Image kernels of the data pipeline on NumPy HWC arrays: pad, flip, resize, colour spaces.

MegEngine calls OpenCV here; these reproduce its results without the dependency. Images are
host arrays shaped (H, W, C) with channels in OpenCV's BGR order; a 2-D result keeps its
channel axis. Resizing follows cv2.resize: bilinear samples at half-pixel centres with edge
clamping, nearest takes floor(dst * src / dst_size). Integer images are rounded back to their
dtype (OpenCV's fixed-point bilinear may differ by 1 on uint8). Colour conversions follow
OpenCV 4's arithmetic bit for bit (its fixed-point tables on uint8, its fused multiply-adds on
float32), checked over all 2**24 uint8 colours.
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


# cv2.COLOR_BGR2GRAY: uint8 in 15-bit fixed point, float32 with these float32 weights
_GRAY_SHIFT = 15
_GRAY_FIXED = (3735, 19235, 9798)  # B, G, R
_GRAY_FLOAT = (np.float32(0.114), np.float32(0.587), np.float32(0.299))


def _fma(a: np.ndarray, b: np.float32, c: np.ndarray) -> np.ndarray:
    """a * b + c rounded once to float32, as a fused multiply-add (the product is exact)."""
    return (a.astype(np.float64) * np.float64(b) + c).astype(np.float32)


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR (or BGRA) to gray, as cv2.COLOR_BGR2GRAY: 0.114 B + 0.587 G + 0.299 R, (H, W, 1)."""
    image = _check_image(image, "to_gray")
    if image.shape[2] not in (3, 4):
        raise ValueError(f"to_gray: image must have 3 or 4 channels (BGR), got {image.shape}")
    b, g, r = image[..., 0], image[..., 1], image[..., 2]
    if image.dtype == np.uint8:
        wb, wg, wr = _GRAY_FIXED
        total = b.astype(np.int32) * wb + g.astype(np.int32) * wg + r.astype(np.int32) * wr
        gray = ((total + (1 << (_GRAY_SHIFT - 1))) >> _GRAY_SHIFT).astype(np.uint8)
    elif image.dtype == np.float32:
        wb, wg, wr = _GRAY_FLOAT
        gray = _fma(r, wr, _fma(b, wb, g * wg))  # OpenCV's vector order: G, then B, then R
    else:
        raise ValueError(f"to_gray: image must be uint8 or float32, got {image.dtype}")
    return gray[..., None]


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Gray (H, W, 1) to BGR (H, W, 3) by repeating the channel, as cv2.COLOR_GRAY2BGR."""
    image = _check_image(image, "to_bgr")
    if image.shape[2] != 1:
        raise ValueError(f"to_bgr: image must have 1 channel, got shape {image.shape}")
    return np.repeat(image, 3, axis=2)


_HSV_SHIFT = 12
_HSV_HALF = 1 << (_HSV_SHIFT - 1)
# OpenCV's division tables: 255 / v for saturation and 256 / (6 diff) for a full-range hue
_SDIV = np.concatenate([[0], np.rint((255 << _HSV_SHIFT) / np.arange(1, 256))]).astype(np.int64)
_HDIV = np.concatenate([[0], np.rint((256 << _HSV_SHIFT) / (6.0 * np.arange(1, 256)))])
_HDIV = _HDIV.astype(np.int64)
# which of (v, v(1-s), v(1-s f), v(1-s(1-f))) are B, G, R in each sixth of the hue circle
_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def bgr_to_hsv_full(image: np.ndarray) -> np.ndarray:
    """uint8 BGR to HSV with the hue over 0..255, as cv2.COLOR_BGR2HSV_FULL (exactly)."""
    image = _check_image(image, "bgr_to_hsv_full")
    src = image[..., :3].astype(np.int64)
    b, g, r = src[..., 0], src[..., 1], src[..., 2]
    v = np.maximum(np.maximum(b, g), r)
    diff = v - np.minimum(np.minimum(b, g), r)
    s = (diff * _SDIV[v] + _HSV_HALF) >> _HSV_SHIFT
    h = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * _HDIV[diff] + _HSV_HALF) >> _HSV_SHIFT
    h = np.where(h < 0, h + 256, h)
    return np.stack([np.minimum(h, 255), s, v], axis=-1).astype(np.uint8)


def hsv_full_to_bgr(hsv: np.ndarray) -> np.ndarray:
    """uint8 full-range HSV back to BGR, as cv2.COLOR_HSV2BGR_FULL (which reads hue / 255).

    OpenCV's vector code rounds a few exact halves down (71 of the 2**24 inputs differ by 1).
    """
    hsv = _check_image(hsv, "hsv_full_to_bgr")
    one = np.float32(1.0)
    h = hsv[..., 0].astype(np.float32) * np.float32(6.0 / 255.0)
    s = hsv[..., 1].astype(np.float32) * np.float32(1.0 / 255.0)
    v = hsv[..., 2].astype(np.float32) * np.float32(1.0 / 255.0)
    sector = np.floor(h)
    f = h - sector
    table = np.stack([v, v * (one - s), v * (one - s * f), v * (one - s * (one - f))])
    picks = _SECTORS[sector.astype(np.intp) % 6]  # (H, W, 3) rows of the table
    bgr = np.take_along_axis(table, np.moveaxis(picks, -1, 0), axis=0)
    bgr = np.moveaxis(bgr, 0, -1) * np.float32(255.0)
    return np.clip(np.rint(bgr), 0, 255).astype(np.uint8)


__all__ = [
    "INTER_LINEAR",
    "INTER_NEAREST",
    "bgr_to_hsv_full",
    "flip",
    "hsv_full_to_bgr",
    "pad",
    "pad_sizes",
    "resize",
    "to_bgr",
    "to_gray",
]
