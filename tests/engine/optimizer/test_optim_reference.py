"""Optimizer updates equal MegEngine 1.13's, and RMSprop equals PyTorch's formula.

The REFERENCE numbers were produced by running the very same experiment in real MegEngine
1.13.0 (CPU): p = Parameter([1, -2, 3], float32), loss = sum(p**2 * c) with c = [1, 2, 3]
(so grad = 2*c*p), three `step().clear_grad()` rounds; each row holds the parameter after
every step and the optimizer's state buffers after the third (`state_dict()["state"][0]`).
MegEngine 1.13 has no RMSprop, so RMSprop is checked against a float64 transcription of
PyTorch's documented algorithm instead (the same cases were also run once against real
torch 2.11 `torch.optim.RMSprop` in float32: largest difference 9.5e-7).
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.optimizer as optim
from engine.autodiff import GradManager

# (optimizer, kwargs, parameter after steps 1..3, state after step 3)
REFERENCE = [
    (
        "SGD",
        dict(lr=0.1),
        [[0.8, -1.2, 1.1999999], [0.64, -0.72, 0.47999996], [0.51199996, -0.432, 0.192]],
        {},
    ),
    (
        "SGD",
        dict(lr=0.1, momentum=0.9),
        [[0.8, -1.2, 1.1999999], [0.46, 0, -1.14], [0.062000006, 1.0799999, -2.5619998]],
        {"momentum_buffer": [3.98, -10.799999, 14.219997]},
    ),
    (
        "SGD",
        dict(lr=0.1, momentum=0.9, nesterov=True),
        [
            [0.62, -0.48000002, -0.41999984],
            [0.22240001, 0.53279996, -1.3992],
            [-0.108351976, 0.86659193, -0.912192],
        ],
        {"momentum_buffer": [3.1808, -6.0767994, 3.9168005]},
    ),
    (
        "SGD",
        dict(lr=0.1, momentum=0.9, weight_decay=0.01),
        [
            [0.799, -1.198, 1.1969999],
            [0.45750102, 0.0041980743, -1.1450971],
            [0.05819422, 1.0844929, -2.564781],
        ],
        {"momentum_buffer": [3.993068, -10.802948, 14.196837]},
    ),
    (
        "SGD",
        dict(lr=0.1, weight_decay=0.01),
        [
            [0.799, -1.198, 1.1969999],
            [0.63840103, -0.71760195, 0.47760296],
            [0.5100824, -0.42984357, 0.19056359],
        ],
        {},
    ),
    (
        "Adam",
        dict(lr=0.01),
        [
            [0.99, -1.99, 2.99],
            [0.98000276, -1.9800013, 2.980001],
            [0.9700101, -1.9700049, 2.9700034],
        ],
        {
            "exp_avg": [0.53620064, -2.156401, 4.860602],
            "exp_avg_sq": [0.011749954, 0.18989433, 0.9645563],
            "step": 3.0,
        },
    ),
    (
        "Adam",
        dict(lr=0.1, weight_decay=10.0),
        [
            [0.9, -1.9, 2.9],
            [0.80041254, -1.8001668, 2.8001032],
            [0.70158625, -1.7006234, 2.7003818],
        ],
        {
            "exp_avg": [2.9044957, -7.1822352, 12.544168],
            "exp_avg_sq": [0.35248604, 2.1244156, 6.4573064],
            "step": 3.0,
        },
    ),
    (
        "Adam",
        dict(lr=0.1, betas=(0.8, 0.99), eps=0.001, weight_decay=0.1),
        [
            [0.9000476, -1.9000123, 2.9000053],
            [0.80079293, -1.8003296, 2.800205],
            [0.7028035, -1.7011738, 2.700735],
        ],
        {
            "exp_avg": [0.907549, -3.7722778, 8.589055],
            "exp_avg_sq": [0.10686982, 1.8046412, 9.2980175],
            "step": 3.0,
        },
    ),
    (
        "AdamW",
        dict(lr=0.01),
        [
            [0.9899, -1.9898, 2.9897],
            [0.9798038, -1.9796023, 2.979402],
            [0.9697132, -1.969408, 2.9691064],
        ],
        {
            "exp_avg": [0.5361429, -2.1561694, 4.86008],
            "exp_avg_sq": [0.011747603, 0.18985632, 0.9643632],
            "step": 3.0,
        },
    ),
    (
        "AdamW",
        dict(lr=0.1, weight_decay=10.0),
        [
            [-0.100000024, 0.10000014, -0.10000014],
            [-0.05926465, 0.06320402, -0.06448805],
            [-0.0419681, 0.04681556, -0.04846476],
        ],
        {
            "exp_avg": [0.13214709, -0.58671844, 1.3653075],
            "exp_avg_sq": [0.004045961, 0.064095, 0.3238575],
            "step": 3.0,
        },
    ),
    (
        "AdamW",
        dict(lr=0.01, weight_decay=0.1),
        [
            [0.989, -1.988, 2.987],
            [0.9780141, -1.9760137, 2.9740143],
            [0.9670442, -1.964042, 2.9610434],
        ],
        {
            "exp_avg": [0.53562295, -2.1540859, 4.8553896],
            "exp_avg_sq": [0.011726472, 0.18951479, 0.9626283],
            "step": 3.0,
        },
    ),
    (
        "AdamW",
        dict(lr=0.1, betas=(0.8, 0.99), eps=0.001, weight_decay=0.1),
        [
            [0.89005, -1.8800125, 2.8700056],
            [0.7819871, -1.761601, 2.7415707],
            [0.6764341, -1.6450235, 2.6148617],
        ],
        {
            "exp_avg": [0.8536108, -3.6364884, 8.34909],
            "exp_avg_sq": [0.095034756, 1.6836369, 8.816994],
            "step": 3.0,
        },
    ),
    (
        "Adagrad",
        dict(lr=0.1),
        [[0.9, -1.9, 2.9], [0.83310354, -1.831125, 2.830498], [0.7804562, -1.7758214, 2.7743595]],
        {"square_avg": [10.016246, 175.4083, 915.1819], "step": 3.0},
    ),
    (
        "Adagrad",
        dict(lr=0.1, lr_decay=0.5, eps=0.001, weight_decay=0.1),
        [
            [0.9000113, -1.9000007, 2.9],
            [0.8554161, -1.8540843, 2.8536654],
            [0.8285898, -1.8261933, 2.8254395],
        ],
        {"square_avg": [11.209148, 185.71068, 950.8423], "step": 3.0},
    ),
]


def run3(make, steps: int = 3) -> tuple:
    """Run the reference experiment with our engine; returns (optimizer, param, trajectory)."""
    p = mge.Parameter(np.array([1.0, -2.0, 3.0], dtype=np.float32))
    c = mge.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    opt = make([p])
    gm = GradManager().attach([p])
    trajectory = []
    for _ in range(steps):
        with gm:
            gm.backward((p**2 * c).sum())
        opt.step().clear_grad()
        trajectory.append(p.numpy())
    return opt, p, np.array(trajectory)


def _case_id(case: tuple) -> str:
    name, kwargs = case[0], case[1]
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@pytest.mark.parametrize("case", REFERENCE, ids=[_case_id(c) for c in REFERENCE])
def test_three_steps_match_megengine(case: tuple) -> None:
    name, kwargs, expected, expected_state = case
    opt, p, trajectory = run3(lambda ps: getattr(optim, name)(ps, **kwargs))
    np.testing.assert_allclose(trajectory, np.array(expected, dtype=np.float32), rtol=0, atol=1e-6)
    assert p.dtype == np.float32
    state = opt.state_dict()["state"].get(0, {})
    assert list(state) == list(expected_state)  # MegEngine's buffer names, in its order
    for key, value in expected_state.items():
        got = np.asarray(state[key], dtype=np.float64)
        np.testing.assert_allclose(got, value, rtol=1e-6, atol=1e-6)
        if key != "step":
            assert state[key].dtype == np.float32


def torch_rmsprop(
    steps: int,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> np.ndarray:
    """PyTorch's RMSprop (torch.optim.RMSprop docs, single tensor), in float64."""
    p = np.array([1.0, -2.0, 3.0])
    c = np.array([1.0, 2.0, 3.0])
    square_avg, grad_avg, buf = np.zeros(3), np.zeros(3), np.zeros(3)
    out = []
    for _ in range(steps):
        g = 2 * c * p
        if weight_decay:
            g = g + weight_decay * p
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        if centered:
            grad_avg = alpha * grad_avg + (1 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        out.append(p)
    return np.array(out)


RMSPROP_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, momentum=0.9, centered=True),
    dict(lr=0.05, alpha=0.9, eps=1e-3, weight_decay=0.1),
    dict(lr=0.05, alpha=0.9, momentum=0.5, weight_decay=0.1, centered=True),
]


