"""mgectl verify-gradients --order 2: the second-order column, its summary, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import engine  # noqa: F401  (fills the registry)
import engine.functional.distributed  # noqa: F401  (registers the collectives, loaded lazily)
from engine.core.op import REGISTRY, defsamples, defvjp, primitive
from engine.ops import samples as S
from mgectl.commands import verify_gradients as vg
from mgectl.errors import UserError


def run(op=(), order=2, json_out=None):
    """Call the command's function with the CLI defaults."""
    return vg.verify_gradients(
        None, list(op), None, None, None, 0, "float64", json_out, order=order
    )


@pytest.fixture
def frozen_cube():
    """x**3 whose VJP is right at first order but cuts the graph (round has no gradient)."""
    prim = primitive("zz_frozen_cube")(lambda xp, x: x**3)

    @defvjp(prim)
    def _(node, g):
        frozen = node.xp.round(node.inputs[0] * 1e9) / 1e9
        return (3 * g * frozen * frozen,)

    defsamples(prim)(S.unary)
    yield prim.name
    REGISTRY.pop(prim.name)


@pytest.fixture
def app():
    application = typer.Typer()
    vg.register(application)

    @application.callback()
    def _main() -> None:
        """Test app."""

    return application


def test_order_two_adds_a_column_and_counts_first_order_only(tmp_path, capsys):
    report = tmp_path / "g.json"
    assert run(op=["tanh", "matmul", "broadcast"], json_out=report) == 0
    out = capsys.readouterr().out
    assert "2nd order" in out and "first-order only" in out
    assert "3 primitives checked: 3 passed, 0 failed" in out
    assert "second order: 2 primitives checked: 2 passed, 0 failed, 0 unchecked; " in out
    assert "1 first-order only (broadcast)" in out
    data = json.loads(report.read_text())
    assert data["order"] == 2 and data["passed"] is True
    assert data["summary"]["second_order"] == {
        "checked": 2,
        "passed": 2,
        "failed": [],
        "unchecked": [],
        "first_order_only": ["broadcast"],
    }
    ops = {o["op"]: o for o in data["ops"]}
    assert ops["broadcast"]["second_order"]["status"] == "first-order only"
    matmul = ops["matmul"]["second_order"]
    assert matmul["status"] == "pass"
    assert [r["input"] for r in matmul["inputs"]] == ["a", "b", "dy"]
    assert all(r["max_abs_error"] < 1e-7 for r in matmul["inputs"])


def test_order_one_has_no_second_order_column(capsys):
    assert run(op=["tanh"], order=1) == 0
    out = capsys.readouterr().out
    assert "2nd order" not in out and "second order" not in out


def test_a_second_order_mistake_fails_the_run_and_is_named(frozen_cube, tmp_path, capsys):
    assert run(op=["zz_*"], order=1) == 0  # first order cannot see it
    report = tmp_path / "g.json"
    assert run(op=["zz_*"], json_out=report) == 1
    out = capsys.readouterr().out
    assert "second order: 1 primitives checked: 0 passed, 1 failed" in out
    data = json.loads(report.read_text())
    assert data["passed"] is False
    assert data["summary"]["failed"] == []  # first order is fine
    assert data["summary"]["second_order"]["failed"] == ["zz_frozen_cube"]
    (entry,) = data["ops"]
    x_row, dy_row = entry["second_order"]["inputs"]
    assert (x_row["input"], x_row["passed"], dy_row["passed"]) == ("x", False, True)


def test_order_is_validated():
    with pytest.raises(UserError, match="--order must be 1 or 2, got 3"):
        run(order=3)
    with pytest.raises(UserError, match="--order 2 checks primitives"):
        vg.verify_gradients(Path("exp.yaml"), [], None, None, None, 0, "float64", None, order=2)


def test_cli_exit_codes(app, frozen_cube):
    runner = CliRunner()
    ok = runner.invoke(app, ["verify-gradients", "--order", "2", "--op", "exp", "--op", "sum"])
    assert ok.exit_code == 0, ok.output
    assert "second order: 2 primitives checked: 2 passed" in ok.output
    bad = runner.invoke(app, ["verify-gradients", "--order", "2", "--op", "zz_*"])
    assert bad.exit_code == 1
    assert runner.invoke(app, ["verify-gradients", "--order", "3"]).exit_code == 2
    assert runner.invoke(app, ["verify-gradients", "--order", "two"]).exit_code == 2
