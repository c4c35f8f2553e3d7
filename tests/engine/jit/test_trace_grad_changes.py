"""Gradients changed between backward and step() are the ones a traced replay updates with.

clip_grad_norm swaps a gradient's data, `p.grad = p.grad * 2` rebinds it, `p.grad *= 2`
changes it in place and `p.grad = None` drops it. A host-free replay does not run the
Python function, so each change is recorded as what the parameter's .grad holds from then
on; these tests compare replays with eager training call after call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.optimizer as optim
from engine.autodiff import GradManager
from engine.jit import trace


def _halve(w: mge.Parameter, b: mge.Parameter) -> None:
    w.grad = w.grad * 0.5


def _halve_in_place(w: mge.Parameter, b: mge.Parameter) -> None:
    w.grad *= 0.5


def _drop(w: mge.Parameter, b: mge.Parameter) -> None:
    b.grad = None  # b is not updated this step


CHANGES: dict[str, Callable] = {
    "clip_grad_norm": lambda w, b: optim.clip_grad_norm([w, b], max_norm=1.0),
    "clip_grad_value": lambda w, b: optim.clip_grad_value([w, b], -0.01, 0.01),
    "rebind": _halve,
    "in place": _halve_in_place,
    "set to None": _drop,
}


def _run(traced: bool, change: Callable, step_too: bool = True) -> tuple[list, str]:
    rng = np.random.default_rng(0)
    w = mge.Parameter(rng.normal(size=(64, 96)).astype("float32"))
    b = mge.Parameter(rng.normal(size=(96,)).astype("float32"))
    x = mge.tensor(rng.normal(size=(32, 64)).astype("float32"))
    gm = GradManager().attach([w, b])
    opt = optim.SGD([w, b], lr=0.1, momentum=0.9)

    def step() -> mge.Tensor:
        with gm:
            loss = ((F.matmul(x, w) + b) ** 2).mean()
            gm.backward(loss)
        change(w, b)
        if step_too:
            opt.step().clear_grad()
        return loss

    fn = trace(step, without_host=True) if traced else step
    seen = []
    for _ in range(4):
        opt.clear_grad()
        loss = fn()
        grads = [None if p.grad is None else p.grad.numpy().copy() for p in (w, b)]
        seen.append([loss.numpy(), w.numpy().copy(), b.numpy().copy(), *grads])
    return seen, str(fn.graph) if traced else ""


def _assert_same(got: list, want: list) -> None:
    for g_call, w_call in zip(got, want, strict=True):
        for g, w in zip(g_call, w_call, strict=True):
            if w is None:
                assert g is None
            else:
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_changed_gradient_is_what_the_replay_steps_with(name: str) -> None:
    want, _ = _run(traced=False, change=CHANGES[name])
    got, graph = _run(traced=True, change=CHANGES[name])
    assert ".grad := " in graph
    _assert_same(got, want)


def test_a_gradient_clipped_and_not_stepped_is_the_callers() -> None:
    change = CHANGES["clip_grad_norm"]
    want, _ = _run(traced=False, change=change, step_too=False)
    got, _ = _run(traced=True, change=change, step_too=False)
    for call in got:
        assert np.linalg.norm(np.concatenate([call[3].ravel(), call[4]])) <= 1.0 + 1e-5
    _assert_same(got, want)


def test_a_gradient_left_alone_adds_no_instruction() -> None:
    _, graph = _run(traced=True, change=lambda w, b: None)
    assert ".grad := " not in graph
