"""The host-free replay's backward is straight-line code planned from the recorded one.

Which gradients exist, how each is summed back to its input's shape and whether it needs a
dtype cast are seen once while recording; these tests check the plan on the awkward cases
(fan-out, broadcast parameters of several ranks, a branch the loss never reaches, an explicit
dy, a cast, attach callbacks) against eager gradients, call after call.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager
from engine.core.op import REGISTRY
from engine.core.tape import Node
from engine.jit import trace
from engine.jit.program import INLINE_FORWARDS, INLINE_VJPS, VjpSite


def _params() -> list[mge.Parameter]:
    rng = np.random.default_rng(3)
    shapes = [(3, 1), (1,), (), (4,)]
    return [mge.Parameter(rng.normal(size=s).astype("float32")) for s in shapes]


def _step(params: list, gm: GradManager, x: mge.Tensor, dy: float | None) -> tuple:
    a, b, c, unused = params
    with gm:
        h = a * x + b - 0.5 * c  # (3, 1), (1,) and () broadcast over x (3, 4)
        h = h * h + c * h  # h used three times: gradients sum
        _ = unused * 2.0  # never reaches the loss: no gradient flows back to it
        loss = h.sum() if dy is None else h.mean()
        gm.backward(loss, None if dy is None else mge.tensor(dy))
    return loss, [p.grad.numpy().copy() if p.grad is not None else None for p in params]


def _compare(dy: float | None, callbacks: bool = False) -> str:
    x = mge.tensor(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4))
    eager_p, traced_p = _params(), _params()
    seen: list[str] = []

    def note(param: mge.Tensor, grad: mge.Tensor) -> mge.Tensor:
        seen.append(str(grad.shape))
        return grad * 1.0

    cb = [note] if callbacks else None
    gm_e, gm_t = (
        GradManager().attach(eager_p, callbacks=cb),
        GradManager().attach(traced_p, callbacks=cb),
    )
    traced = trace(lambda x: _step(traced_p, gm_t, x, dy), without_host=True)
    for _ in range(3):
        for p in eager_p + traced_p:
            p.grad = None
        le, ge = _step(eager_p, gm_e, x, dy)
        lt, gt = traced(x)
        np.testing.assert_allclose(lt.numpy(), le.numpy(), rtol=1e-6)
        for e, t in zip(ge, gt, strict=True):
            if e is None:
                assert t is None
            else:
                assert t.shape == e.shape and t.dtype == e.dtype
                np.testing.assert_allclose(t, e, rtol=1e-6)
    if callbacks:
        assert len(seen) == 2 * 3 * 3  # eager and replay, 3 calls, 3 params with gradients
    return traced.replay_source


def test_static_backward_equals_eager_and_keeps_no_checks() -> None:
    source = _compare(dy=None)
    assert "is not None" not in source  # every gradient's existence was decided once
    assert "_unbroadcast" not in source  # every reduction was planned once


def test_static_backward_with_an_explicit_dy() -> None:
    _compare(dy=2.0)


def test_static_backward_runs_attach_callbacks_as_eagerly() -> None:
    _compare(dy=None, callbacks=True)


def test_gradients_accumulate_into_existing_grads_as_eagerly() -> None:
    w = mge.Parameter(np.array([1.0, 2.0], "float32"))
    gm = GradManager().attach([w])

    @trace(without_host=True)
    def step() -> mge.Tensor:
        with gm:
            loss = (w * w).sum()
            gm.backward(loss)
        return loss

    step()
    step()
    step()  # replays; nobody clears: 2 * w three times
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 12.0])


def test_a_float16_parameter_gets_its_gradient_cast_back() -> None:
    w = mge.Parameter(np.array([1.0, -2.0], "float16"))
    x = mge.tensor(np.array([0.5, 4.0], "float32"))
    gm = GradManager().attach([w])

    @trace(without_host=True)
    def step() -> None:
        with gm:
            gm.backward((F.mul(w, x)).sum())

    for _ in range(3):
        w.grad = None
        step()
        assert w.grad.dtype == np.float16
        np.testing.assert_allclose(w.grad.numpy(), [0.5, 4.0])


@pytest.mark.parametrize("name", sorted(INLINE_FORWARDS))
def test_inlined_forwards_are_the_kernels(name: str) -> None:
    prim = REGISTRY[name]
    for (a, b), _ in prim.samples(np.random.default_rng(0)):
        got = eval(INLINE_FORWARDS[name].format("a", "b"), {"a": a, "b": b})  # noqa: S307
        np.testing.assert_array_equal(got, prim.forward(np, a, b))


@pytest.mark.parametrize("name", sorted(INLINE_VJPS))
@pytest.mark.parametrize("owned", [False, True])
def test_inlined_vjps_return_what_the_rules_return(name: str, owned: bool) -> None:
    prim, rng = REGISTRY[name], np.random.default_rng(1)
    for operands, _ in prim.samples(rng):
        out = prim.forward(np, *operands)
        g = rng.normal(size=out.shape)
        node = Node(prim, (True,) * len(operands), operands, out, None, {}, 0, None, np)
        names = ["a", "b"][: len(operands)]
        for i, want in enumerate(prim.vjp(node, g.copy())):
            shapes = [np.shape(x) for x in operands]
            site = VjpSite(names, shapes, "g", g.shape, "xp", "out", g_owned=owned)
            expr, fresh = INLINE_VJPS[name](i, site)
            gi = g.copy()
            ns = {**dict(zip(names, operands, strict=True)), "g": gi, "out": out, "xp": np}
            got = eval(expr, ns)  # noqa: S307
            assert np.shape(got) == np.shape(want)
            np.testing.assert_allclose(got, want, rtol=1e-12)
            if fresh:  # a new array, or the owned gradient itself: never an operand
                assert not any(np.shares_memory(got, x) for x in (*operands, out))
                assert owned or not np.shares_memory(got, gi)
