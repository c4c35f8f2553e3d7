"""Every differentiable primitive to second order: its VJP's VJP against central differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine  # noqa: F401  (fills the registry)
import engine.functional as F
import engine.functional.distributed  # noqa: F401  (registers the collectives, loaded lazily)
from engine.autodiff import check_gradgrad, check_primitive
from engine.autodiff.check import GradCheckError, primitive_rng
from engine.autodiff.gradgrad import check_primitive_second, first_order_only
from engine.core.op import REGISTRY, defsamples, defvjp, primitive
from engine.ops import samples as S

DIFFERENTIABLE = sorted(n for n, p in REGISTRY.items() if p.differentiable)
SECOND_ORDER = [n for n in DIFFERENTIABLE if REGISTRY[n].higher_order]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_primitive_second_order_float64(name):
    result = check_primitive_second(REGISTRY[name], primitive_rng(name, 0))
    detail = [r.to_dict() for r in result.inputs if not r.passed]
    assert result.status == "pass", (result.problems, detail)
    assert result.cases >= 1
    assert result.inputs[-1].name == "dy"  # the cotangent is checked as an input too


def test_first_order_only_primitives_are_few_and_named():
    # broadcast's VJP reduces onto the root rank, which is no primitive of its own
    assert first_order_only() == ["broadcast"]
    result = check_primitive_second(REGISTRY["broadcast"], 0)
    assert result.status == "first-order only" and not result.passed


@pytest.fixture
def temp_primitive():
    names: list[str] = []

    def make(name, forward, vjp, samples):
        prim = primitive(name)(forward)
        names.append(name)
        defvjp(prim)(vjp)
        defsamples(prim)(samples)
        return prim

    yield make
    for name in names:
        REGISTRY.pop(name, None)


def test_a_rule_right_at_first_order_but_cutting_the_graph_is_caught(temp_primitive):
    def cube_vjp(node, g):
        x = node.inputs[0]
        frozen = node.xp.round(x * 1e9) / 1e9  # equal to x, but round has no gradient
        return (3 * g * frozen * frozen,)

    prim = temp_primitive("test_frozen_cube", lambda xp, x: x**3, cube_vjp, S.unary)
    assert check_primitive(prim, 0).status == "pass"
    result = check_primitive_second(prim, 0)
    assert result.status == "fail"
    rows = {r.name: r for r in result.inputs}
    assert not rows["x"].passed and rows["dy"].passed  # linear in dy, wrong in x
    assert rows["x"].analytic == pytest.approx(0.0, abs=1e-12)  # 6 x dy went missing


def test_gelu_forward_and_backward_agree_in_float64():
    # the old erf fit (1e-7) left gelu's gradient 1.6e-4 off its own forward's differences
    result = check_primitive(REGISTRY["gelu"], primitive_rng("gelu", 0))
    assert result.status == "pass"
    assert max(r.max_rel for r in result.inputs) < 1e-7
    x = np.linspace(-4, 4, 17)
    got = F.gelu(engine.Tensor(x, dtype="float64")).numpy()
    exact = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(got, exact, rtol=1e-11, atol=1e-15)  # 1 + erf cancels below 0


RNG = np.random.default_rng(99)
COMPOSITES = {
    "mlp": (
        lambda x, w, b: F.tanh(F.nn.linear(x, w, b)).sum(),
        [RNG.normal(size=(3, 4)), RNG.normal(size=(2, 4)), RNG.normal(size=(2,))],
    ),
    "cross_entropy": (
        lambda x, y: F.nn.cross_entropy(x, y),
        [RNG.normal(size=(4, 3)), np.array([0, 2, 1, 1])],
    ),
    "var": (lambda x: F.var(x, axis=1), [RNG.normal(size=(3, 4))]),
    "norm": (lambda x: F.norm(x, axis=0), [RNG.normal(size=(3, 4))]),
    "softmax_pow": (lambda x: F.softmax(x) ** 3, [RNG.normal(size=(2, 5))]),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_second_order(name):
    fn, inputs = COMPOSITES[name]
    result = check_gradgrad(fn, inputs, seed=4)
    assert result.passed and result.max_abs < 1e-5


def test_check_gradgrad_raises_naming_second_order():
    def fn(x):
        return F.mul(x, F.round(x * 1e9) / 1e9)  # x^2 whose second factor has no gradient

    with pytest.raises(GradCheckError, match="second-order gradient check FAILED"):
        check_gradgrad(fn, [np.array([0.5, -1.0, 2.0])])
