"""Engine calls a user gets wrong: clear errors naming the argument, or a warning where
MegEngine silently computes something else (issue 12, "Engine API").

Values marked "MegEngine 1.13" were recorded there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.module as M
from engine.autodiff import GradManager

PRED = [[1.0], [2.0], [3.0]]  # (N, 1), as a one-output model gives
LABEL = [1.0, 2.0, 4.0]  # (N,)


@pytest.mark.parametrize(
    "loss, expected",
    [(F.nn.square_loss, 2.3333333), (F.nn.l1_loss, 1.2222222)],  # MegEngine 1.13
)
def test_losses_broadcasting_n1_against_n_warn_but_keep_megengine_s_value(loss, expected) -> None:
    with pytest.warns(
        UserWarning,
        match=r"label shape \(3,\) differs from pred shape \(3, 1\); they broadcast to \(3, 3\)",
    ):
        value = loss(mge.tensor(PRED), mge.tensor(LABEL))
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-6)


def test_hinge_loss_warns_too_and_equal_shapes_stay_silent() -> None:
    with pytest.warns(UserWarning, match="hinge_loss: label shape"):
        F.nn.hinge_loss(mge.tensor([[1.0, -1.0]]), mge.tensor([1.0, -1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = F.nn.square_loss(mge.tensor(PRED).reshape(3), mge.tensor(LABEL))
    np.testing.assert_allclose(value.numpy(), 1 / 3, rtol=1e-6)


@pytest.mark.parametrize(
    "weight, dtype",
    [
        (np.array([["a", "b"]]), "<U1"),
        (np.array([["1", "2"]]), "<U1"),  # numeric strings are still strings
        (np.array([[b"a", b"b"]]), "|S1"),
        (np.array([[1 + 1j, 2]]), "complex128"),
        (np.array([[object(), 1]], dtype=object), "object"),
    ],
)
def test_load_state_dict_refuses_non_numeric_arrays(weight, dtype: str) -> None:
    m = M.Linear(2, 1)
    before = m.weight.numpy(), m.bias.numpy()
    state = {"bias": np.array([5.0], np.float32), "weight": weight}
    with pytest.raises(
        TypeError,
        match=rf"state_dict value for `weight` has dtype {dtype}: only bool, integer and float",
    ):
        m.load_state_dict(state)
    np.testing.assert_array_equal(m.weight.numpy(), before[0])
    np.testing.assert_array_equal(m.bias.numpy(), before[1])  # nothing was half-loaded


def test_load_state_dict_still_takes_ints_and_bools() -> None:
    m = M.Linear(2, 1)
    m.load_state_dict({"weight": np.array([[1, 0]]), "bias": np.array([True])})
    assert m.weight.dtype == np.float32 and m.weight.numpy().tolist() == [[1.0, 0.0]]
    assert m.bias.numpy().tolist() == [1.0]


@pytest.mark.parametrize(
    "args, error, message",
    [
        (
            (0, 2),
            ValueError,
            "Linear: in_features must be >= 1, got 0",
        ),  # MegEngine: ZeroDivisionError
        ((2, 0), ValueError, "Linear: out_features must be >= 1, got 0"),  # MegEngine accepts it
        ((-1, 2), ValueError, "Linear: in_features must be >= 1, got -1"),
        ((2.5, 2), TypeError, "Linear: in_features must be an int, got float 2.5"),
        ((True, 2), TypeError, "Linear: in_features must be an int, got bool True"),
        ((2, "3"), TypeError, "Linear: out_features must be an int, got str '3'"),
    ],
)
def test_linear_sizes(args: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        M.Linear(*args)


def backward_grad(dy) -> np.ndarray:
    x = mge.Parameter([1.0, 2.0])
    gm = GradManager().attach([x])
    with gm:
        gm.backward(x * 2, dy)
    return x.grad.numpy()


def test_backward_dy_of_the_wrong_shape_names_both_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"gm.backward\(y, dy\): dy has shape \(3,\) but y has shape \(2,\)"
    ):
        backward_grad(mge.tensor([1.0, 2.0, 3.0]))


def test_backward_dy_values() -> None:
    assert backward_grad(mge.tensor([1.0, -1.0])).tolist() == [2.0, -2.0]
    assert backward_grad([1.0, 3.0]).tolist() == [2.0, 6.0]  # one y: a list is one dy
    assert backward_grad(mge.tensor(1.5)).tolist() == [3.0, 3.0]  # a scalar dy broadcasts
