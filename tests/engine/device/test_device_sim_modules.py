"""Modules (Linear, Conv2d, BatchNorm, Dropout, pooling) train on sim0 exactly as on cpu0."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import engine
import engine.functional as F
from engine.autodiff import GradManager
from engine.core.device import default_device
from engine.testing import simulated

M = pytest.importorskip("engine.module")
optim = pytest.importorskip("engine.optimizer")

simulated.install()


def _mlp() -> Any:
    return M.Sequential(
        M.Linear(4, 16), M.BatchNorm1d(16), M.ReLU(), M.Dropout(0.2), M.Linear(16, 3)
    )


def _cnn() -> Any:
    return M.Sequential(
        M.Conv2d(1, 4, 3, padding=1),
        M.BatchNorm2d(4),
        M.ReLU(),
        M.MaxPool2d(2),
        M.Conv2d(4, 4, 3, stride=2, padding=1),
        M.AvgPool2d(2),
        M.Flatten(),
        M.Linear(4, 3),
    )


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    shape = (16, 4) if kind == "mlp" else (8, 1, 8, 8)
    return rng.normal(size=shape).astype(np.float32), rng.integers(0, 3, shape[0]).astype("int32")


def _train(kind: str, device: str, steps: int = 4) -> tuple[list[float], dict]:
    engine.random.seed(11)
    with default_device(device):
        model = _mlp() if kind == "mlp" else _cnn()
    opt = optim.Adam(model.parameters(), lr=0.01)
    gm = GradManager().attach(model.parameters())
    x, y = _data(kind)
    losses = []
    for _ in range(steps):
        xb, yb = engine.tensor(x, device=device), engine.tensor(y, device=device)
        model.train()
        with simulated.no_host_transfers():
            with gm:
                loss = F.nn.cross_entropy(model(xb), yb)
                gm.backward(loss)
            opt.step().clear_grad()
        losses.append(loss.item())
    model.eval()
    with simulated.no_host_transfers():
        out = model(engine.tensor(x, device=device))
    assert out.device == device
    return losses, {**model.state_dict(), "eval_out": out.numpy()}


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_module_training_on_sim_matches_cpu(kind: str, sim_device) -> None:
    got_losses, got_state = _train(kind, "sim0")
    want_losses, want_state = _train(kind, "cpu0")
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-5)
    assert got_state.keys() == want_state.keys()
    for key in want_state:
        np.testing.assert_allclose(got_state[key], want_state[key], rtol=1e-5, atol=1e-6)
