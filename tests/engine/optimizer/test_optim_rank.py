"""Every optimizer on 0-d, 1-d and 2-d parameters gives MegEngine 1.13's numbers.

REFERENCE rows were recorded by running the same experiment in real MegEngine 1.13.0 (CPU):
p = Parameter(INIT[rank]), loss = sum(p * p * COEF[rank]) (so grad = 2 * COEF * p), three
`step().clear_grad()` rounds; each row holds p after the third step and the optimizer's
state buffers (`state_dict()["state"][0]`). A 0-d parameter is the tutorial's
`b = Parameter(-1.0)`: its gradient is a NumPy scalar on the CPU, which once made SGD's
momentum buffer silently stop updating.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.optimizer as optim
from engine.autodiff import GradManager

INIT = {0: 1.23, 1: [1.0, -2.0, 3.0], 2: [[1.0, -2.0], [3.0, 0.5]]}
COEF = {0: 2.0, 1: [1.0, 2.0, 3.0], 2: [[1.0, 2.0], [3.0, 4.0]]}

# (optimizer, kwargs, parameter rank, parameter after 3 steps, state after 3 steps)
REFERENCE = [
    ("SGD", {"lr": 0.1}, 0, 0.26568002, {}),
    ("SGD", {"lr": 0.1}, 1, [0.51199996, -0.432, 0.192], {}),
    ("SGD", {"lr": 0.1}, 2, [[0.51199996, -0.432], [0.192, 0.003999999]], {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, 0, -0.6642, {"momentum_buffer": 6.6419997}),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9},
        1,
        [0.062000006, 1.0799999, -2.5619998],
        {"momentum_buffer": [3.98, -10.799999, 14.219997]},
    ),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9},
        2,
        [[0.062000006, 1.0799999], [-2.5619998, -0.46399996]],
        {"momentum_buffer": [[3.98, -10.799999], [14.219997, 1.2399998]]},
    ),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        0,
        -0.5332114,
        {"momentum_buffer": 3.7296648},
    ),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        1,
        [-0.11165109, 0.8670106, -0.90848875],
        {"momentum_buffer": [3.1869106, -6.064496, 3.8875494]},
    ),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        2,
        [[-0.11165109, 0.8670106], [-0.90848875, -0.02442801]],
        {"momentum_buffer": [[3.1869106, -6.064496], [3.8875494, -0.14474237]]},
    ),
    (
        "Adam",
        {"lr": 0.1, "weight_decay": 0.01},
        0,
        0.9311815,
        {"exp_avg": 1.2204882, "exp_avg_sq": 0.061859973, "step": 3.0},
    ),
    (
        "Adam",
        {"lr": 0.1, "weight_decay": 0.01},
        1,
        [0.7015863, -1.7006234, 2.7003818],
        {
            "exp_avg": [0.486503, -2.0571976, 4.711903],
            "exp_avg_sq": [0.009889436, 0.17428988, 0.91108817],
            "step": 3.0,
        },
    ),
    (
        "Adam",
        {"lr": 0.1, "weight_decay": 0.01},
        2,
        [[0.7015863, -1.7006234], [2.7003818, 0.20487128]],
        {
            "exp_avg": [[0.486503, -2.0571976], [4.711903, 0.8540166]],
            "exp_avg_sq": [[0.009889436, 0.17428988], [0.91108817, 0.032083124]],
            "step": 3.0,
        },
    ),
    (
        "AdamW",
        {"lr": 0.1},
        0,
        0.9278145,
        {"exp_avg": 1.2160603, "exp_avg_sq": 0.061429918, "step": 3.0},
    ),
    (
        "AdamW",
        {"lr": 0.1},
        1,
        [0.69891125, -1.6949446, 2.6917038],
        {
            "exp_avg": [0.48352396, -2.0497897, 4.698907],
            "exp_avg_sq": [0.009771982, 0.17307621, 0.90624636],
            "step": 3.0,
        },
    ),
    (
        "AdamW",
        {"lr": 0.1},
        2,
        [[0.69891125, -1.6949446], [2.6917038, 0.20371242]],
        {
            "exp_avg": [[0.48352396, -2.0497897], [4.698907, 0.8518787]],
            "exp_avg_sq": [[0.009771982, 0.17307621], [0.90624636, 0.03194326]],
            "step": 3.0,
        },
    ),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}, 0, 1.010377, {"square_avg": 62.71685, "step": 3.0}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01},
        1,
        [0.7821212, -1.7775738, 2.7761393],
        {"square_avg": [10.020662, 175.44827, 915.32214], "step": 3.0},
    ),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01},
        2,
        [[0.7821212, -1.7775738], [2.7761393, 0.2923665]],
        {"square_avg": [[10.020662, 175.44827], [915.32214, 33.558067]], "step": 3.0},
    ),
    (
        "Adadelta",
        {"lr": 1.0},
        0,
        1.2203059,
        {"square_avg": 6.523613, "acc_delta": 2.838336e-06, "step": 3.0},
    ),
    (
        "Adadelta",
        {"lr": 1.0},
        1,
        [0.99030906, -1.9903008, 2.990298],
        {
            "square_avg": [1.076622, 17.284882, 87.60437],
            "acc_delta": [2.8363575e-06, 2.841635e-06, 2.8433915e-06],
            "step": 3.0,
        },
    ),
    (
        "Adadelta",
        {"lr": 1.0},
        2,
        [[0.99030906, -1.9903008], [2.990298, 0.4903257]],
        {
            "square_avg": [[1.076622, 17.284882], [87.60437, 4.2771654]],
            "acc_delta": [[2.8363575e-06, 2.841635e-06], [2.8433915e-06, 2.8258014e-06]],
            "step": 3.0,
        },
    ),
    (
        "Adadelta",
        {"lr": 0.5, "rho": 0.8, "eps": 0.0001, "weight_decay": 0.01},
        0,
        1.1949888,
        {"square_avg": 11.621801, "acc_delta": 0.00026917254, "step": 3.0},
    ),
    (
        "Adadelta",
        {"lr": 0.5, "rho": 0.8, "eps": 0.0001, "weight_decay": 0.01},
        1,
        [0.9650294, -1.9649243, 2.9648902],
        {
            "square_avg": [1.920605, 30.980259, 157.26175],
            "acc_delta": [0.00026844506, 0.00027034152, 0.0002709621],
            "step": 3.0,
        },
    ),
    (
        "Adadelta",
        {"lr": 0.5, "rho": 0.8, "eps": 0.0001, "weight_decay": 0.01},
        2,
        [[0.9650294, -1.9649243], [2.9648902, 0.4652368]],
        {
            "square_avg": [[1.920605, 30.980259], [157.26175, 7.427584]],
            "acc_delta": [[0.00026844506, 0.00027034152], [0.0002709621, 0.0002647133]],
            "step": 3.0,
        },
    ),
]


def run(name: str, kwargs: dict, rank: int, steps: int = 3) -> tuple:
    """The reference experiment in our engine; returns (optimizer, parameter)."""
    p = mge.Parameter(INIT[rank])
    c = mge.tensor(COEF[rank])
    opt = getattr(optim, name)([p], **kwargs)
    gm = GradManager().attach([p])
    for _ in range(steps):
        with gm:
            gm.backward((p * p * c).sum())
        opt.step().clear_grad()
    return opt, p


def _case_id(case: tuple) -> str:
    return f"{case[0]}({','.join(f'{k}={v}' for k, v in case[1].items())})-{case[2]}d"


@pytest.mark.parametrize("case", REFERENCE, ids=[_case_id(c) for c in REFERENCE])
def test_rank_table_matches_megengine(case: tuple) -> None:
    name, kwargs, rank, expected, expected_state = case
    opt, p = run(name, kwargs, rank)
    assert p.shape == np.shape(expected) and p.dtype == np.float32
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6, atol=1e-6)
    state = opt.state_dict()["state"].get(0, {})
    assert list(state) == list(expected_state)
    for key, value in expected_state.items():
        got = np.asarray(state[key], dtype=np.float64)
        assert got.shape == np.shape(value) or key == "step"
        np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_rmsprop_updates_every_rank_alike(rank: int) -> None:
    # MegEngine has no RMSprop: a 0-d parameter must move exactly like one element of a 1-d one
    kwargs = dict(lr=0.01, momentum=0.9, centered=True)
    _, p = run("RMSprop", kwargs, rank)
    flat_init = np.ravel(INIT[rank]).tolist()
    flat_coef = np.ravel(COEF[rank]).tolist()
    for i, (x0, c) in enumerate(zip(flat_init, flat_coef, strict=True)):
        q = mge.Parameter([x0])
        opt = optim.RMSprop([q], **kwargs)
        gm = GradManager().attach([q])
        for _ in range(3):
            with gm:
                gm.backward((q * q * c).sum())
            opt.step().clear_grad()
        assert np.ravel(p.numpy())[i] == q.numpy()[0]


def test_tutorial_bias_with_momentum_moves() -> None:
    # the tutorial's `b = Parameter(-1.0)`; grad 2 * (b - 1): v = g, then v = 0.9 v + g
    b = mge.Parameter(-1.0)
    opt = optim.SGD([b], lr=0.1, momentum=0.9)
    gm = GradManager().attach([b])
    for _ in range(2):
        with gm:
            gm.backward((b - 1.0) ** 2)
        opt.step().clear_grad()
    # step 1: g = -4, v = -4, b = -0.6; step 2: g = -3.2, v = -6.8, b = 0.08
    np.testing.assert_allclose(b.numpy(), 0.08, rtol=1e-6)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["momentum_buffer"], -6.8, rtol=1e-6)


def test_0d_parameter_reassigned_by_an_operator_still_updates_in_place() -> None:
    # `b -= ...` makes b hold a NumPy scalar on the CPU; the optimizer must still move b
    b = mge.Parameter(1.0)
    b -= 0.5
    b.grad = mge.tensor(2.0)
    optim.SGD([b], lr=0.1, momentum=0.5).step()
    np.testing.assert_allclose(b.numpy(), 0.3, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=-1.0), "Invalid learning rate: -1.0"),
        (dict(rho=1.5), "Invalid rho value: 1.5"),
        (dict(eps=-1e-6), "Invalid epsilon value: -1e-06"),
        (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ],
)
def test_adadelta_validates_hyper_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        optim.Adadelta([mge.Parameter([1.0])], **kwargs)


def test_adadelta_defaults_are_megengine_s() -> None:
    group = optim.Adadelta([mge.Parameter([1.0])]).param_groups[0]
    assert (group["lr"], group["rho"], group["eps"], group["weight_decay"]) == (1.0, 0.9, 1e-6, 0)


@pytest.mark.parametrize(
    "params", [[mge.tensor([1.0])], mge.tensor([1.0]), [{"params": [mge.tensor(1.0)]}]]
)
def test_plain_tensors_are_refused(params) -> None:
    with pytest.raises(TypeError, match="optimizer can only optimize Parameters.*Tensor"):
        optim.SGD(params, lr=0.1)
