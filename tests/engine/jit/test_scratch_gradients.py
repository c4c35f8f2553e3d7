"""A traced `step().clear_grad()` may use the gradients its backward made as scratch space.

Only arrays the replay alone holds qualify: a VJP's own new array, never the loss seed, an
operand, or a gradient passed through (add hands its gradient to both inputs). These tests
check that the plan is used where it should be, refused where it must be, and that the
parameters stay equal to eager training, bit for bit, step after step.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.optimizer as optim
from engine.autodiff import GradManager
from engine.core.tape import Node
from engine.jit import trace
from engine.jit.recorder import _owned
from engine.ops.elementwise import relu


def _params() -> list[mge.Parameter]:
    rng = np.random.default_rng(7)
    shapes = [(128, 96), (128,), (3, 128), (3,)]  # w1 and h: 16 KiB and up, worth reusing
    return [mge.Parameter(rng.normal(size=s).astype("float32")) for s in shapes]


def _data() -> tuple[mge.Tensor, mge.Tensor]:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(64, 96)).astype("float32")
    return mge.tensor(x), mge.tensor(rng.integers(0, 3, 64).astype("int32"))


def _loss(params: list, x: mge.Tensor, y: mge.Tensor) -> mge.Tensor:
    w1, b1, w2, b2 = params
    return F.nn.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), y)


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd nesterov, decay": lambda p: optim.SGD(
        p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2
    ),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam, decay": lambda p: optim.Adam(p, lr=0.01, weight_decay=1e-2),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
}


def _train(traced: bool, kind: str, steps: int = 4) -> tuple[list, list, str]:
    params = _params()
    gm = GradManager().attach(params)
    opt = OPTIMIZERS[kind](params)

    def step(x: mge.Tensor, y: mge.Tensor) -> mge.Tensor:
        with gm:
            loss = _loss(params, x, y)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    fn = trace(step, without_host=True) if traced else step
    x, y = _data()
    losses = [float(fn(x, y).item()) for _ in range(steps)]
    state = [v for buffers in opt._state.values() for v in buffers.values()]
    return losses, [p.numpy().copy() for p in params] + state, fn.replay_source if traced else ""


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_step_and_clear_reuse_the_gradients_and_equal_eager(kind: str) -> None:
    eager_losses, eager_values, _ = _train(traced=False, kind=kind)
    losses, values, source = _train(traced=True, kind=kind)
    assert "step(), clear_grad(): grads as scratch" in source
    assert "out=g" in source  # relu's gradient is masked where it is
    assert losses == eager_losses
    for got, want in zip(values, eager_values, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_gradient_passed_to_two_parameters_is_never_scratch() -> None:
    # add gives both inputs the same array: writing a's update into it would change b's
    def run(traced: bool) -> tuple[list, str]:
        rng = np.random.default_rng(10)  # 16 KiB each: large enough to be reused if owned
        a, b = (mge.Parameter(rng.normal(size=4096).astype("float32")) for _ in range(2))
        x = mge.tensor(rng.normal(size=4096).astype("float32"))
        gm = GradManager().attach([a, b])
        opt = optim.SGD([a, b], lr=0.1, momentum=0.5)

        def step() -> mge.Tensor:
            with gm:
                loss = ((a + b) * x).sum()
                gm.backward(loss)
            opt.step().clear_grad()
            return loss

        fn = trace(step, without_host=True) if traced else step
        for _ in range(3):
            fn()
        return [a.numpy(), b.numpy()], fn.replay_source if traced else ""

    want, _ = run(traced=False)
    got, source = run(traced=True)
    assert "grads as scratch" not in source
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_a_gradient_the_function_returns_is_not_scratch() -> None:
    def run(traced: bool) -> list:
        params = _params()
        gm = GradManager().attach(params)
        opt = optim.SGD(params, lr=0.1, momentum=0.9)

        def step(x: mge.Tensor, y: mge.Tensor) -> mge.Tensor:
            with gm:
                gm.backward(_loss(params, x, y))
            grad = params[0].grad
            opt.step().clear_grad()
            return grad

        fn = trace(step, without_host=True) if traced else step
        x, y = _data()
        return [fn(x, y).numpy().copy() for _ in range(3)]

    for got, want in zip(run(traced=True), run(traced=False), strict=True):
        np.testing.assert_array_equal(got, want)  # the gradient, not lr * velocity


def test_gradients_survive_a_step_without_clear_grad() -> None:
    def run(traced: bool) -> list:
        params = _params()
        gm = GradManager().attach(params)
        opt = optim.SGD(params, lr=0.1, momentum=0.9)

        def step(x: mge.Tensor, y: mge.Tensor) -> None:
            with gm:
                gm.backward(_loss(params, x, y))
            opt.step()

        fn = trace(step, without_host=True) if traced else step
        x, y = _data()
        grads = []
        for _ in range(3):
            opt.clear_grad()
            fn(x, y)
            grads.append([p.grad.numpy().copy() for p in params])
        return grads

    for got, want in zip(run(traced=True), run(traced=False), strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_the_probe_calls_only_a_vjps_own_single_new_array_owned() -> None:
    x = np.ones((2, 3))
    out = relu.forward(np, x)
    node = Node(relu, (True,), (x,), out, None, {}, 0, None, np)
    g = np.full((2, 3), 2.0)
    fresh = g * 3
    assert _owned(fresh, node, g, [fresh])
    assert _owned(fresh.reshape(3, 2), node, g, [fresh.reshape(3, 2)])  # a view of its own
    assert not _owned(g, node, g, [g])  # passed through
    assert not _owned(g[:1], node, g, [g[:1]])  # a view of the incoming gradient
    assert not _owned(x.T, node, g, [x.T])  # a view of an input
    assert not _owned(out, node, g, [out])  # the output
    assert not _owned(fresh, node, g, [fresh, fresh])  # handed to two inputs
    assert not _owned(fresh.sum(), node, g, [fresh.sum()])  # a scalar
