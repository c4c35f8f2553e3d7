"""The device model on a real GPU, and short training runs on gpu0 that match cpu0."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager
from engine.core.device import default_device
from engine.testing.devcheck import available_optimizers, train_linear, train_mlp


def _close_runs(got: dict, want: dict, rtol: float = 1e-3) -> None:
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=rtol, atol=1e-5)
    for g, w in zip(got["params"], want["params"], strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-4)


def test_device_model_on_gpu(gpu: str) -> None:
    t = mge.tensor([1.0, 2.0], device=gpu)
    assert str(t.device) == f"{gpu}:0" and repr(t) == f"Tensor([1. 2.], device={gpu}:0)"
    assert t.device.physical_name == f"{gpu}:0"
    assert isinstance(t._data, t.device.xp.ndarray)
    with default_device("xpux"):
        if gpu == "gpu0":
            assert repr(mge.tensor([1.0]).device) == 'CompNode("gpu0:0" from "xpux:0")'
            assert mge.is_cuda_available()
    with pytest.raises(RuntimeError, match="different devices"):
        t + mge.tensor([1.0, 2.0], device="cpu0")
    back = (t * 3).to("cpu0")
    assert back.device == "cpu0" and back.numpy().tolist() == [3.0, 6.0]
    x = mge.Parameter([1.0, 2.0], device="cpu0")
    gm = GradManager().attach(x)
    with gm:
        gm.backward((x.to(gpu) ** 2).sum())
    assert x.grad.device == "cpu0" and x.grad.numpy().tolist() == [2.0, 4.0]
    idx = t[[1, 0]]  # a host list index goes to the device first
    assert idx.numpy().tolist() == [2.0, 1.0]


def test_linear_sgd_on_gpu_matches_cpu(gpu: str) -> None:
    got = train_linear(gpu)
    _close_runs(got, train_linear("cpu0"))
    assert got["losses"][-1] < got["losses"][0] / 4


@pytest.mark.parametrize("optimizer", available_optimizers())
def test_mlp_on_gpu_matches_cpu(optimizer: str, gpu: str) -> None:
    got = train_mlp(gpu, optimizer)
    _close_runs(got, train_mlp("cpu0", optimizer))
    assert got["losses"][-1] < got["losses"][0]


def test_cnn_module_on_gpu_matches_cpu(gpu: str) -> None:
    M = pytest.importorskip("engine.module")  # noqa: N806 - MegEngine's alias
    from engine.optimizer import SGD

    def run(device: str) -> tuple[list[float], np.ndarray]:
        mge.random.seed(3)
        with default_device(device):
            model = M.Sequential(
                M.Conv2d(1, 8, 3, padding=1, bias=False),  # no bias before BN: its grad is ~0
                M.BatchNorm2d(8),
                M.ReLU(),
                M.MaxPool2d(2),
                M.Conv2d(8, 8, 3, stride=2, padding=1),
                M.AvgPool2d(2),
                M.Flatten(),
                M.Linear(8, 3),
            )
        opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
        gm = GradManager().attach(model.parameters())
        rng = np.random.default_rng(0)
        x = rng.normal(size=(16, 1, 8, 8)).astype(np.float32)
        y = rng.integers(0, 3, 16).astype(np.int32)
        losses = []
        for _ in range(5):
            with gm:
                loss = F.nn.cross_entropy(
                    model(mge.tensor(x, device=device)), mge.tensor(y, device=device)
                )
                gm.backward(loss)
            opt.step().clear_grad()
            losses.append(loss.item())
        model.eval()
        return losses, model(mge.tensor(x, device=device)).numpy()

    got_losses, got_out = run(gpu)
    want_losses, want_out = run("cpu0")
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-3)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-3, atol=1e-4)
