"""Module: attribute registration, naming and order, state_dict round trips and load errors,
train/eval, and repr — the expected strings are what MegEngine 1.13 prints."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import engine.functional as F
import engine.module as M
from engine import Parameter, Tensor
from engine.autodiff import GradManager
from engine.optimizer import SGD


class Net(M.Module):
    """Every kind of attribute MegEngine scans: layers, a list of layers, a Parameter, a buffer."""

    def __init__(self):
        super().__init__()
        self.conv1 = M.Conv2d(1, 6, 5)
        self.bn = M.BatchNorm2d(6)
        self.pool = M.MaxPool2d(2)
        self.conv2 = M.Conv2d(6, 16, 5, stride=2, padding=1, groups=2, bias=False)
        self.fc = M.Linear(256, 10)
        self.seq = M.Sequential(M.Linear(10, 4), M.ReLU(), M.Dropout(0.5))
        self.blocks = [M.Linear(2, 2), M.Linear(2, 3)]
        self.scale = Parameter(np.ones(3, "float32"))
        self.buf = Tensor(np.zeros(2, "float32"))
        self.note = "not state"

    def forward(self, x):
        return x


NET_REPR = """Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5))
  (bn): BatchNorm2d(6, eps=1e-05, momentum=0.9, affine=True, track_running_stats=True)
  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0)
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1), groups=2, bias=False)
  (fc): Linear(in_features=256, out_features=10, bias=True)
  (seq): Sequential(
    (0): Linear(in_features=10, out_features=4, bias=True)
    (1): ReLU()
    (2): Dropout(drop_prob=0.5)
  )
  (blocks.0): Linear(in_features=2, out_features=2, bias=True)
  (blocks.1): Linear(in_features=2, out_features=3, bias=True)
)"""


def test_named_parameters_buffers_children_modules_in_megengine_order():
    net = Net()
    assert [k for k, _ in net.named_parameters()] == [
        "blocks.0.bias", "blocks.0.weight", "blocks.1.bias", "blocks.1.weight", "bn.bias",
        "bn.weight", "conv1.bias", "conv1.weight", "conv2.weight", "fc.bias", "fc.weight",
        "scale", "seq.0.bias", "seq.0.weight",
    ]  # fmt: skip
    assert [k for k, _ in net.named_buffers()] == ["bn.running_mean", "bn.running_var", "buf"]
    assert [k for k, _ in net.named_children()] == [
        "blocks.0", "blocks.1", "bn", "conv1", "conv2", "fc", "pool", "seq"
    ]  # fmt: skip
    assert [k for k, _ in net.named_modules()] == [
        "", "blocks.0", "blocks.1", "bn", "conv1", "conv2", "fc", "pool", "seq", "seq.0",
        "seq.1", "seq.2",
    ]  # fmt: skip
    assert list(net.parameters()) == [p for _, p in net.named_parameters()]
    assert [p for p in net.parameters(recursive=False)] == [net.scale]
    assert list(net.buffers(recursive=False)) == [net.buf]
    assert list(net.children())[2] is net.bn and next(net.modules()) is net
    assert all(isinstance(p, Parameter) and p.dtype == np.float32 for p in net.parameters())
    assert [k for k, _ in net.named_parameters(prefix="net")][:1] == ["net.blocks.0.bias"]


def test_state_dict_order_shapes_and_types_match_megengine():
    sd = Net().state_dict()
    assert isinstance(sd, OrderedDict)
    assert [(k, v.shape) for k, v in sd.items()] == [
        ("buf", (2,)),
        ("scale", (3,)),
        ("blocks.0.bias", (2,)),
        ("blocks.0.weight", (2, 2)),
        ("blocks.1.bias", (3,)),
        ("blocks.1.weight", (3, 2)),
        ("bn.bias", (6,)),  # batch-norm state is (1, C, 1, 1) inside but saved flat
        ("bn.running_mean", (6,)),
        ("bn.running_var", (6,)),
        ("bn.weight", (6,)),
        ("conv1.bias", (1, 6, 1, 1)),
        ("conv1.weight", (6, 1, 5, 5)),
        ("conv2.weight", (2, 8, 3, 5, 5)),
        ("fc.bias", (10,)),
        ("fc.weight", (10, 256)),
        ("seq.0.bias", (4,)),
        ("seq.0.weight", (4, 10)),
    ]
    assert all(type(v) is np.ndarray for v in sd.values())


def test_state_dict_round_trip_copies_in_place():
    src, dst = Net(), Net()
    for p in src.parameters():
        M.init.normal_(p)
    M.init.fill_(src.bn.running_mean, 3.0)
    weight_before = dst.fc.weight
    dst.load_state_dict(src.state_dict())
    assert dst.fc.weight is weight_before and dst.fc.weight.dtype == np.float32
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert dst.bn.running_mean.shape == (1, 6, 1, 1)
    # state_dict() hands out copies: changing them does not touch the module
    sd = dst.state_dict()
    sd["fc.bias"][...] = 42
    assert dst.fc.bias.numpy().max() < 42


def test_optimizer_keeps_working_after_load_state_dict():
    model = M.Linear(3, 2)
    opt = SGD(model.parameters(), lr=0.1)
    model.load_state_dict({"weight": np.ones((2, 3), "float32"), "bias": np.zeros(2, "float32")})
    gm = GradManager().attach(model.parameters())
    with gm:
        gm.backward(model(Tensor(np.ones((1, 3)))).sum())
    opt.step()
    np.testing.assert_allclose(model.weight.numpy(), np.full((2, 3), 0.9), rtol=1e-6)


def test_load_state_dict_errors_match_megengine():
    lin = M.Linear(3, 2)
    w, b = np.zeros((2, 3), "float32"), np.zeros(2, "float32")
    with pytest.raises(KeyError) as info:
        lin.load_state_dict({"weight": w})
    assert info.value.args[0] == "Missing params violate `strict=True`, missing={'bias'}"
    with pytest.raises(KeyError) as info:
        lin.load_state_dict({"weight": w, "bias": b, "extra": b, "another": b})
    assert info.value.args[0] == (
        "Unused params violate `strict=True`, unused={'another', 'extra'}"
    )
    with pytest.raises(ValueError) as info:
        lin.load_state_dict({"weight": np.zeros((3, 3), "float32"), "bias": b})
    assert str(info.value) == "param `weight` shape mismatch, should be (2, 3), get (3, 3)"
    with pytest.raises(ValueError, match="size mismatch, should be 3, get 4"):
        M.BatchNorm2d(3).load_state_dict({**M.BatchNorm2d(3).state_dict(), "weight": np.ones(4)})
    with pytest.raises(TypeError, match="numpy array"):
        lin.load_state_dict({"weight": [[0.0] * 3] * 2, "bias": b})


def test_load_state_dict_non_strict_warns_and_loads_what_it_can():
    lin = M.Linear(3, 2)
    with pytest.warns(UserWarning, match="missing={'bias'}"):
        lin.load_state_dict({"weight": np.full((2, 3), 5.0)}, strict=False)
    assert lin.weight.numpy().tolist() == [[5.0] * 3] * 2


@pytest.mark.filterwarnings("ignore:Missing params")
def test_load_state_dict_accepts_a_closure_and_flat_or_4d_batchnorm_state():
    bn = M.BatchNorm2d(3)
    bn.load_state_dict(lambda key, var: np.full(var.shape, 2.0) if key == "weight" else None,
                       strict=False)  # fmt: skip
    assert bn.weight.numpy().ravel().tolist() == [2.0] * 3
    bn.load_state_dict({k: v.reshape(1, 3, 1, 1) for k, v in M.BatchNorm2d(3).state_dict().items()})
    assert bn.weight.numpy().ravel().tolist() == [1.0] * 3


def test_train_eval_switch_every_module():
    net = Net()
    assert net.training and net.seq[2].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False, recursive=False)
    assert not net.training and net.bn.training


def test_attribute_bookkeeping():
    class Early(M.Module):
        def __init__(self):
            self.fc = M.Linear(1, 1)
            super().__init__()

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(TypeError):
        M.Module()  # forward is abstract, as in MegEngine
    net = Net()
    net.fc = Tensor([1.0])  # a module attribute turned into a buffer leaves the repr
    assert "(fc)" not in repr(net) and "fc" in dict(net.named_buffers())
    del net.seq
    assert "(seq)" not in repr(net)


def test_shared_module_is_listed_once():
    class Tied(M.Module):
        def __init__(self):
            super().__init__()
            self.a = M.Linear(2, 2)
            self.b = self.a
            self.c = [self.a.weight]

        def forward(self, x):
            return self.b(self.a(x))

    tied = Tied()  # MegEngine 1.13 gives these names, and repr lists both (a) and (b)
    assert [k for k, _ in tied.named_parameters()] == ["a.bias", "a.weight"]
    assert list(tied.state_dict()) == ["c.0", "a.bias", "a.weight"]
    assert repr(tied).count("Linear(") == 2


def test_call_runs_forward_with_arguments():
    class Add(M.Module):
        def forward(self, x, y, scale=1.0):
            return (x + y) * scale

    assert Add()(Tensor([1.0]), Tensor([2.0]), scale=2.0).numpy().tolist() == [6.0]


def test_repr_matches_megengine():
    assert repr(Net()) == NET_REPR

    class Empty(M.Module):
        def forward(self, x):
            return x

    expected = {
        M.Conv2d(3, 8, 3): "Conv2d(3, 8, kernel_size=(3, 3))",
        M.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), dilation=2, bias=False): (
            "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), "
            "bias=False)"
        ),
        M.Conv2d(4, 8, 3, groups=4): "Conv2d(4, 8, kernel_size=(3, 3), groups=4)",
        M.MaxPool2d(2): "MaxPool2d(kernel_size=2, stride=2, padding=0)",
        M.MaxPool2d((2, 3), (1, 2), (0, 1)): (
            "MaxPool2d(kernel_size=(2, 3), stride=(1, 2), padding=(0, 1))"
        ),
        M.AvgPool2d(3, 1, 1): (
            "AvgPool2d(kernel_size=3, stride=1, padding=1, mode=average_count_exclude_padding)"
        ),
        M.BatchNorm1d(5): (
            "BatchNorm1d(5, eps=1e-05, momentum=0.9, affine=True, track_running_stats=True)"
        ),
        M.BatchNorm2d(5, affine=False): (
            "BatchNorm2d(5, eps=1e-05, momentum=0.9, affine=False, track_running_stats=True)"
        ),
        M.Dropout(0.3): "Dropout(drop_prob=0.3)",
        M.Dropout(): "Dropout(drop_prob=0.0)",
        M.ReLU(): "ReLU()",
        M.Softmax(): "Softmax(axis=None)",
        M.Softmax(1): "Softmax(axis=1)",
        M.LeakyReLU(0.2): "LeakyReLU()",
        M.GELU(): "GELU()",
        M.SiLU(): "SiLU()",
        M.Sigmoid(): "Sigmoid()",
        M.Identity(): "Identity()",
        M.Linear(3, 4, bias=False): "Linear(in_features=3, out_features=4, bias=False)",
        Empty(): "Empty()",
        M.Sequential(OrderedDict(fc0=M.Linear(2, 3), act=M.ReLU())): (
            "Sequential(\n  (fc0): Linear(in_features=2, out_features=3, bias=True)\n"
            "  (act): ReLU()\n)"
        ),
    }
    for module, text in expected.items():
        assert repr(module) == text


def test_module_name_argument():
    assert M.Linear(2, 2, name="head").name == "head"
    with pytest.raises(AssertionError):
        M.ReLU(name=" ")


def test_forward_uses_registered_parameters_for_gradients():
    net = M.Sequential(M.Linear(3, 4), M.ReLU(), M.Linear(4, 1))
    gm = GradManager().attach(net.parameters())
    with gm:
        gm.backward(F.sum(net(Tensor(np.ones((5, 3))))))
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
