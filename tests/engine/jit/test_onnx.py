"""engine.onnx.export: models through ONNX Runtime, dynamic batch, unsupported ops named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.module as M
from engine.jit import trace
from engine.onnx import export

ort = pytest.importorskip("onnxruntime")


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_cnn_with_batch_norm_in_eval_mode(tmp_path: Path) -> None:
    mge.random.seed(0)
    net = M.Sequential(
        M.Conv2d(1, 4, 3, padding=1), M.BatchNorm2d(4), M.ReLU(), M.MaxPool2d(2),
        M.Conv2d(4, 8, 3), M.SiLU(), M.AvgPool2d(2), M.Flatten(), M.Linear(72, 6),
        M.Dropout(0.3),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    for _ in range(3):  # running statistics that are not the initial 0 and 1
        net(mge.tensor(rng.normal(size=(4, 1, 16, 16)).astype("float32")))
    x = rng.normal(size=(4, 1, 16, 16)).astype("float32")
    export(net, mge.tensor(x), tmp_path / "cnn.onnx")
    assert net.training, "export restores training mode"
    net.eval()
    for batch in (x, rng.normal(size=(3, 1, 16, 16)).astype("float32")):
        expected = net(mge.tensor(batch)).numpy()
        np.testing.assert_allclose(_run(tmp_path / "cnn.onnx", batch), expected, atol=1e-5)


def test_a_traced_function_with_softmax_and_gelu(tmp_path: Path) -> None:
    mge.random.seed(1)
    net = M.Sequential(M.Linear(5, 16), M.GELU(), M.Linear(16, 3))
    f = trace(lambda x: F.softmax(net(x), axis=1))
    x = np.random.default_rng(1).normal(size=(8, 5)).astype("float32")
    export(f, mge.tensor(x), tmp_path / "mlp.onnx")
    np.testing.assert_allclose(_run(tmp_path / "mlp.onnx", x), f(mge.tensor(x)).numpy(), atol=1e-6)


def test_an_operator_without_onnx_counterpart_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="operator 'cumsum'"):
        export(lambda x: F.cumsum(x, axis=1) * 2, mge.tensor(np.ones((2, 3), "float32")),
               tmp_path / "x.onnx")  # fmt: skip
