"""The functional API (F.*, creation, indexing, losses) on sim0 equals cpu0, without downloads.

The primitive suite checks kernels; this one checks the Python around them: index
conversion, dtype promotion with constants, creation on a device, loss wrappers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import engine
import engine.functional as F
from engine import Tensor
from engine.autodiff import GradManager
from engine.testing import simulated

simulated.install()

RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 5)).astype(np.float32)
Y = RNG.normal(size=(4, 5)).astype(np.float32)
IMG = RNG.normal(size=(2, 3, 6, 6)).astype(np.float32)
W = RNG.normal(size=(4, 3, 3, 3)).astype(np.float32)
LABELS = np.array([0, 4, 2, 1], np.int32)
ODD = np.array([1.0, np.nan, -np.inf], np.float32)
INTS = np.array([[3, -7, 5], [8, 2, -1]], np.int32)

# name -> fn(t, dev) where t(host) makes a tensor on the device under test
CASES: dict[str, Callable[[Callable[[Any], Tensor], Any], Any]] = {
    "compare": lambda t, d: [
        t(X) < t(Y),
        t(X) == 0.5,
        t(X) >= t(Y),
        F.isnan(t(ODD)),
        F.isinf(t(ODD)),
    ],
    "logical": lambda t, d: F.logical_or(F.logical_not(t(X) > 0), t(Y) > 1),
    "argmax": lambda t, d: [F.argmax(t(X), 1), F.argmin(t(X)), F.argmax(t(X), 0, keepdims=True)],
    "int_math": lambda t, d: [t(INTS) // 3, t(INTS) % 4, t(INTS) * 2.5, t(INTS) / 2, -t(INTS)],
    "scalar_ops": lambda t, d: [2 - t(X), 1 / (t(X) ** 2 + 1), t(X) + np.float32(3), 3 * t(X)],
    "ndarray_operand": lambda t, d: t(X) + Y,  # a host array is uploaded, not mixed
    "where": lambda t, d: [F.where(t(X) > 0, t(X), 0.0), F.where(t(X) > 0, 1.0, t(Y))],
    "clip": lambda t, d: [F.clip(t(X), -0.5, 0.5), F.clip(t(X), lower=0.0)],
    "reductions": lambda t, d: [t(X).sum(), t(X).mean(1), F.var(t(X), 0), F.std(t(X))],
    "norm": lambda t, d: [F.norm(t(X)), F.norm(t(X), 1, axis=1), F.norm(t(X), float("inf"))],
    "logsumexp": lambda t, d: F.logsumexp(t(X), 1),
    "softmax": lambda t, d: [F.softmax(t(X)), F.logsoftmax(t(X), 0)],
    "creation": lambda t, d: [
        F.zeros((2, 3), device=d),
        F.ones(3, dtype="int32", device=d),
        F.full((2,), 7, device=d),
        F.arange(1, 4, 0.5, device=d),
        F.linspace(0, 1, 5, device=d),
        F.eye(3, 4, device=d),
        F.zeros_like(t(X)),
        F.ones_like(t(INTS)),
        F.full_like(t(X), 2.0),
    ],
    "shapes": lambda t, d: [
        t(X).reshape(5, 4),
        F.flatten(t(IMG), 1),
        t(X).T,
        F.expand_dims(t(X), (0, 2)),
        F.squeeze(t(X)[None]),
        F.broadcast_to(t(X)[:1], (3, 5)),
        F.concat([t(X), t(Y)], 1),
        F.stack([t(X), t(Y)]),
        *F.split(t(X), 2, axis=0),
    ],
    "getitem": lambda t, d: [
        t(X)[1],
        t(X)[1:3, ::-2],
        t(X)[..., None, 2],
        t(X)[[0, 2, 2]],  # a list index must be moved to the device
        t(X)[np.array([3, 1])],  # so must a host array
        t(X)[t(np.array([1, 0]))],
        t(X)[t(X) > 0],
        t(X)[[0, 1], [2, 3]],
    ],
    "setitem": lambda t, d: _setitem(t),
    "gather": lambda t, d: F.gather(t(X), 1, t(np.array([[0, 1], [4, 4], [2, 0], [1, 3]]))),
    "one_hot": lambda t, d: F.one_hot(t(LABELS), 5),
    "matmul": lambda t, d: [F.matmul(t(X), t(Y).T), F.dot(t(X)[0], t(Y)[0]), t(X) @ t(Y.T)],
    "losses": lambda t, d: [
        F.nn.cross_entropy(t(X), t(LABELS)),
        F.nn.cross_entropy(F.softmax(t(X), 1), t(LABELS), with_logits=False, label_smooth=0.1),
        F.nn.binary_cross_entropy(t(X), t((Y > 0).astype(np.float32))),
        F.nn.binary_cross_entropy(F.sigmoid(t(X)), t((Y > 0).astype(np.float32)), False),
        F.nn.square_loss(t(X), t(Y), reduction="sum"),
        F.nn.l1_loss(t(X), t(Y)),
        F.nn.hinge_loss(t(X), t(np.sign(Y)), norm="L2"),
    ],
    "cnn": lambda t, d: [
        F.conv2d(t(IMG), t(W), padding=1, stride=2),
        F.max_pool2d(t(IMG), 2),
        F.avg_pool2d(t(IMG), 3, stride=1, padding=1),
    ],
    "random": lambda t, d: _random(d),
}


def _setitem(t: Callable[[Any], Tensor]) -> list[Tensor]:
    a = t(X)
    a[1] = 0.0
    a[:, [0, 3]] = t(np.ones((4, 2), np.float32))
    a[t(X) > 1] = 5.0
    return [a]


def _random(d: Any) -> list[Tensor]:
    engine.random.seed(3)
    out = [engine.random.normal(size=(3, 2), device=d), engine.random.uniform(size=4, device=d)]
    out.append(engine.random.permutation(Tensor(X, device=d)))
    out.append(F.dropout(Tensor(X, device=d), 0.5))
    return out


def _run(name: str, device: str) -> list[np.ndarray]:
    def t(host: Any) -> Tensor:
        return Tensor(host, device=device)

    with simulated.no_host_transfers():
        out = CASES[name](t, device)
    outs = out if isinstance(out, list) else [out]
    for o in outs:
        assert o.device == device, f"{name}: result on {o.device}, not {device}"
    return [o.numpy() for o in outs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_on_sim_matches_cpu(name: str, sim_device) -> None:
    got, want = _run(name, "sim0"), _run(name, "cpu0")
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{name}[{i}]"
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6, err_msg=f"{name}[{i}]")


def _grads(device: str) -> list[np.ndarray]:
    x, y = Tensor(X, device=device), Tensor(Y, device=device)
    gm = GradManager().attach([x, y])
    with simulated.no_host_transfers(), gm:
        z = F.var(x, 1) + F.norm(y, axis=0).sum() + F.nn.l1_loss(x, y)
        picked = x[[0, 2]] * y[t_index(device)]
        w = x.to(device)
        w[0] = picked[0]
        gm.backward(z.sum() + (w * y).mean() + F.nn.cross_entropy(x, Tensor(LABELS, device=device)))
    return [x.grad.numpy(), y.grad.numpy()]


def t_index(device: str) -> Tensor:
    return Tensor(np.array([1, 3]), device=device)


def test_composite_gradients_on_sim_match_cpu(sim_device) -> None:
    for g, w in zip(_grads("sim0"), _grads("cpu0"), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
