"""Buffer planning: a replay writes into operands nobody reads again, and into nothing else."""

from __future__ import annotations

import numpy as np

import engine as mge
import engine.functional as F
import engine.module as M
from engine.autodiff import GradManager
from engine.jit import trace
from engine.jit.buffers import plan_in_place


def _arrays(seed: int = 0) -> list[mge.Tensor]:
    rng = np.random.default_rng(seed)
    return [mge.tensor(rng.normal(size=(3, 4)).astype("float32")) for _ in range(4)]


def test_an_elementwise_chain_runs_in_one_buffer_and_equals_eager() -> None:
    def chain(a, b, c, d):  # noqa: ANN001, ANN202
        return F.relu((a + b) * c - d)

    traced = trace(chain, without_host=True)
    a, b, c, d = _arrays()
    before = [t.numpy().copy() for t in (a, b, c, d)]
    for _ in range(3):
        np.testing.assert_allclose(traced(a, b, c, d).numpy(), chain(a, b, c, d).numpy())
    source = traced._last.compiled().source
    assert source.count("out=") == 3  # *, - and relu reuse the buffer a + b allocated
    for t, was in zip((a, b, c, d), before, strict=True):
        np.testing.assert_array_equal(t.numpy(), was)  # arguments are never written


def test_a_value_read_again_or_returned_keeps_its_buffer() -> None:
    def f(a, b):  # noqa: ANN001, ANN202
        t = a + b
        view = t.reshape(4, 3)  # a view of t: writing into t would change it
        return F.relu(t), view, t * 2.0

    traced = trace(f, without_host=True)
    a, b, _, _ = _arrays(1)
    for _ in range(2):
        for got, want in zip(traced(a, b), f(a, b), strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy())
    assert "out=" not in traced._last.compiled().source


def test_the_plan_respects_what_the_backward_reads() -> None:
    # relu's VJP reads its output only, so relu may overwrite the linear layer's output;
    # the output of the first relu is read by the second layer's VJP and is kept
    net = M.Sequential(M.Linear(4, 8), M.ReLU(), M.Linear(8, 2))
    gm = GradManager().attach(net.parameters())
    x = mge.tensor(np.random.default_rng(2).normal(size=(5, 4)).astype("float32"))

    def step(x):  # noqa: ANN001, ANN202
        with gm:
            loss = (net(x) ** 2).mean()
            gm.backward(loss)
        return loss

    traced = trace(step, without_host=True)
    traced(x)
    graph = traced._last.graph
    plan = plan_in_place(graph, graph.outputs, inference=False)
    reused = [graph.instrs[pos].prim.name for pos in plan]
    assert reused == ["relu"]
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    for p in net.parameters():
        p.grad = None
    traced(x)  # the replay, with relu writing into the linear layer's buffer
    for p, want in zip(net.parameters(), grads, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-6)
