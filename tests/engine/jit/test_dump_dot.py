"""trace.dump / jit.load round trips, and the DOT text of a traced graph."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.module as M
from engine.autodiff import GradManager
from engine.jit import load, trace


def _cnn() -> M.Module:
    mge.random.seed(0)
    net = M.Sequential(
        M.Conv2d(1, 4, 3),
        M.BatchNorm2d(4),
        M.ReLU(),
        M.MaxPool2d(2),
        M.Flatten(),
        M.Linear(4 * 4 * 4, 3),
    )
    bn = net[1]
    bn.running_mean = mge.tensor(np.linspace(-0.5, 0.5, 4).reshape(1, 4, 1, 1).astype("float32"))
    bn.running_var = mge.tensor(np.linspace(0.5, 2.0, 4).reshape(1, 4, 1, 1).astype("float32"))
    net.eval()
    return net


def test_dump_and_load_runs_without_the_python_function(tmp_path: Path) -> None:
    net = _cnn()
    x = mge.tensor(np.random.default_rng(0).normal(size=(2, 1, 10, 10)).astype("float32"))
    expected = F.softmax(net(x), axis=1).numpy()

    @trace(capture_as_const=True)
    def infer(x):  # noqa: ANN001, ANN202
        return F.softmax(net(x), axis=1)

    infer(x)
    infer.dump(tmp_path / "cnn.mge")
    del infer
    graph = load(tmp_path / "cnn.mge")
    np.testing.assert_allclose(graph(x).numpy(), expected, rtol=1e-6, atol=1e-7)
    other = np.random.default_rng(1).normal(size=(2, 1, 10, 10)).astype("float32")
    assert graph(other).shape == (2, 3)
    assert [op.prim.name for op in graph.graph.applies()][0] == "conv2d"


def test_dump_needs_captured_weights_and_a_safe_file(tmp_path: Path) -> None:
    w = mge.Parameter([2.0])
    f = trace(lambda x: x * w)
    f(mge.tensor([1.0]))
    with pytest.raises(ValueError, match="capture_as_const=True"):
        f.dump(tmp_path / "g.mge")
    g = trace(lambda x: x * w, capture_as_const=True)
    g(mge.tensor([1.0]))
    g.dump(tmp_path / "g.mge")
    w._data[...] = 5.0  # captured: the dumped graph keeps the value at trace time
    assert load(tmp_path / "g.mge")(mge.tensor([3.0])).numpy().tolist() == [6.0]
    mge.save({"x": 1}, tmp_path / "ckpt.npz")
    with pytest.raises(ValueError, match="not a graph"):
        load(tmp_path / "ckpt.npz")


def test_dump_refuses_training_mode_host_work(tmp_path: Path) -> None:
    bn = M.BatchNorm1d(3)
    f = trace(bn, capture_as_const=True)
    f(mge.tensor(np.ones((4, 3), dtype="float32")))
    with pytest.raises(ValueError, match=r"model\.eval\(\)"):
        f.dump(tmp_path / "bn.mge")


def test_dump_refuses_an_index_the_graph_takes_as_input(tmp_path: Path) -> None:
    f = trace(lambda x, rows: x[rows], capture_as_const=True)
    f(mge.tensor([1.0, 2.0, 3.0]), mge.tensor([2, 0]))
    with pytest.raises(ValueError, match="getitem is indexed with a tensor"):
        f.dump(tmp_path / "g.mge")


def test_tutorial_graph_dot_has_exactly_its_nodes() -> None:
    w, b = mge.Parameter([3.0]), mge.Parameter(-1.0)
    gm = GradManager().attach([w, b])

    @trace
    def step(x, label):  # noqa: ANN001, ANN202
        with gm:
            y = F.mul(w, x) + b
            loss = F.loss.square_loss(y, label)
            gm.backward(loss)
        return {"loss": loss, "y": y}

    step(mge.tensor([2.0]), mge.tensor([4.0]))
    dot = step.graph.to_dot()
    labels = re.findall(r'label="([^"\\]+)', dot)
    assert sorted(labels) == sorted(
        ["x", "label", "w", "b", "t0", "y", "loss", "mul", "add", "square_loss"]
    )
    assert dot.count("parameter") == 2 and "vjp" not in dot
    back = step.graph.to_dot(backward=True)
    assert "mul vjp" in back and "w.grad" in back and "b.grad" in back
