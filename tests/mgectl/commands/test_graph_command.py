"""mgectl graph: the tutorial's figure as DOT, a PNG without Graphviz, text, bad suffixes."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import REPO

LINEAR = str(REPO / "configs" / "linear_regression.yaml")


def _nodes(dot: str) -> dict[str, str]:
    """DOT node id -> the first line of its label."""
    return dict(re.findall(r'^\s+(\w+) \[label="([^"\\]+)', dot, re.M))


def test_linear_regression_graph_is_the_tutorial_figure(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "step.dot"
    result = cli("graph", LINEAR, "--out", str(out))
    assert result.exit_code == 0, result.output
    dot = out.read_text()
    nodes = _nodes(dot)
    # y = w * x + b and the loss: data nodes x, w, b (+ the label), operators mul, add, loss
    assert sorted(nodes.values()) == sorted(
        ["x", "w", "b", "label", "mul", "t0", "add", "pred", "square_loss", "loss"]
    )
    ids = {label: node for node, label in nodes.items()}
    edges = set(re.findall(r"^\s+(\w+) -> (\w+);", dot, re.M))
    assert {(ids["w"], ids["mul"]), (ids["x"], ids["mul"]), (ids["mul"], ids["t0"])} <= edges
    assert {(ids["t0"], ids["add"]), (ids["b"], ids["add"]), (ids["add"], ids["pred"])} <= edges
    assert {(ids["pred"], ids["square_loss"]), (ids["square_loss"], ids["loss"])} <= edges
    assert re.search(r'label="w\\n\(1,\) float32\\nparameter"', dot)
    assert re.search(r'label="b\\n\(1,\) float32\\nparameter"', dot)
    assert "vjp" not in dot


def test_backward_adds_the_gradient_edges(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "step.dot"
    assert cli("graph", LINEAR, "--backward", "--out", str(out)).exit_code == 0
    nodes = _nodes(out.read_text())
    labels = sorted(nodes.values())
    for name in ("square_loss vjp", "add vjp", "mul vjp", "w.grad", "b.grad", "dloss/dpred"):
        assert name in labels
    assert out.read_text().count("style=dashed]") == 8  # root, 3 VJPs in, 4 gradients out


def test_a_png_is_drawn_without_graphviz(
    cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "step.png"
    result = cli("graph", LINEAR, "--backward", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "(matplotlib)" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_without_out_the_graph_is_printed_as_text(cli: Callable) -> None:
    result = cli("graph", LINEAR)
    assert result.exit_code == 0
    assert "t0:f32[100] = mul w x" in result.output
    assert "loss:f32[] = square_loss[reduction='mean'] pred label" in result.output


def test_an_unknown_picture_format_is_a_user_error(cli: Callable, tmp_path: Path) -> None:
    result = cli("graph", LINEAR, "--out", str(tmp_path / "step.pdf"))
    assert result.exit_code == 2
    assert "unknown picture format '.pdf'" in result.output
