"""F.nn.batch_norm and F.nn.dropout: values, running statistics, gradients, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.functional as F
from engine import Parameter, Tensor
from engine.autodiff import GradManager, check_grad

RNG = np.random.default_rng(1)


def ref_batch_norm(x, weight, bias, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_training_batch_norm_values_and_running_stats(shape):
    x = RNG.normal(2.0, 3.0, size=shape)
    c = shape[1]
    w, b = RNG.normal(size=(1, c, 1, 1)), RNG.normal(size=(1, c, 1, 1))
    rm = Tensor(np.full((1, c, 1, 1), 0.5))
    rv = Tensor(np.full((1, c, 1, 1), 2.0))
    out = F.nn.batch_norm(
        Tensor(x, "float64"), rm, rv, Tensor(w, "float64"), Tensor(b, "float64"), training=True,
        momentum=0.8, eps=1e-3,
    )  # fmt: skip
    np.testing.assert_allclose(out.numpy(), ref_batch_norm(x, w, b, 1e-3), rtol=1e-10)
    axes = (0,) + tuple(range(2, x.ndim))
    # MegEngine: momentum weighs the old value; the batch variance is the unbiased one
    want_mean = 0.8 * 0.5 + 0.2 * x.mean(axis=axes)
    want_var = 0.8 * 2.0 + 0.2 * x.var(axis=axes, ddof=1)
    assert rm.shape == (1, c, 1, 1) and rm.dtype == np.float32
    np.testing.assert_allclose(rm.numpy().ravel(), want_mean, rtol=1e-6)
    np.testing.assert_allclose(rv.numpy().ravel(), want_var, rtol=1e-6)


def test_eval_batch_norm_uses_running_stats():
    x = RNG.normal(size=(4, 2, 3, 3))
    rm, rv = np.array([0.3, -1.0]), np.array([2.0, 0.5])
    w, b = np.array([1.5, -0.5]), np.array([0.1, 0.2])
    out = F.nn.batch_norm(
        Tensor(x, "float64"), Tensor(rm, "float64"), Tensor(rv, "float64"),
        Tensor(w, "float64"), Tensor(b, "float64"), eps=1e-5,
    )  # fmt: skip
    s = (1, 2, 1, 1)
    want = (x - rm.reshape(s)) / np.sqrt(rv.reshape(s) + 1e-5) * w.reshape(s) + b.reshape(s)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
    with pytest.raises(ValueError, match="running_mean"):
        F.nn.batch_norm(Tensor(x))


def test_batch_norm_inplace_false_returns_new_stats_and_keeps_the_old():
    x = Tensor(RNG.normal(size=(6, 2)))
    rm, rv = Tensor(np.zeros(2)), Tensor(np.ones(2))
    out, new_mean, new_var = F.nn.batch_norm(x, rm, rv, training=True, inplace=False)
    assert out.shape == (6, 2)
    assert rm.numpy().tolist() == [0, 0] and rv.numpy().tolist() == [1, 1]
    np.testing.assert_allclose(new_mean.numpy(), 0.1 * x.numpy().mean(0), rtol=1e-5)
    np.testing.assert_allclose(new_var.numpy(), 0.9 + 0.1 * x.numpy().var(0, ddof=1), rtol=1e-5)


def test_batch_norm_without_stats_or_affine():
    x = RNG.normal(size=(5, 3))
    out = F.nn.batch_norm(Tensor(x, "float64"), training=True)
    np.testing.assert_allclose(out.numpy(), ref_batch_norm(x, np.ones(3), np.zeros(3), 1e-5))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        F.nn.batch_norm(Tensor(x), weight=Tensor(np.ones(4)), training=True)


@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 4), (2, 2, 3, 3)])
def test_batch_norm_gradients(shape):
    x = RNG.normal(size=shape)
    c = shape[1]
    w, b = RNG.normal(size=(c,)), RNG.normal(size=(c,))
    check_grad(lambda x, w, b: F.nn.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    rm, rv = Tensor(RNG.normal(size=c)), Tensor(RNG.uniform(0.5, 2, size=c))
    check_grad(lambda x, w, b: F.nn.batch_norm(x, rm, rv, w, b, training=False), [x, w, b])


def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(4, 3, 5, 5)).astype("float32")
    w, b = RNG.normal(size=3).astype("float32"), RNG.normal(size=3).astype("float32")
    rm, rv = Tensor(np.zeros(3)), Tensor(np.ones(3))
    trm, trv = torch.zeros(3), torch.ones(3)
    ours = F.nn.batch_norm(Tensor(x), rm, rv, Tensor(w), Tensor(b), training=True)
    # torch's momentum 0.1 is MegEngine's 0.9
    theirs = torch.nn.functional.batch_norm(
        torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), training=True, momentum=0.1
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)


# ---- dropout --------------------------------------------------------------------------------


def test_dropout_scales_kept_elements_and_drops_about_p():
    x = Tensor(np.ones(20000, dtype="float32"))
    y = F.nn.dropout(x, 0.25).numpy()
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert y.dtype == np.float32


def test_dropout_is_reproducible_from_the_global_seed():
    x = Tensor(np.ones((4, 5)))
    engine.random.seed(7)
    a = F.nn.dropout(x, 0.5).numpy()
    engine.random.seed(7)
    b = F.nn.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_off_returns_the_input_itself():
    x = Tensor(np.ones(3))
    assert F.nn.dropout(x, 0.5, training=False) is x
    assert F.nn.dropout(x, 0.0) is x
    for p in (1.0, -0.1):
        with pytest.raises(ValueError, match="drop_prob"):
            F.nn.dropout(x, p)


def test_dropout_gradient_is_the_scaled_mask():
    x = Parameter(RNG.normal(size=(50,)))
    gm = GradManager().attach(x)
    with gm:
        y = F.nn.dropout(x, 0.4)
        gm.backward(y.sum())
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.6, rtol=1e-6)
