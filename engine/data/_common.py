"""Helpers shared by the synthetic data generators: seeding and the result container."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Seed = int | np.random.Generator | None


def resolve_rng(seed: Seed) -> np.random.Generator:
    """Return a Generator: ``seed`` itself, a fresh one seeded by an int, or the global one."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        from engine.random import get_rng

        return get_rng()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}"
        )
    return np.random.default_rng(int(seed))


def check_positive(name: str, value: int, minimum: int = 1) -> int:
    """Validate that an integer parameter is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_noise(name: str, value: float) -> float:
    """Validate a non-negative noise level."""
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


@dataclass(frozen=True)
class SyntheticData:
    """A generated dataset: inputs ``x``, targets ``y``, its task and generator metadata."""

    x: np.ndarray
    y: np.ndarray
    task: str
    name: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        """Number of samples."""
        return len(self.x)
