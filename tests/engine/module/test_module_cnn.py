"""A small CNN end to end: forward and backward shapes, and a few SGD steps that learn."""

from __future__ import annotations

import numpy as np

import engine
import engine.functional as F
import engine.module as M
from engine import Tensor
from engine.autodiff import GradManager
from engine.optimizer import SGD


class SmallCNN(M.Module):
    """conv-relu-pool-conv-relu-pool-linear on 1x12x12 images."""

    def __init__(self, classes: int = 3):
        super().__init__()
        self.conv1 = M.Conv2d(1, 4, 3, padding=1)
        self.conv2 = M.Conv2d(4, 8, 3)
        self.bn = M.BatchNorm2d(8)
        self.pool = M.MaxPool2d(2)
        self.drop = M.Dropout(0.1)
        self.fc = M.Linear(8 * 2 * 2, classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # (N, 4, 6, 6)
        x = self.pool(F.relu(self.bn(self.conv2(x))))  # (N, 8, 2, 2)
        return self.fc(self.drop(F.flatten(x, 1)))


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.normal(0, 0.3, size=(n, 1, 12, 12)).astype("float32")
    for i, c in enumerate(labels):  # class c lights up a band of rows
        images[i, 0, 4 * c : 4 * c + 4] += 1.0
    return Tensor(images), Tensor(labels)


def test_small_cnn_forward_backward_shapes():
    engine.random.seed(0)
    net = SmallCNN()
    x, y = _data(8)
    gm = GradManager().attach(net.parameters())
    with gm:
        logits = net(x)
        assert logits.shape == (8, 3)
        gm.backward(F.nn.cross_entropy(logits, y))
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.isfinite(p.grad.numpy()).all(), name
    assert [k for k, _ in net.named_parameters()] == [
        "bn.bias", "bn.weight", "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight",
        "fc.bias", "fc.weight",
    ]  # fmt: skip


def test_small_cnn_learns_and_eval_is_deterministic():
    engine.random.seed(1)
    net = SmallCNN()
    x, y = _data()
    gm = GradManager().attach(net.parameters())
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(15):
        with gm:
            loss = F.nn.cross_entropy(net(x), y)
            gm.backward(loss)
        opt.step().clear_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    net.eval()
    a, b = net(x).numpy(), net(x).numpy()
    np.testing.assert_array_equal(a, b)
    accuracy = (a.argmax(1) == y.numpy()).mean()
    assert accuracy > 0.9
