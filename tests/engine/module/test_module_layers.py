"""The layers and initialisers: MegEngine's shapes, init statistics, modes and naming."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import engine
import engine.functional as F
import engine.module as M
from engine import Parameter, Tensor
from engine.module import init

RNG = np.random.default_rng(2)


# ---- Linear and Conv2d ------------------------------------------------------------------------


def test_linear_shapes_init_and_forward():
    engine.random.seed(0)
    lin = M.Linear(400, 300)
    w = lin.weight.numpy()
    assert w.shape == (300, 400) and lin.bias.shape == (300,)
    assert w.dtype == np.float32 and isinstance(lin.weight, Parameter)
    # MegEngine: weight ~ N(0, 1 / in_features), bias zeros
    assert abs(w.mean()) < 0.003
    assert w.std() == pytest.approx(math.sqrt(1 / 400), rel=0.02)
    assert not lin.bias.numpy().any()
    x = RNG.normal(size=(5, 400)).astype("float32")
    np.testing.assert_allclose(lin(Tensor(x)).numpy(), x @ w.T, rtol=1e-4, atol=1e-5)
    assert M.Linear(3, 2, bias=False).bias is None


def test_linear_init_is_reproducible_from_the_global_seed():
    engine.random.seed(3)
    a = M.Linear(4, 3).weight.numpy()
    engine.random.seed(3)
    b = M.Linear(4, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_conv2d_shapes_init_and_forward():
    engine.random.seed(1)
    conv = M.Conv2d(8, 32, 3, padding=1)
    assert conv.weight.shape == (32, 8, 3, 3) and conv.bias.shape == (1, 32, 1, 1)
    assert conv.weight.numpy().std() == pytest.approx(math.sqrt(1 / 72), rel=0.05)
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    x = Tensor(RNG.normal(size=(2, 8, 5, 5)))
    np.testing.assert_allclose(
        conv(x).numpy(), F.conv2d(x, conv.weight, conv.bias, padding=1).numpy(), rtol=1e-6
    )
    grouped = M.Conv2d(4, 8, 3, groups=2, bias=False)
    assert grouped.weight.shape == (2, 4, 2, 3, 3) and grouped.bias is None
    # MegEngine's fan-in counts every input channel, even with groups
    assert M.Conv2d(4, 8, 3, groups=2)._get_fanin() == 36
    assert grouped(Tensor(np.ones((1, 4, 5, 5)))).shape == (1, 8, 3, 3)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        M.Conv2d(3, 4, 3, groups=2)


def test_conv2d_padding_modes_pad_before_convolving():
    conv = M.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect")
    x = Tensor(RNG.normal(size=(1, 2, 5, 6)))
    padded = F.nn.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), "reflect")
    np.testing.assert_allclose(
        conv(x).numpy(), F.conv2d(padded, conv.weight, conv.bias).numpy(), rtol=1e-6
    )
    assert conv(x).shape == (1, 3, 5, 8)
    with pytest.raises(ValueError, match="padding_mode"):
        M.Conv2d(2, 3, 3, padding_mode="circular")


# ---- pooling, dropout, activations ----------------------------------------------------------


def test_pool_modules():
    x = Tensor(np.arange(16, dtype="float32").reshape(1, 1, 4, 4))
    assert M.MaxPool2d(3, 1, 0)(x).numpy().ravel().tolist() == [10, 11, 14, 15]
    avg = M.AvgPool2d(2, 2, padding=(1, 0), mode="average")
    x2 = Tensor(np.arange(12, dtype="float32").reshape(1, 1, 3, 4))
    assert avg(x2).numpy().ravel().tolist() == [0.25, 1.25, 6.5, 8.5]  # MegEngine's docstring


def test_dropout_module_follows_training_flag():
    drop = M.Dropout(0.5)
    x = Tensor(np.ones(1000))
    y = drop(x).numpy()
    assert set(np.unique(y).tolist()) == {0.0, 2.0}
    drop.eval()
    assert drop(x) is x


@pytest.mark.parametrize(
    ("module", "fn"),
    [
        (M.ReLU(), lambda x: np.maximum(x, 0)),
        (M.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (M.Tanh(), np.tanh),
        (M.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (M.SiLU(), lambda x: x / (1 + np.exp(-x))),
        (M.GELU(), lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
        (M.Softmax(0), lambda x: np.exp(x) / np.exp(x).sum(0)),
        (M.Identity(), lambda x: x),
        (M.Flatten(), lambda x: x.reshape(x.shape[0], -1)),
    ],
)
def test_activation_values(module, fn):
    x = RNG.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(module(Tensor(x)).numpy(), fn(x), rtol=1e-5, atol=1e-6)


def test_softmax_default_axis_and_identity_copies():
    x = Tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(
        M.Softmax()(x).numpy(), [[0.26894143, 0.7310586], [0.11920291, 0.880797]], rtol=1e-6
    )
    assert M.Identity()(x) is not x
    assert M.Flatten()(Tensor(np.ones((2, 3, 4)))).shape == (2, 12)
    assert repr(M.Flatten()) == "Flatten(start_axis=1, end_axis=-1)"


# ---- batch norm ---------------------------------------------------------------------------


def test_batchnorm2d_train_updates_running_stats_and_eval_uses_them():
    bn = M.BatchNorm2d(3)
    x = RNG.normal(1.0, 2.0, size=(4, 3, 5, 5)).astype("float32")
    y = bn(Tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy().ravel(), 0.1 * x.mean((0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(
        bn.running_var.numpy().ravel(), 0.9 + 0.1 * x.var((0, 2, 3), ddof=1), rtol=1e-5
    )
    bn.eval()
    before = bn.running_mean.numpy()
    y_eval = bn(Tensor(x)).numpy()
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)  # eval never updates
    rm, rv = before.reshape(1, 3, 1, 1), bn.running_var.numpy().reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y_eval, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-5, atol=1e-5)


def test_batchnorm1d_accepts_2d_and_3d_and_checks_rank():
    bn = M.BatchNorm1d(4)
    assert bn(Tensor(RNG.normal(size=(8, 4)))).shape == (8, 4)
    assert bn(Tensor(RNG.normal(size=(8, 4, 3)))).shape == (8, 4, 3)
    assert bn.running_mean.shape == (1, 4, 1, 1)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        bn(Tensor(np.ones((2, 4, 1, 1))))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        M.BatchNorm2d(4)(Tensor(np.ones((2, 4))))


def test_batchnorm_options():
    bn = M.BatchNorm2d(2, affine=False, track_running_stats=False)
    assert bn.weight is None and bn.running_mean is None and list(bn.parameters()) == []
    bn.eval()  # no running stats: batch statistics even in eval mode
    x = RNG.normal(3.0, 1.0, size=(4, 2, 3, 3)).astype("float32")
    np.testing.assert_allclose(bn(Tensor(x)).numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)
    frozen = M.BatchNorm2d(2, freeze=True)
    init.fill_(frozen.running_mean, 1.0)
    np.testing.assert_allclose(frozen(Tensor(x)).numpy(), (x - 1) / np.sqrt(1 + 1e-5), rtol=1e-5)
    assert frozen.running_mean.numpy().ravel().tolist() == [1.0, 1.0]
    init.fill_(frozen.weight, 5.0)
    frozen.reset_parameters()
    assert frozen.weight.numpy().ravel().tolist() == [1.0, 1.0]
    assert frozen.running_mean.numpy().ravel().tolist() == [0.0, 0.0]


# ---- Sequential ---------------------------------------------------------------------------


def test_sequential_naming_indexing_and_iteration():
    seq = M.Sequential(*[M.Linear(2, 2) for _ in range(12)])
    assert [k for k, _ in seq.named_parameters()][:6] == [
        "0.bias",
        "0.weight",
        "1.bias",
        "1.weight",
        "10.bias",
        "10.weight",
    ]  # fmt: skip  (sorted as strings, exactly like MegEngine)
    assert len(seq) == 12 and seq[3] is seq.layer_values[3] and list(seq) == seq.layer_values
    head = seq[:2]
    assert isinstance(head, M.Sequential) and len(head) == 2 and head[1] is seq[1]
    assert [k for k, _ in head.named_children()] == ["0", "1"]
    new = M.Linear(2, 2)
    seq[0] = new
    assert seq[0] is new and getattr(seq, "0") is new
    del seq[0]
    assert len(seq) == 11 and not hasattr(seq, "0")


def test_sequential_from_ordered_dict_runs_in_order():
    seq = M.Sequential(OrderedDict(fc0=M.Linear(3, 4), act=M.ReLU(), fc1=M.Linear(4, 2)))
    assert [k for k, _ in seq.named_children()] == ["act", "fc0", "fc1"]
    assert seq.layer_keys == ["fc0", "act", "fc1"]
    x = Tensor(RNG.normal(size=(5, 3)))
    want = seq.fc1(F.relu(seq.fc0(x)))
    np.testing.assert_allclose(seq(x).numpy(), want.numpy(), rtol=1e-6)


# ---- init -----------------------------------------------------------------------------------


def test_init_fills_in_place_and_returns_none():
    p = Parameter(np.zeros((4, 3, 2, 2), "float32"))
    data = p._data
    assert init.fill_(p, 2) is None
    assert p._data is data and (p.numpy() == 2).all()
    init.ones_(p)
    assert (p.numpy() == 1).all()
    init.zeros_(p)
    assert not p.numpy().any()


def test_fans_and_gains_match_megengine():
    assert init.calculate_fan_in_and_fan_out(Tensor(np.zeros((4, 3, 2, 2)))) == (12, 16)
    assert init.calculate_fan_in_and_fan_out(Tensor(np.zeros((5, 7)))) == (7, 5)
    assert init.calculate_fan_in_and_fan_out(Tensor(np.zeros((2, 4, 3, 5, 5)))) == (75, 100)
    assert init.calculate_gain("relu") == pytest.approx(1.4142135623730951)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(1.3867504905630728)
    assert init.calculate_gain("conv2d") == 1 and init.calculate_gain("tanh") == 5.0 / 3
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(Tensor(np.zeros(3)))


@pytest.mark.parametrize(
    ("fn", "kind", "scale"),
    [
        (lambda t: init.uniform_(t, -2.0, 3.0), "uniform", (-2.0, 3.0)),
        (lambda t: init.normal_(t, 1.0, 0.5), "normal", (1.0, 0.5)),
        (init.xavier_uniform_, "uniform", math.sqrt(6 / (200 + 100))),
        (init.xavier_normal_, "normal", math.sqrt(2 / (200 + 100))),
        (init.msra_uniform_, "uniform", math.sqrt(3) * math.sqrt(2) / math.sqrt(200)),
        (lambda t: init.msra_normal_(t, mode="fan_out"), "normal", math.sqrt(2 / 100)),
    ],
)
def test_random_initialisers_statistics(fn, kind, scale):
    engine.random.seed(5)
    t = Parameter(np.zeros((100, 200), "float32"))  # fan_in 200, fan_out 100
    fn(t)
    v = t.numpy()
    if kind == "uniform":
        lo, hi = scale if isinstance(scale, tuple) else (-scale, scale)
        assert lo <= v.min() < lo + 0.01 * (hi - lo) and hi - 0.01 * (hi - lo) < v.max() <= hi
    else:
        mean, std = scale if isinstance(scale, tuple) else (0.0, scale)
        assert abs(v.mean() - mean) < 0.02 * std + 1e-3
        assert v.std() == pytest.approx(std, rel=0.02)
    assert t.dtype == np.float32
