"""Vectorised synthetic dataset generators and the ``GENERATORS`` registry.

Every generator takes ``n``, a noise level and ``seed`` (an int, a ``numpy.random.Generator``
or ``None`` for the global ``engine.random`` generator) and returns ``SyntheticData``.
Regression generators return 1-D float64 ``x`` and ``y`` (like the MegEngine tutorial's
NumPy code; the trainer picks the dtype); classification generators return float32 ``x`` of
shape ``(n, features)`` and int32 labels with balanced, shuffled classes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data._common import Seed, SyntheticData, check_noise, check_positive, resolve_rng
from engine.data.shapes import images


def linear(n: int = 100, noise: float = 5.0, seed: Seed = None) -> SyntheticData:
    """The MegEngine tutorial's ``generate_random_examples``: y = w*x + b + U(-noise, noise).

    Draw order (identical to the tutorial's loop run on the same Generator ``g``):
    ``w = g.integers(5, 10)``, ``b = g.integers(-10, 10)``, then for each sample ``i`` in turn
    ``x[i] = g.uniform(-10, 10)`` followed by its noise ``g.uniform(-noise, noise)``.
    The per-sample pairs are drawn in one vectorised call of shape ``(n, 2)``.
    """
    n = check_positive("n", n)
    noise = check_noise("noise", noise)
    rng = resolve_rng(seed)
    w = int(rng.integers(5, 10))
    b = int(rng.integers(-10, 10))
    draws = rng.uniform(low=(-10.0, -noise), high=(10.0, noise), size=(n, 2))
    x = draws[:, 0].copy()
    y = w * x + b + draws[:, 1]
    return SyntheticData(x, y, "regression", "linear", {"w": w, "b": b, "noise": noise})


def polynomial(
    n: int = 100, noise: float = 1.0, degree: int = 3, seed: Seed = None
) -> SyntheticData:
    """1-D polynomial regression: x ~ U(-2, 2), y = sum c_k x^k + N(0, noise^2), c_k ~ U(-2, 2)."""
    n = check_positive("n", n)
    noise = check_noise("noise", noise)
    degree = check_positive("degree", degree)
    rng = resolve_rng(seed)
    coefficients = rng.uniform(-2.0, 2.0, degree + 1)
    x = rng.uniform(-2.0, 2.0, n)
    y = np.polynomial.polynomial.polyval(x, coefficients) + rng.normal(0.0, noise, n)
    meta = {"coefficients": coefficients.tolist(), "degree": degree, "noise": noise}
    return SyntheticData(x, y, "regression", "polynomial", meta)


def _balanced_labels(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    return rng.permutation(np.arange(n) % classes).astype(np.int32)


def blobs(
    n: int = 300, centers: int = 3, n_features: int = 2, std: float = 1.0, seed: Seed = None
) -> SyntheticData:
    """Isotropic Gaussian blobs around ``centers`` random centres drawn from U(-10, 10)."""
    n = check_positive("n", n)
    centers = check_positive("centers", centers, 2)
    n_features = check_positive("n_features", n_features)
    std = check_noise("std", std)
    rng = resolve_rng(seed)
    centres = rng.uniform(-10.0, 10.0, (centers, n_features))
    y = _balanced_labels(rng, n, centers)
    x = centres[y] + rng.normal(0.0, std, (n, n_features))
    meta = {"centers": centres.tolist(), "std": std, "classes": centers}
    return SyntheticData(x.astype(np.float32), y, "classification", "blobs", meta)


def moons(n: int = 200, noise: float = 0.1, seed: Seed = None) -> SyntheticData:
    """Two interleaving half circles (like sklearn's ``make_moons``) plus N(0, noise^2) jitter."""
    n = check_positive("n", n, 2)
    noise = check_noise("noise", noise)
    rng = resolve_rng(seed)
    y = _balanced_labels(rng, n, 2)
    t = rng.uniform(0.0, np.pi, n)
    outer = np.stack([np.cos(t), np.sin(t)], axis=1)
    inner = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(y[:, None] == 0, outer, inner) + rng.normal(0.0, noise, (n, 2))
    meta = {"noise": noise, "classes": 2}
    return SyntheticData(x.astype(np.float32), y, "classification", "moons", meta)


def spirals(n: int = 300, noise: float = 0.2, classes: int = 2, seed: Seed = None) -> SyntheticData:
    """Interleaved spiral arms (CS231n style): radius r ~ U(0, 1), angle noise N(0, noise^2)."""
    n = check_positive("n", n)
    noise = check_noise("noise", noise)
    classes = check_positive("classes", classes, 2)
    rng = resolve_rng(seed)
    y = _balanced_labels(rng, n, classes)
    r = rng.uniform(0.0, 1.0, n)
    theta = y * (2 * np.pi / classes) + r * 3 * np.pi + rng.normal(0.0, noise, n)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    meta = {"noise": noise, "classes": classes}
    return SyntheticData(x.astype(np.float32), y, "classification", "spirals", meta)


@dataclass(frozen=True)
class GeneratorSpec:
    """A registered generator: callable, with its task, one-line description and parameters."""

    name: str
    fn: Callable[..., SyntheticData]
    task: str
    description: str

    @property
    def params(self) -> dict[str, Any]:
        """Parameter names mapped to their defaults."""
        return {p.name: p.default for p in inspect.signature(self.fn).parameters.values()}

    def __call__(self, **kwargs: Any) -> SyntheticData:
        """Generate a dataset with keyword parameters."""
        return self.fn(**kwargs)


def _spec(fn: Callable[..., SyntheticData], task: str, description: str) -> GeneratorSpec:
    return GeneratorSpec(fn.__name__, fn, task, description)


GENERATORS: dict[str, GeneratorSpec] = {
    spec.name: spec
    for spec in (
        _spec(linear, "regression", "1-D line y = w*x + b + uniform noise (MegEngine tutorial)"),
        _spec(polynomial, "regression", "1-D random polynomial of a given degree + Gaussian noise"),
        _spec(blobs, "classification", "Gaussian blobs around random centres, any dimension"),
        _spec(moons, "classification", "two interleaving half circles in 2-D"),
        _spec(spirals, "classification", "interleaved 2-D spiral arms, 2 or more classes"),
        _spec(images, "classification", "28x28 grey images of shapes (square, disc, bars, ...)"),
    )
}


def generate(name: str, **params: Any) -> SyntheticData:
    """Run the registered generator ``name`` with ``params``; unknown names list the choices."""
    if name not in GENERATORS:
        raise KeyError(f"unknown generator {name!r} (choices: {', '.join(GENERATORS)})")
    return GENERATORS[name](**params)
