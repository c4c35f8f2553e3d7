"""Optimizer API: validation messages, param groups, step/clear_grad, state-dict round trips."""

from __future__ import annotations

import re

import numpy as np
import pytest

import engine as mge
import engine.optimizer as optim
from engine.autodiff import GradManager
from engine.serialization import load, save

# (optimizer, kwargs, message): MegEngine 1.13's wording; it raises AssertionError for SGD and
# Adagrad, we raise ValueError everywhere. Adam/AdamW eps and all of RMSprop are our additions.
INVALID = [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(lr=0.1, weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    ("Adam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("Adam", dict(lr=0.1, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(lr=0.1, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(lr=0.1, eps=-1), "Invalid epsilon value: -1"),
    ("Adam", dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    ("AdamW", dict(lr=-1), "Invalid learning rate: -1"),
    ("AdamW", dict(lr=0.1, betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("AdamW", dict(lr=0.1, weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    ("Adagrad", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adagrad", dict(lr_decay=-1), "Invalid learning rate decay: -1"),
    ("Adagrad", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adagrad", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("RMSprop", dict(lr=-1), "Invalid learning rate: -1"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(eps=-1), "Invalid epsilon value: -1"),
    ("RMSprop", dict(momentum=-1), "Invalid momentum value: -1"),
    ("RMSprop", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
]


@pytest.mark.parametrize("name, kwargs, message", INVALID, ids=[m for _, _, m in INVALID])
def test_invalid_hyper_parameters(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        getattr(optim, name)([mge.Parameter([1.0])], **kwargs)


def test_invalid_group_added_later_is_rejected() -> None:
    opt = optim.Adam([mge.Parameter([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: -0.5"):
        opt.add_param_group({"params": [mge.Parameter([2.0])], "betas": (-0.5, 0.9)})
    assert len(opt.param_groups) == 1


def test_defaults_as_megengine() -> None:
    p = mge.Parameter([1.0])
    assert optim.AdamW([p], lr=0.1).param_groups[0]["weight_decay"] == 0.01
    adam = optim.Adam([p], lr=0.1).param_groups[0]
    assert (adam["betas"], adam["eps"], adam["weight_decay"]) == ((0.9, 0.999), 1e-8, 0.0)
    ada = optim.Adagrad([p]).param_groups[0]
    assert (ada["lr"], ada["lr_decay"], ada["eps"], ada["weight_decay"]) == (0.01, 0.0, 1e-10, 0.0)
    rms = optim.RMSprop([p]).param_groups[0]
    assert (rms["lr"], rms["alpha"], rms["eps"], rms["momentum"], rms["centered"]) == (
        0.01,
        0.99,
        1e-8,
        0.0,
        False,
    )


def test_param_groups_with_their_own_lr() -> None:
    # MegEngine: a -> 0.9, b -> 0.5 (refnotes/optimizer.md, "param groups")
    a, b = mge.Parameter([1.0]), mge.Parameter([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    a.grad, b.grad = mge.tensor([1.0]), mge.tensor([1.0])
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5], rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_changing_group_lr_takes_effect(name: str) -> None:
    p, q = mge.Parameter([1.0]), mge.Parameter([1.0])
    opt_p, opt_q = getattr(optim, name)([p], lr=0.1), getattr(optim, name)([q], lr=0.1)
    opt_q.param_groups[0]["lr"] = 0.01
    for param, opt in ((p, opt_p), (q, opt_q)):
        param.grad = mge.tensor([1.0])
        opt.step()
    np.testing.assert_allclose(1.0 - q.item(), (1.0 - p.item()) / 10, rtol=1e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_step_without_grads_does_nothing_and_returns_self(name: str) -> None:
    p = mge.Parameter([1.0, 2.0])
    opt = getattr(optim, name)([p], lr=0.1)
    assert opt.step() is opt
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])
    assert opt.state_dict()["state"] == {}  # no buffer created, no step counted


def test_clear_grad_sets_none() -> None:
    p = mge.Parameter([1.0, 2.0])
    opt = optim.Adam([p], lr=0.1)
    gm = GradManager().attach([p])
    with gm:
        gm.backward((p * p).sum())
    assert p.grad is not None
    opt.step().clear_grad()
    assert p.grad is None


def _train(opt: optim.Optimizer, params: list, steps: int) -> None:
    gm = GradManager().attach(params)
    c = mge.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    for _ in range(steps):
        with gm:
            loss = sum(((p - 0.5) ** 2 * c).sum() for p in params)
            gm.backward(loss)
        opt.step().clear_grad()


ROUND_TRIP = {
    "SGD": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda ps, lr: optim.Adam(ps, lr=lr, weight_decay=0.1),
    "AdamW": lambda ps, lr: optim.AdamW(ps, lr=lr),
    "Adagrad": lambda ps, lr: optim.Adagrad(ps, lr=lr, lr_decay=0.1),
    "RMSprop": lambda ps, lr: optim.RMSprop(ps, lr=lr, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_restored_optimizer_continues_bit_identically(name: str, through_file: bool, tmp_path):
    make = ROUND_TRIP[name]
    start = [np.array([1.0, -2.0, 3.0], np.float32), np.array([0.25, 4.0, -1.5], np.float32)]

    ref = [mge.Parameter(a) for a in start]
    ref_opt = make([{"params": ref[:1]}, {"params": ref[1:], "lr": 0.02}], 0.05)
    _train(ref_opt, ref, 5)

    first = [mge.Parameter(a) for a in start]
    first_opt = make([{"params": first[:1]}, {"params": first[1:], "lr": 0.02}], 0.05)
    _train(first_opt, first, 2)
    state = first_opt.state_dict()
    if through_file:
        save({"params": [p.numpy() for p in first], "optimizer": state}, tmp_path / "ckpt")
        loaded = load(tmp_path / "ckpt")
        arrays, state = loaded["params"], loaded["optimizer"]
    else:
        arrays = [p.numpy() for p in first]

    resumed = [mge.Parameter(a) for a in arrays]
    resumed_opt = make([{"params": resumed[:1]}, {"params": resumed[1:]}], 0.7)  # lrs restored
    resumed_opt.load_state_dict(state)
    assert [g["lr"] for g in resumed_opt.param_groups] == [0.05, 0.02]
    _train(resumed_opt, resumed, 3)
    for got, want in zip(resumed, ref, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_state_dict_layout_as_megengine() -> None:
    p = mge.Parameter(np.array([1.0, -2.0, 3.0], np.float32))
    opt = optim.Adam([p], lr=0.01)
    _train(opt, [p], 1)
    sd = opt.state_dict()
    assert list(sd) == ["param_groups", "state"]
    assert sd["param_groups"] == [
        {"lr": 0.01, "weight_decay": 0.0, "betas": (0.9, 0.999), "eps": 1e-08, "params": [0]}
    ]
    assert list(sd["state"]) == [0]
    assert list(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert isinstance(sd["state"][0]["exp_avg"], np.ndarray)


def test_loads_megengine_style_step_counter() -> None:
    # MegEngine keeps `step` as a float32 0-d array; a state dict in that form must work too.
    p, q = (mge.Parameter(np.array([1.0, -2.0, 3.0], np.float32)) for _ in range(2))
    opt_p, opt_q = optim.Adam([p], lr=0.01), optim.Adam([q], lr=0.01)
    _train(opt_p, [p], 2)
    sd = opt_p.state_dict()
    sd["state"][0]["step"] = np.array(2.0, dtype=np.float32)
    q._data[...] = p._data
    opt_q.load_state_dict(sd)
    _train(opt_p, [p], 1)
    _train(opt_q, [q], 1)
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert opt_q.state_dict()["state"][0]["step"] == 3


def test_load_state_dict_rejects_mismatched_groups() -> None:
    a, b = mge.Parameter([1.0]), mge.Parameter([2.0])
    sd = optim.SGD([a], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="number of parameters"):
        optim.SGD([a, b], lr=0.1).load_state_dict(sd)
