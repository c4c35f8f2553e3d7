"""mgectl export: ONNX Runtime reproduces the shipped configs' models; the engine format too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mgectl_support import REPO
from trainer_support import run

import engine as mge
from engine.jit import load
from mgectl.tools.predict import load_model, model_inputs
from mgectl.train.checkpoint import load_checkpoint
from mgectl.train.rundir import find_checkpoint

ort = pytest.importorskip("onnxruntime")

SHORT = {  # one or two epochs: the weights only have to be trained ones
    "moons_mlp.yaml": ["train.epochs=1", "data.n=200"],
    "iris_softmax.yaml": ["train.epochs=2"],
    "images_cnn.yaml": ["train.epochs=1", "data.n=120", "optimizer.scheduler=null"],
    "shapes_sequential.yaml": ["train.epochs=1", "data.n=120"],  # batch norm, in eval mode
}


def _model_and_inputs(run_dir: Path, rows: int) -> tuple[object, np.ndarray]:
    saved = load_checkpoint(find_checkpoint(run_dir, ("best", "last")))
    meta = saved["data"]
    width = int(np.prod(meta["sample_shape"]))
    x = np.random.default_rng(0).normal(size=(rows, width)).astype(np.float32)
    return load_model(saved), model_inputs(x, meta)


@pytest.mark.parametrize("name", sorted(SHORT))
def test_onnx_runtime_reproduces_the_engine(name: str, tmp_path: Path, cli: Callable) -> None:
    run_dir = run(REPO / "configs" / name, *SHORT[name], out=tmp_path / "runs").run_dir
    result = cli("export", str(run_dir), "--out", str(tmp_path / "m.onnx"))
    assert result.exit_code == 0, result.output
    model, x = _model_and_inputs(run_dir, 7)  # another batch size than the traced one
    expected = model(mge.tensor(x)).numpy()
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_engine_format_loads_without_mgectl_or_the_model(tmp_path: Path, cli: Callable) -> None:
    name = "images_cnn.yaml"
    run_dir = run(REPO / "configs" / name, *SHORT[name], out=tmp_path / "runs").run_dir
    out = tmp_path / "cnn.mge"
    args = ("export", str(run_dir), "--format", "engine", "--batch", "5", "--out", str(out))
    assert cli(*args).exit_code == 0
    model, x = _model_and_inputs(run_dir, 5)
    np.testing.assert_allclose(
        load(out)(mge.tensor(x)).numpy(), model(mge.tensor(x)).numpy(), rtol=1e-6, atol=1e-6
    )


def test_exporting_a_missing_run_is_a_user_error(tmp_path: Path, cli: Callable) -> None:
    result = cli("export", str(tmp_path / "nothing"))
    assert result.exit_code == 2
