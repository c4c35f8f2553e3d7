"""Every differentiable primitive's VJP against central differences (the verify-gradients seed)."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge  # importing fills the registry
import engine.functional as F
from engine.autodiff import GradManager, check_grad, check_primitive
from engine.autodiff.check import GradCheckError, check_registry, primitive_rng
from engine.core.op import REGISTRY, defsamples, defvjp, primitive
from engine.ops.samples import binary, unary
from engine.tensor import apply

DIFFERENTIABLE = sorted(n for n, p in REGISTRY.items() if p.differentiable)


@pytest.fixture
def temp_primitive():
    """Register test-only primitives and remove them afterwards."""
    names: list[str] = []

    def make(name, forward, vjp=None, samples=None):
        prim = primitive(name)(forward)
        names.append(name)
        if vjp is not None:
            defvjp(prim)(vjp)
        if samples is not None:
            defsamples(prim)(samples)
        return prim

    yield make
    for name in names:
        REGISTRY.pop(name, None)


def test_registry_has_the_core_primitives():
    for name in ("add", "mul", "matmul", "softmax_cross_entropy", "getitem", "sum", "relu"):
        assert name in DIFFERENTIABLE
    assert "argmax" in REGISTRY and not REGISTRY["argmax"].differentiable


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_primitive_gradient_float64(name):
    result = check_primitive(REGISTRY[name], primitive_rng(name, 0))
    detail = [r.to_dict() for r in result.inputs if not r.passed]
    assert result.status == "pass", (result.problems, detail)
    assert result.cases >= 1
    assert all(r.max_abs < 1e-5 for r in result.inputs)


def test_float32_run_passes_with_loose_tolerances():
    results = check_registry(DIFFERENTIABLE, seed=1, dtype="float32")
    assert [r.name for r in results if r.status != "pass"] == []


def test_other_seed_still_passes():
    results = check_registry(["add", "matmul", "max", "softmax_cross_entropy"], seed=7)
    assert {r.name: r.status for r in results} == dict.fromkeys(
        ["add", "matmul", "max", "softmax_cross_entropy"], "pass"
    )


def test_wrong_vjp_is_caught_and_named(temp_primitive):
    def bad_vjp(node, g):
        x, y = node.inputs
        return g * y * 1.5, g * x  # d/dx is off by a factor 1.5

    prim = temp_primitive("test_bad_mul", lambda xp, x, y: x * y, bad_vjp, binary)
    result = check_primitive(prim, 0)
    assert result.status == "fail"
    by_input = {r.name: r for r in result.inputs}
    assert not by_input["x"].passed and by_input["y"].passed
    worst = by_input["x"]
    assert worst.analytic == pytest.approx(1.5 * worst.numeric, rel=1e-6)
    assert worst.max_rel == pytest.approx(1 / 3, rel=1e-6)
    assert "test_bad_mul" in [r.name for r in check_registry() if r.status == "fail"]


@pytest.mark.parametrize(
    "vjp, got",
    [
        (lambda node, g: (g,), "returned 1 entries"),
        (lambda node, g: (g, g, g), "returned 3 entries"),
        (lambda node, g: g, "returned ndarray"),
    ],
)
def test_vjp_must_return_one_entry_per_input(temp_primitive, vjp, got):
    prim = temp_primitive("test_bad_arity", lambda xp, x, y: x * y, vjp)
    x = mge.Parameter([1.0, 2.0])
    gm = GradManager().attach([x])
    with gm:
        y = apply(prim, x, mge.Tensor([3.0, 4.0]))
        with pytest.raises(RuntimeError, match=f"test_bad_arity: .* 2 here, but {got}"):
            gm.backward(y)


def test_check_grad_raises_naming_the_worst_element():
    def fn(x):
        return F.mul(x, x.detach())  # the detach hides half the gradient

    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    with pytest.raises(GradCheckError, match=r"x0 \(2, 2\).*max rel err 0.5; worst at \(1, 0\)"):
        check_grad(fn, [x], seed=0)
    result = check_grad(fn, [x], raise_on_fail=False)
    assert not result.passed
    assert result.inputs[0].worst_index == (1, 0)
    np.testing.assert_allclose(result.numeric[0], 2 * result.analytic[0], rtol=1e-6)


def test_differentiable_primitive_without_samples_is_unchecked(temp_primitive):
    prim = temp_primitive("test_no_samples", lambda xp, x: 3 * x, lambda node, g: (3 * g,))
    result = check_primitive(prim, 0)
    assert result.status == "unchecked"
    assert not result.passed
    assert "no sample inputs" in result.problems[0]


def test_non_differentiable_primitive_is_not_checked(temp_primitive):
    prim = temp_primitive("test_no_vjp", lambda xp, x: x > 0)
    assert check_primitive(prim, 0).status == "not differentiable"


def test_backward_twice_must_agree(temp_primitive):
    calls = []

    def drifting_vjp(node, g):
        calls.append(1)
        return (g * (2.0 + 1e-3 * (len(calls) > 1)),)

    prim = temp_primitive("test_drift", lambda xp, x: 2 * x, drifting_vjp, unary)
    result = check_primitive(prim, 0)
    assert result.status == "fail"
    assert any("backward twice differs" in p for p in result.problems)


def test_cotangent_scaling_must_be_linear(temp_primitive):
    prim = temp_primitive(
        "test_affine", lambda xp, x: 2 * x, lambda node, g: (2 * g + 1e-8,), unary
    )
    result = check_primitive(prim, 0)
    assert all(r.passed for r in result.inputs)  # within atol, so only the scaling check sees it
    assert result.status == "fail"
    assert any("doubling the cotangent" in p for p in result.problems)


def test_kinks_are_avoided(temp_primitive):
    prim = temp_primitive(
        "test_abs", lambda xp, x: abs(x), lambda node, g: (g * np.sign(node.inputs[0]),)
    )
    defsamples(prim, kinks=lambda i: abs(i[0]) < 0.05)(
        lambda rng: [((np.array([0.0, 0.01, -0.02, 1.0]),), {})]
    )
    assert check_primitive(prim, 0).status == "pass"


def test_integer_inputs_are_not_differentiated():
    logits = np.random.default_rng(0).normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    result = check_grad(lambda x, y: F.nn.cross_entropy(x, y), [logits, labels])
    assert result.inputs[0].checked and not result.inputs[1].checked
    assert result.analytic[1] is None


# ---- composites through check_grad ----------------------------------------------------------

RNG = np.random.default_rng(1234)
X34 = RNG.normal(size=(3, 4))
PROBS = RNG.uniform(0.1, 0.9, size=(4, 3))
PROBS = PROBS / PROBS.sum(axis=1, keepdims=True)

COMPOSITES = {
    "var": (lambda x: F.var(x, axis=1), [X34]),
    "var_all": (lambda x: F.var(x), [X34]),
    "std": (lambda x: F.std(x, axis=0, keepdims=True), [X34]),
    "norm2": (lambda x: F.norm(x, axis=1), [X34]),
    "norm1": (lambda x: F.norm(x, ord=1), [X34]),
    "norm3": (lambda x: F.norm(x, ord=3, axis=0), [X34]),
    "l1_loss": (lambda p, y: F.nn.l1_loss(p, y), [X34, X34 + RNG.uniform(0.2, 1, (3, 4))]),
    "hinge_loss": (
        lambda p, y: F.nn.hinge_loss(p, y),
        [RNG.uniform(-0.5, 0.5, (4, 3)), np.sign(RNG.normal(size=(4, 3)))],
    ),
    "hinge_loss_l2": (
        lambda p, y: F.nn.hinge_loss(p, y, norm="L2", reduction="sum"),
        [RNG.uniform(-0.5, 0.5, (4, 3)), np.sign(RNG.normal(size=(4, 3)))],
    ),
    "cross_entropy_probs": (
        lambda p, y: F.nn.cross_entropy(p, y, with_logits=False),
        [PROBS, np.array([0, 2, 1, 1])],
    ),
    "cross_entropy_smooth": (
        lambda p, y: F.nn.cross_entropy(p, y, with_logits=False, label_smooth=0.1),
        [PROBS, np.array([0, 2, 1, 1])],
    ),
    "bce_probs": (
        lambda p, y: F.nn.binary_cross_entropy(p, y, with_logits=False),
        [RNG.uniform(0.1, 0.9, (5,)), RNG.uniform(0, 1, (5,))],
    ),
    "stack": (lambda a, b: F.stack([a, b], axis=1), [X34, X34 * 2 + 1]),
    "split": (lambda x: F.split(x, 2, axis=1), [X34]),
    "split_sections": (lambda x: F.split(x, [1], axis=0), [X34]),
    "squeeze": (lambda x: F.squeeze(x, 1), [RNG.normal(size=(3, 1, 2))]),
    "expand_dims": (lambda x: F.expand_dims(x, (0, 2)), [X34]),
    "softmax_default": (lambda x: F.softmax(x), [X34]),
    "linear_chain": (
        lambda x, w, b: F.tanh(F.nn.linear(x, w, b)).sum(),
        [X34, RNG.normal(size=(2, 4)), RNG.normal(size=(2,))],
    ),
    "broadcast_ops": (lambda a, b: (a * b - a / (b * b + 1)).mean(axis=0), [X34, X34[0]]),
    "getitem_mask": (lambda x: x[x.detach() > 0] * 2, [X34]),
    "setitem": (lambda x, v: _setitem(x, v), [X34, RNG.normal(size=(4,))]),
    "logsigmoid": (lambda x: F.logsigmoid(x * 5), [X34]),
    "split_uneven": (lambda x: F.split(x, 3, axis=1)[0], [X34]),
    "broadcast_to_none": (lambda x: F.broadcast_to(x[:, None], (None, 2, None)), [X34]),
    "sort": (lambda x: F.sort(x, descending=True)[0], [X34]),
    "topk": (lambda x: F.topk(x, 2)[0], [X34]),
    "topk_kth": (lambda x: F.topk(x[0], 3, kth_only=True)[0], [X34]),
    "repeat": (lambda x: F.repeat(x, 2, axis=1), [X34]),
    "tile": (lambda x: F.tile(x, (2, 1, 3)), [X34]),
    "roll": (lambda x: F.roll(x, (1, -3), (0, 1)), [X34]),
    "scatter": (
        lambda x, s: F.scatter(x * 1.0, 1, mge.tensor([[0, 2], [3, 1], [1, 0]]), s),
        [X34, RNG.normal(size=(3, 2))],
    ),
    "cond_take": (lambda x: F.cond_take(x.detach() > 0, x)[0], [X34]),
    "interpolate_bilinear": (
        lambda x: F.nn.interpolate(x, size=(5, 3)),
        [RNG.normal(size=(1, 2, 3, 4))],
    ),
    "interpolate_align": (
        lambda x: F.nn.interpolate(x, scale_factor=(2, 0.5), align_corners=True),
        [RNG.normal(size=(1, 1, 3, 4))],
    ),
    "interpolate_nearest": (
        lambda x: F.nn.interpolate(x, size=(5, 2), mode="nearest"),
        [RNG.normal(size=(1, 2, 3, 4))],
    ),
    "interpolate_linear": (
        lambda x: F.nn.interpolate(x, size=7, mode="linear"),
        [RNG.normal(size=(2, 1, 4))],
    ),
    "conv1d_groups": (
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
        [RNG.normal(size=(2, 4, 7)), RNG.normal(size=(2, 3, 2, 2)), RNG.normal(size=(1, 6, 1))],
    ),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 3), padding=1, output_padding=1),
        [
            RNG.normal(size=(1, 2, 3, 2)),
            RNG.normal(size=(2, 3, 3, 2)),
            RNG.normal(size=(1, 3, 1, 1)),
        ],
    ),
    "conv_transpose2d_groups": (
        lambda x, w: F.conv_transpose2d(x, w, dilation=2, padding=(1, 0), groups=2),
        [RNG.normal(size=(2, 4, 3, 3)), RNG.normal(size=(2, 2, 1, 2, 2))],
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (3, 4), True, w, b),
        [RNG.normal(size=(2, 3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))],
    ),
    "group_norm": (
        lambda x, w, b: F.group_norm(x, 2, True, w, b),
        [RNG.normal(size=(2, 4, 3)), RNG.normal(size=(4,)), RNG.normal(size=(4,))],
    ),
    "instance_norm": (lambda x: F.instance_norm(x, False), [RNG.normal(size=(2, 3, 2, 2))]),
    "embedding": (lambda w: F.embedding(mge.tensor([[0, 2], [2, 1]]), w), [X34]),
}


def _setitem(x, v):
    y = x * 1.0
    y[1] = v * 3
    return y


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_gradient(name):
    fn, inputs = COMPOSITES[name]
    result = check_grad(fn, inputs, seed=3)
    assert result.passed
    assert result.max_abs < 1e-5
