"""Buffer planning: a replay writes into operands nobody reads again, and into nothing else."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.module as M
from engine.autodiff import GradManager
from engine.core.op import REGISTRY
from engine.core.tape import Node
from engine.jit import trace
from engine.jit.buffers import plan_in_place
from engine.jit.recorder import _owned


def _arrays(seed: int = 0, shape: tuple = (64, 128)) -> list[mge.Tensor]:
    rng = np.random.default_rng(seed)
    return [mge.tensor(rng.normal(size=shape).astype("float32")) for _ in range(4)]


def test_an_elementwise_chain_runs_in_one_buffer_and_equals_eager() -> None:
    def chain(a, b, c, d):  # noqa: ANN001, ANN202
        return F.relu((a + b) * c - d)

    traced = trace(chain, without_host=True)
    a, b, c, d = _arrays()
    before = [t.numpy().copy() for t in (a, b, c, d)]
    for _ in range(3):
        np.testing.assert_allclose(traced(a, b, c, d).numpy(), chain(a, b, c, d).numpy())
    small = _arrays(shape=(3, 4))  # 48 bytes: NumPy's allocation is cheaper than out=
    traced(*small)
    assert "out=" not in traced.replay_source
    traced(a, b, c, d)
    source = traced.replay_source
    assert source.count("out=") == 3  # *, - and relu reuse the buffer a + b allocated
    for t, was in zip((a, b, c, d), before, strict=True):
        np.testing.assert_array_equal(t.numpy(), was)  # arguments are never written


def test_a_value_read_again_or_returned_keeps_its_buffer() -> None:
    def f(a, b):  # noqa: ANN001, ANN202
        t = a + b
        view = t.reshape(128, 64)  # a view of t: writing into t would change it
        return F.relu(t), view, t * 2.0

    traced = trace(f, without_host=True)
    a, b, _, _ = _arrays(1)
    for _ in range(2):
        for got, want in zip(traced(a, b), f(a, b), strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy())
    assert "out=" not in traced.replay_source


def test_the_plan_respects_what_the_backward_reads() -> None:
    # relu's VJP reads its output only, so relu may overwrite the linear layer's output;
    # the output of the first relu is read by the second layer's VJP and is kept
    net = M.Sequential(M.Linear(4, 64), M.ReLU(), M.Linear(64, 2))
    gm = GradManager().attach(net.parameters())
    x = mge.tensor(np.random.default_rng(2).normal(size=(100, 4)).astype("float32"))

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


DECLARED = sorted(
    name
    for name, prim in REGISTRY.items()
    if prim.vjp is not None and prim.vjp_reads != {"inputs", "out", "res"}
)


def _vjp_cases(prim: object, rng: np.random.Generator) -> list[tuple]:
    """(inputs, params, out, res, g) for each of the primitive's samples."""
    cases = []
    for inputs, params in prim.samples(rng):
        result = prim.forward(np, *inputs, **params)
        out, res = result if prim.residual else (result, None)
        cases.append((tuple(inputs), params, out, res, rng.normal(size=np.shape(out))))
    return cases


@pytest.mark.parametrize("name", DECLARED)
def test_a_vjp_needs_only_the_fields_it_declares(name: str) -> None:
    # the replay hands a VJP only what defvjp(reads=...) names: the rest must be unused
    prim = REGISTRY[name]
    for inputs, params, out, res, g in _vjp_cases(prim, np.random.default_rng(4)):
        parents = tuple(True for _ in inputs)
        full = Node(prim, parents, inputs, out, res, params, 0, None, np)
        part = Node(prim, parents, None, None, None, params, 0, None, np)
        reads = prim.vjp_reads
        part.inputs = tuple(inputs) if "inputs" in reads else tuple(None for _ in inputs)
        part.out = out if "out" in reads else None
        part.res = res if "res" in reads else None
        for want, got in zip(prim.vjp(full, g), prim.vjp(part, g), strict=True):
            np.testing.assert_array_equal(got, want)


def _leaves(value: object) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.fresh))
def test_a_fresh_primitive_returns_memory_of_its_own(name: str) -> None:
    # buffer planning overwrites a fresh result: it must share no memory with anything else
    prim, rng = REGISTRY[name], np.random.default_rng(5)
    for inputs, params in prim.samples(rng):
        result = prim.forward(np, *inputs, **params)
        out, res = result if prim.residual else (result, None)
        for other in [*inputs, *_leaves(res)]:
            if isinstance(other, np.ndarray):
                assert not np.shares_memory(out, other), f"{name} result shares memory"


@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.in_place))
def test_an_in_place_primitive_is_its_ufunc(name: str) -> None:
    # the replay writes `ufunc(*operands, out=operand)`: the same values as the kernel
    prim, rng = REGISTRY[name], np.random.default_rng(6)
    ufunc, operands, constants = prim.in_place
    for inputs, params in prim.samples(rng):
        want = prim.forward(np, *inputs, **params)
        args = [*inputs, *constants]
        for k in operands:
            if np.shape(args[k]) != np.shape(want):
                continue  # the planner only reuses an operand of the result's shape
            buffer = np.array(args[k], dtype=np.result_type(want))
            got = getattr(np, ufunc)(*args[:k], buffer, *args[k + 1 :], out=buffer)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.vjp and p.samples))
def test_what_the_probe_calls_owned_is_new_on_every_call(name: str) -> None:
    # a VJP that handed back an array it keeps (a cache) would pass the probe once, and a
    # replay would then overwrite the cached array: two calls must give unrelated memory
    prim = REGISTRY[name]
    for inputs, params, out, res, g in _vjp_cases(prim, np.random.default_rng(9)):
        node = Node(prim, (True,) * len(inputs), inputs, out, res, params, 0, None, np)
        first, second = prim.vjp(node, g), prim.vjp(node, g)
        for a, b in zip(first, second, strict=True):
            if a is not None and _owned(a, node, g, first):
                assert not np.shares_memory(a, b), f"{name} returns the same array twice"
