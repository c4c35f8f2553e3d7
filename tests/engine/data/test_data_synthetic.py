"""Synthetic generators: tutorial equivalence, shapes, dtypes, determinism and the registry."""

import sys
import types
from collections.abc import Callable

import numpy as np
import pytest

from engine.data import (
    GENERATORS,
    SHAPES,
    SyntheticData,
    blobs,
    generate,
    images,
    linear,
    moons,
    polynomial,
    spirals,
)


def tutorial_generate_random_examples(
    rng: np.random.Generator, n: int = 100, noise: float = 5
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """The MegEngine tutorial's loop, with np.random replaced by the Generator ``rng``."""
    w = rng.integers(5, 10)
    b = rng.integers(-10, 10)
    data = np.zeros((n,))
    label = np.zeros((n,))
    for i in range(n):
        data[i] = rng.uniform(-10, 10)
        label[i] = w * data[i] + b + rng.uniform(-noise, noise)
    return int(w), int(b), data, label


@pytest.mark.parametrize(("seed", "n", "noise"), [(0, 100, 5.0), (20200325, 37, 2.5), (7, 1, 0.0)])
def test_linear_matches_tutorial_loop(seed: int, n: int, noise: float) -> None:
    w, b, data, label = tutorial_generate_random_examples(np.random.default_rng(seed), n, noise)
    result = linear(n, noise, seed=np.random.default_rng(seed))
    assert (result.meta["w"], result.meta["b"]) == (w, b)
    np.testing.assert_array_equal(result.x, data)
    np.testing.assert_array_equal(result.y, label)


def test_linear_continues_a_shared_generator_like_the_loop() -> None:
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    linear(10, seed=ours)
    tutorial_generate_random_examples(theirs, 10)
    assert ours.random() == theirs.random()


def test_linear_int_seed_and_ranges() -> None:
    a = linear(200, 5.0, seed=42)
    b = linear(200, 5.0, seed=np.random.default_rng(42))
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape == a.y.shape == (200,)
    assert a.x.dtype == a.y.dtype == np.float64
    assert a.task == "regression" and a.name == "linear" and len(a) == 200
    assert np.all(np.abs(a.x) <= 10)
    assert np.all(np.abs(a.y - (a.meta["w"] * a.x + a.meta["b"])) <= 5.0)
    ws = {linear(1, seed=s).meta["w"] for s in range(200)}
    bs = {linear(1, seed=s).meta["b"] for s in range(400)}
    assert ws == set(range(5, 10))
    assert bs == set(range(-10, 10))


def test_polynomial() -> None:
    data = polynomial(50, noise=0.0, degree=2, seed=1)
    assert data.x.shape == data.y.shape == (50,)
    c0, c1, c2 = data.meta["coefficients"]
    np.testing.assert_allclose(data.y, c0 + c1 * data.x + c2 * data.x**2)
    noisy = polynomial(50, noise=0.5, degree=2, seed=1)
    np.testing.assert_array_equal(noisy.x, data.x)
    assert not np.array_equal(noisy.y, data.y)


def test_blobs() -> None:
    data = blobs(301, centers=4, n_features=3, std=0.0, seed=2)
    assert data.x.shape == (301, 3) and data.x.dtype == np.float32
    assert data.y.dtype == np.int32
    assert np.bincount(data.y).tolist() == [76, 75, 75, 75]
    centres = np.array(data.meta["centers"], np.float32)
    np.testing.assert_allclose(data.x, centres[data.y], rtol=1e-6)


def test_moons_geometry() -> None:
    data = moons(200, noise=0.0, seed=4)
    assert data.x.shape == (200, 2) and data.x.dtype == np.float32
    assert np.bincount(data.y).tolist() == [100, 100]
    outer, inner = data.x[data.y == 0], data.x[data.y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert np.all(outer[:, 1] >= -1e-6) and np.all(inner[:, 1] <= 0.5 + 1e-6)


def test_spirals() -> None:
    data = spirals(300, noise=0.1, classes=3, seed=5)
    assert data.x.shape == (300, 2) and data.x.dtype == np.float32
    assert np.bincount(data.y).tolist() == [100, 100, 100]
    assert np.all(np.hypot(*data.x.T) <= 1.0 + 1e-6)


def test_images_shapes_and_range() -> None:
    data = images(80, seed=6)
    assert data.x.shape == (80, 1, 28, 28) and data.x.dtype == np.float32
    assert data.y.dtype == np.int32
    assert data.x.min() >= 0.0 and data.x.max() <= 1.0
    assert np.bincount(data.y, minlength=6).tolist() == [14, 14, 13, 13, 13, 13]
    assert data.meta["class_names"] == list(SHAPES)[:6]
    assert images(10, classes=8, size=16, seed=0).x.shape == (10, 1, 16, 16)


def test_images_render_the_named_shapes() -> None:
    data = images(400, noise=0.0, classes=8, seed=7)
    on = data.x[:, 0] > 0
    assert np.all(on.any(axis=(1, 2)))
    assert np.all((data.x[data.x > 0] >= 0.6) & (data.x[data.x > 0] <= 1.0))
    rows, cols = on.any(axis=2), on.any(axis=1)
    height, width = rows.sum(axis=1), cols.sum(axis=1)
    fill = on.sum(axis=(1, 2)) / (height * width)
    names = data.meta["class_names"]

    def of(name: str) -> np.ndarray:
        return data.y == names.index(name)

    assert np.all(width[of("hbar")] > 2 * height[of("hbar")])
    assert np.all(height[of("vbar")] > 2 * width[of("vbar")])
    assert fill[of("square")].min() > 0.95
    assert 0.6 < fill[of("disc")].mean() < 0.9
    assert fill[of("triangle")].mean() < 0.65
    assert fill[of("ring")].mean() < fill[of("disc")].mean()


def test_images_class_limit() -> None:
    with pytest.raises(ValueError, match="classes must be <= 8"):
        images(10, classes=9, seed=0)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_per_seed(name: str) -> None:
    a, b = generate(name, n=24, seed=9), generate(name, n=24, seed=9)
    c = generate(name, n=24, seed=10)
    assert isinstance(a, SyntheticData)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    assert len(a.x) == len(a.y) == 24
    assert a.task == GENERATORS[name].task


def test_registry_metadata() -> None:
    assert set(GENERATORS) == {"linear", "polynomial", "blobs", "moons", "spirals", "images"}
    for name, spec in GENERATORS.items():
        assert spec.name == name
        assert spec.task in {"regression", "classification"}
        assert spec.description and "\n" not in spec.description
        assert "n" in spec.params and "seed" in spec.params
    assert GENERATORS["linear"].params == {"n": 100, "noise": 5.0, "seed": None}
    assert GENERATORS["moons"](n=4, seed=0).x.shape == (4, 2)


def test_generate_unknown_name() -> None:
    with pytest.raises(KeyError, match="unknown generator 'nope'.*linear"):
        generate("nope")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: linear(0, seed=0), ValueError, "n must be >= 1"),
        (lambda: linear(5, noise=-1, seed=0), ValueError, "noise must be"),
        (lambda: polynomial(5, degree=0, seed=0), ValueError, "degree must be >= 1"),
        (lambda: blobs(5, centers=1, seed=0), ValueError, "centers must be >= 2"),
        (lambda: spirals(5, classes=1, seed=0), ValueError, "classes must be >= 2"),
        (lambda: moons(5, seed="x"), TypeError, "seed must be"),
        (lambda: linear(5.5, seed=0), TypeError, "n must be an int"),
    ],
)
def test_parameter_validation(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_seed_none_uses_engine_random(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("engine.random")
    shared = np.random.default_rng(5)
    fake.get_rng = lambda: shared  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "engine.random", fake)
    first = linear(20)
    np.testing.assert_array_equal(first.x, linear(20, seed=np.random.default_rng(5)).x)
    assert not np.array_equal(linear(20).x, first.x)
