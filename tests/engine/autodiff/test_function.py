"""engine.autodiff.Function, MegEngine's custom gradients (values from MegEngine 1.13)."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine import Parameter
from engine.autodiff import Function, GradManager, check_grad
from engine.autodiff.check import GradCheckError


class StraightThroughRound(Function):
    def forward(self, x):
        return F.round(x)

    def backward(self, dy):
        return dy


class Cube(Function):
    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, dy):
        return 3 * self.x**2 * dy


class WrongCube(Cube):
    def backward(self, dy):
        return 2 * self.x**2 * dy  # should be 3 x^2


def test_straight_through_round():
    x = Parameter([0.4, 1.6, -2.3])
    gm = GradManager().attach(x)
    with gm:
        y = StraightThroughRound()(x)
        gm.backward((y * y).sum())
    # MegEngine 1.13: y [0, 2, -2], x.grad = 2y through the identity backward
    assert y.numpy().tolist() == [0.0, 2.0, -2.0]
    assert x.grad.numpy().tolist() == [0.0, 4.0, -4.0]


def test_function_outside_recording_is_just_its_forward():
    y = Cube()(mge.tensor([2.0, -1.0]))
    assert y.numpy().tolist() == [8.0, -1.0] and y._node is None


def test_check_grad_passes_a_right_backward_and_catches_a_wrong_one():
    x = np.array([0.5, -1.5, 2.0])
    result = check_grad(lambda t: Cube()(t), [x])
    assert result.passed and result.max_abs < 1e-6
    with pytest.raises(GradCheckError, match="gradient check FAILED"):
        check_grad(lambda t: WrongCube()(t), [x])
    bad = check_grad(lambda t: WrongCube()(t), [x], raise_on_fail=False)
    # for the same random cotangent: the wrong backward gives 2x^2, differences 3x^2
    np.testing.assert_allclose(bad.analytic[0], bad.numeric[0] * 2 / 3, rtol=1e-8)


def test_a_functions_backward_is_differentiable_under_nested_managers():
    x = Parameter([0.5, -1.5])
    g1, g2 = GradManager().attach(x), GradManager().attach(x)
    with g1:
        with g2:
            g2.backward(Cube()(x).sum())
        d, x.grad = x.grad, None
        g1.backward(d.sum())
    # MegEngine 1.13: [0.75, 6.75] then [3.0, -9.0]
    assert d.numpy().tolist() == [0.75, 6.75]
    assert x.grad.numpy().tolist() == [3.0, -9.0]


class Sigmoid(Function):
    """MegEngine's docstring example: backward reads an output saved by forward."""

    def forward(self, x):
        y = 1 / (1 + F.exp(-x))
        self.y = y
        return y

    def backward(self, dy):
        return dy * self.y * (1 - self.y)


def test_second_order_through_what_forward_saved():
    x = Parameter([-0.7, 0.2, 1.3], dtype="float64")
    g1, g2 = GradManager().attach(x), GradManager().attach(x)
    with g1:
        with g2:
            g2.backward(Sigmoid()(x).sum())
        d, x.grad = x.grad, None
        g1.backward(d.sum())
    s = 1 / (1 + np.exp(-np.array([-0.7, 0.2, 1.3])))
    np.testing.assert_allclose(d.numpy(), s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-12)


class TwoOutputs(Function):
    def forward(self, x):
        return x * 2, x * 3

    def backward(self, da, db):
        self.seen = (da, db)
        return (0 if da is None else da * 2) + (0 if db is None else db * 3)


def test_several_outputs_and_none_for_an_unused_one():
    x = Parameter([1.0, 2.0])
    fn = TwoOutputs()
    gm = GradManager().attach(x)
    with gm:
        a, b = fn(x)
        gm.backward(b.sum())
    # MegEngine 1.13: backward got (None, [1, 1]); x.grad [3, 3]
    assert fn.seen[0] is None and fn.seen[1].numpy().tolist() == [1.0, 1.0]
    assert x.grad.numpy().tolist() == [3.0, 3.0]
    x.grad = None
    with gm:
        a, b = fn(x)
        gm.backward((a * a).sum() + b.sum())
    assert x.grad.numpy().tolist() == [2 * 2 * 2 + 3, 2 * 4 * 2 + 3]


class TooMany(Function):
    def forward(self, x):
        return x * 2

    def backward(self, dy):
        return dy, dy


class WrongShape(Function):
    def forward(self, x):
        return x * 2

    def backward(self, dy):
        return dy[:1]


@pytest.mark.parametrize(
    "fn, message",
    [
        (TooMany, r"TooMany\.backward returned 2 gradient\(s\) for 1 input\(s\)"),
        (WrongShape, r"WrongShape\.backward: gradient 0 has shape \(1,\) but input 0 has "),
    ],
)
def test_wrong_gradients_from_backward_name_the_function(fn, message):
    # MegEngine 1.13 accepts both silently (x.grad [1, 1] and [1.]); the engine refuses
    x = Parameter([0.4, 1.6])
    gm = GradManager().attach(x)
    with pytest.raises(RuntimeError, match=message):
        with gm:
            gm.backward(fn()(x).sum())
    gm1, gm2 = GradManager().attach(x), GradManager().attach(x)
    with pytest.raises(RuntimeError, match=message):  # recorded backward: the same check
        with gm1, gm2:
            gm2.backward(fn()(x).sum())


def test_inputs_must_be_tensors():
    with pytest.raises(TypeError, match="Cube: input 0 must be a Tensor, got list"):
        Cube()([1.0, 2.0])