@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=lambda k: ",".join(map(str, k.items())))
def test_rmsprop_matches_pytorch_formula(kwargs: dict) -> None:
    opt, p, trajectory = run3(lambda ps: optim.RMSprop(ps, **kwargs), steps=5)
    np.testing.assert_allclose(trajectory, torch_rmsprop(5, **kwargs), rtol=0, atol=2e-6)
    assert p.dtype == np.float32
    state = opt.state_dict()["state"][0]
    names = ["step", "square_avg"]
    names += ["momentum_buffer"] if kwargs.get("momentum") else []
    names += ["grad_avg"] if kwargs.get("centered") else []
    assert list(state) == names
    assert state["step"] == 5


def test_rmsprop_first_step_by_hand() -> None:
    # s = (1 - 0.99) g^2, so g / sqrt(s) = sign(g) / 0.1 and p moves by lr * 10 * sign(g)
    _, _, trajectory = run3(lambda ps: optim.RMSprop(ps, lr=0.01), steps=1)
    np.testing.assert_allclose(trajectory[0], [0.9, -1.9, 2.9], atol=1e-6)


OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.9, centered=True, weight_decay=0.1),
]
OPTIMIZER_IDS = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"]


@pytest.mark.parametrize("make", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_update_keeps_float32_and_leaves_grad_alone(make) -> None:
    p = mge.Parameter(np.array([1.0, -2.0, 3.0], dtype=np.float32))
    grad = mge.tensor(np.array([0.5, -1.0, 2.0], dtype=np.float32))
    p.grad = grad
    opt = make([p])
    data = p._data
    for _ in range(2):
        opt.step()
    np.testing.assert_array_equal(grad.numpy(), [0.5, -1.0, 2.0])  # a shared grad is not mutated
    assert p._data is data  # updated in place
    assert p.dtype == np.float32
    for value in opt.state_dict()["state"][0].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
