"""check_parameters: a loss's gradient per named parameter against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import engine.functional as F
import engine.module as M
from engine import Parameter, Tensor
from engine.autodiff.check import (
    cast_in_place,
    check_parameters,
    kink_slope,
    sample_entries,
    tolerances,
)


def _quadratic():
    """loss = sum(w * x)^2 / 2 with x fixed: d loss / d w = (w . x) x, known by hand."""
    w = Parameter(np.array([0.5, -1.0, 2.0]), dtype="float64")
    x = Tensor(np.array([1.0, 2.0, 3.0]), dtype="float64")
    return w, x, lambda: ((w * x).sum() ** 2) / 2


def test_matches_a_hand_derived_gradient_and_leaves_the_parameter_as_it_was():
    w, x, loss = _quadratic()
    result = check_parameters(loss, {"w": w})
    assert result.passed and result.failed == []
    assert result.loss == pytest.approx(0.5 * (0.5 - 2.0 + 6.0) ** 2)
    (row,) = result.parameters
    assert (row.name, row.shape, row.size, row.entries, row.kinks) == ("w", (3,), 3, 3, 0)
    assert row.max_abs < 1e-8
    # the worst element's analytic value is one of (w . x) x = 4.5 * [1, 2, 3]
    assert min(abs(row.analytic - g) for g in (4.5, 9.0, 13.5)) < 1e-9
    assert w.numpy().tolist() == [0.5, -1.0, 2.0] and w.grad is None
    assert (result.eps, result.atol, result.rtol) == tolerances("float64")


def test_a_wrong_gradient_fails_by_name():
    w, x, loss = _quadratic()
    b = Parameter(np.array([1.0]), dtype="float64")
    # detach hides b from the tape: the analytic gradient is 0, the numeric one is 2 * b = 2
    result = check_parameters(
        lambda: loss() + (b.detach() * b.detach()).sum(), [("w", w), ("b", b)]
    )
    assert result.failed == ["b"]
    row = result.parameters[1]
    assert row.analytic == 0.0 and row.numeric == pytest.approx(2.0)


def test_relu_at_zero_is_a_kink_compared_with_the_one_sided_slope():
    w = Parameter(np.array([0.0, 1.0]), dtype="float64")
    result = check_parameters(lambda: F.relu(w).sum(), {"w": w})
    assert result.passed and result.parameters[0].kinks == 1


def test_existing_grads_are_restored_and_entries_are_sampled():
    w = Parameter(np.arange(100.0), dtype="float64")
    w.grad = Tensor(np.ones(100), dtype="float64")
    result = check_parameters(lambda: (w * w).sum(), {"w": w}, entries=7, seed=3)
    assert result.parameters[0].entries == 7 and result.passed
    assert w.grad.numpy().tolist() == [1.0] * 100
    with pytest.raises(ValueError, match="entries must be >= 1"):
        check_parameters(lambda: (w * w).sum(), {"w": w}, entries=0)


def test_float32_parameters_get_float32_tolerances():
    w = Parameter(np.array([1.0, 2.0], dtype=np.float32))
    result = check_parameters(lambda: (w * w).sum(), {"w": w})
    assert (result.eps, result.atol, result.rtol) == (1e-3, 1e-2, 1e-2) and result.passed


def test_tolerances_fill_in_only_what_is_missing():
    assert tolerances("float64") == (1e-6, 1e-5, 1e-4)
    assert tolerances("float32", atol=0.5) == (1e-3, 0.5, 1e-2)
    with pytest.raises(ValueError, match="float16"):
        tolerances("float16")


def test_cast_in_place_keeps_the_tensor_objects():
    model = M.Sequential(M.Linear(3, 4), M.BatchNorm1d(4))
    before = list(model.tensors())
    assert cast_in_place(model.tensors(), "float64") == len(before) == 6
    assert [id(t) for t in model.tensors()] == [id(t) for t in before]
    assert all(t.dtype == np.float64 for t in model.tensors())
    assert cast_in_place(model.tensors(), "float64") == 0


def test_sample_entries():
    assert sample_entries("w", 5, 32, 0).tolist() == [0, 1, 2, 3, 4]
    assert sample_entries("w", 50, None, 0).tolist() == list(range(50))
    picked = sample_entries("w", 1000, 32, 0)
    assert len(set(picked.tolist())) == 32 and np.all(np.diff(picked) > 0)
    assert np.array_equal(picked, sample_entries("w", 1000, 32, 0))
    assert not np.array_equal(picked, sample_entries("b", 1000, 32, 0))


def test_kink_slope():
    tol = dict(atol=1e-5, rtol=1e-4)
    assert kink_slope(1.0, 1.0, 1.0, 1.0, **tol) is None  # smooth and matching
    assert kink_slope(0.0, 0.5, 1.0, 0.0, **tol) == 0.0  # ReLU at 0: follows the left slope
    assert kink_slope(2.0, 0.5, 1.0, 0.0, **tol) is None  # matches neither side: a real failure
    assert kink_slope(2.0, 1.0, 1.0, 1.0, **tol) is None  # no slope jump: a real failure
