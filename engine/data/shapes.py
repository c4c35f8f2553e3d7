"""A small image-classification set of rendered shapes, drawn with vectorised NumPy masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.data._common import Seed, SyntheticData, check_noise, check_positive, resolve_rng

Mask = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _bar(s: np.ndarray) -> np.ndarray:
    return np.maximum(0.8, 0.25 * s)


def _square(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(dx), np.abs(dy)) <= s


def _disc(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    return dx**2 + dy**2 <= s**2


def _hbar(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    return (np.abs(dy) <= _bar(s)) & (np.abs(dx) <= s)


def _vbar(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    return (np.abs(dx) <= _bar(s)) & (np.abs(dy) <= s)


def _plus(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    return _hbar(dx, dy, s) | _vbar(dx, dy, s)


def _triangle(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    return (np.abs(dx) <= (dy + s) / 2) & (dy <= s)


def _ring(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    r = np.sqrt(dx**2 + dy**2)
    return (r <= s) & (r >= s - np.maximum(1.2, 0.3 * s))


def _x_cross(dx: np.ndarray, dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    width = 1.4 * _bar(s)
    diagonals = (np.abs(dx - dy) <= width) | (np.abs(dx + dy) <= width)
    return diagonals & _square(dx, dy, s)


SHAPES: dict[str, Mask] = {
    "square": _square,
    "disc": _disc,
    "hbar": _hbar,
    "vbar": _vbar,
    "plus": _plus,
    "triangle": _triangle,
    "ring": _ring,
    "x": _x_cross,
}


def images(
    n: int = 1000, noise: float = 0.1, classes: int = 6, size: int = 28, seed: Seed = None
) -> SyntheticData:
    """Shape images (n, 1, size, size) in [0, 1]; the first ``classes`` shapes of ``SHAPES``."""
    n = check_positive("n", n)
    noise = check_noise("noise", noise)
    classes = check_positive("classes", classes, 2)
    size = check_positive("size", size, 8)
    if classes > len(SHAPES):
        raise ValueError(f"classes must be <= {len(SHAPES)}, got {classes}")
    rng = resolve_rng(seed)
    y = rng.permutation(np.arange(n) % classes).astype(np.int32)
    half = rng.uniform(0.18, 0.32, n) * size
    room = size - 3 - 2 * half
    cx = half + 1 + rng.uniform(0.0, 1.0, n) * room
    cy = half + 1 + rng.uniform(0.0, 1.0, n) * room
    brightness = rng.uniform(0.6, 1.0, n).astype(np.float32)
    grid = np.arange(size, dtype=np.float32)
    x = np.zeros((n, size, size), dtype=np.float32)
    names = list(SHAPES)[:classes]
    for label, name in enumerate(names):
        idx = np.flatnonzero(y == label)
        s = half[idx, None, None].astype(np.float32)
        dx = grid[None, None, :] - cx[idx, None, None].astype(np.float32)
        dy = grid[None, :, None] - cy[idx, None, None].astype(np.float32)
        x[idx] = SHAPES[name](dx, dy, s) * brightness[idx, None, None]
    x += rng.normal(0.0, noise, x.shape).astype(np.float32)
    np.clip(x, 0.0, 1.0, out=x)
    meta = {"class_names": names, "classes": classes, "size": size, "noise": noise}
    return SyntheticData(x[:, None], y, "classification", "images", meta)
