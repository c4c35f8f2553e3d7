"""optim.clip_grad_norm / clip_grad_value give MegEngine 1.13's numbers (recorded there).

Three parameters with gradients [3, -4], 12 (0-d) and [[1, 2], [-2, 0.5]]; each row is
(max_norm, ord, returned total norm, gradients after clipping).
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.optimizer as optim

GRADS = [[3.0, -4.0], 12.0, [[1.0, 2.0], [-2.0, 0.5]]]

NORM_CASES = [
    (
        5.0,
        2.0,
        13.35103,
        [[1.1235087, -1.4980116], 4.494035, [[0.3745029, 0.7490058], [-0.7490058, 0.18725145]]],
    ),
    (100.0, 2.0, 13.35103, GRADS),
    (
        1.0,
        float("inf"),
        12.0,
        [[0.25, -0.33333331], 0.99999994, [[0.08333333, 0.16666666], [-0.16666666, 0.04166666]]],
    ),
    (
        2.0,
        1.0,
        24.5,
        [
            [0.24489793, -0.32653058],
            0.9795917,
            [[0.08163264, 0.16326529], [-0.16326529, 0.04081632]],
        ],
    ),
    (
        3.0,
        3.0,
        12.245245,
        [[0.7349791, -0.9799721], 2.9399164, [[0.24499303, 0.48998606], [-0.48998606, 0.12249652]]],
    ),
]


def params_with_grads() -> list:
    """Parameters holding GRADS as their gradients."""
    params = []
    for g in GRADS:
        p = mge.Parameter(np.zeros(np.shape(g), dtype=np.float32))
        p.grad = mge.tensor(g)
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm, ord, total, clipped", NORM_CASES)
def test_clip_grad_norm_matches_megengine(max_norm, ord, total, clipped) -> None:
    params = params_with_grads()
    held = params[0].grad
    norm = optim.clip_grad_norm(params, max_norm, ord)
    assert isinstance(norm, mge.Tensor) and norm.shape == () and norm.dtype == np.float32
    np.testing.assert_allclose(norm.numpy(), total, rtol=1e-6)
    for p, expected in zip(params, clipped, strict=True):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.numpy(), expected, rtol=1e-6, atol=1e-7)
    assert params[0].grad is held  # changed in place, as MegEngine's grad._reset does


def test_clip_grad_norm_without_grads_returns_zero_and_takes_one_tensor() -> None:
    assert optim.clip_grad_norm([mge.Parameter([1.0])], 1.0).item() == 0.0
    p = mge.Parameter([1.0])
    p.grad = mge.tensor([3.0])
    assert optim.clip_grad_norm(p, 1.0).item() == 3.0
    np.testing.assert_allclose(p.grad.numpy(), [1.0], rtol=1e-6)


def test_clip_grad_value_matches_megengine() -> None:
    params = params_with_grads()
    held = params[0].grad
    assert optim.clip_grad_value(params + [mge.Parameter([5.0])], -1.5, 2.0) is None
    expected = [[2.0, -1.5], 2.0, [[1.0, 2.0], [-1.5, 0.5]]]
    for p, want in zip(params, expected, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), want)
    np.testing.assert_array_equal(held.numpy(), [2.0, -1.5])


def test_clip_grad_refuses_non_tensors() -> None:
    with pytest.raises(TypeError, match="clip_grad_\\* takes Tensors/Parameters, got list"):
        optim.clip_grad_norm([[1.0, 2.0]], 1.0)
