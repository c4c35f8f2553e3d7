"""Sample-input builders shared by the primitive registry entries (float64, seeded by caller)."""

from __future__ import annotations

from typing import Any

import numpy as np

UNARY_SHAPES = [(), (5,), (2, 3), (2, 3, 4)]
BINARY_SHAPES = [
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((4, 1, 3), (2, 1)),
    ((), (2, 3)),
    ((1, 3), (2, 1)),
]


def unary(rng: np.random.Generator, low: float = -2.0, high: float = 2.0, **params: Any) -> list:
    """One sample per shape in UNARY_SHAPES with values uniform in [low, high]."""
    return [((rng.uniform(low, high, s),), dict(params)) for s in UNARY_SHAPES]


def binary(
    rng: np.random.Generator,
    low: float = -2.0,
    high: float = 2.0,
    low2: float | None = None,
    high2: float | None = None,
) -> list:
    """Samples for a broadcasting binary op, exercising broadcast in both directions."""
    lo2 = low if low2 is None else low2
    hi2 = high if high2 is None else high2
    return [((rng.uniform(low, high, a), rng.uniform(lo2, hi2, b)), {}) for a, b in BINARY_SHAPES]
