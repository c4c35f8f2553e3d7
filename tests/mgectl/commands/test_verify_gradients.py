"""mgectl verify-gradients: exit codes, --op globs, --dtype, --json content."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

import engine  # noqa: F401  (fills the registry)
from engine.core.op import REGISTRY, defsamples, defvjp, primitive
from engine.ops.samples import binary
from mgectl.commands import verify_gradients as vg
from mgectl.errors import UserError


def run(*, op=(), eps=None, atol=None, rtol=None, seed=0, dtype="float64", json_out=None):
    """Call the command's function with the CLI defaults."""
    return vg.verify_gradients(None, list(op), eps, atol, rtol, seed, dtype, json_out)


@pytest.fixture
def wrong_vjp_op():
    """A copy of mul whose d/dx is off by a factor 2, registered only for one test."""
    prim = primitive("zz_wrong_mul")(lambda xp, x, y: x * y)

    @defvjp(prim)
    def _(node, g):
        x, y = node.inputs
        return 2 * g * y, g * x

    defsamples(prim)(binary)
    yield prim.name
    REGISTRY.pop(prim.name)


@pytest.fixture
def app():
    """A tiny Typer app with just this verb, as the lead wires it into mgectl.cli."""
    application = typer.Typer()
    vg.register(application)

    @application.callback()
    def _main() -> None:
        """Test app."""

    return application


def test_full_run_passes_and_prints_a_summary(capsys):
    assert run() == 0
    out = capsys.readouterr().out
    differentiable = sum(p.differentiable for p in REGISTRY.values())
    assert f"{differentiable} primitives checked: {differentiable} passed, 0 failed" in out
    for name in ("matmul", "softmax_cross_entropy", "getitem"):
        assert name in out


def test_wrong_vjp_fails_the_run_and_is_named(wrong_vjp_op, tmp_path, capsys):
    report = tmp_path / "g.json"
    assert run(json_out=report) == 1
    out = capsys.readouterr().out
    assert "zz_wrong_mul" in out and "FAIL" in out
    data = json.loads(report.read_text())
    assert data["passed"] is False
    assert data["summary"]["failed"] == ["zz_wrong_mul"]
    (entry,) = [o for o in data["ops"] if o["op"] == "zz_wrong_mul"]
    x_row, y_row = entry["inputs"]
    assert (x_row["input"], x_row["passed"], y_row["passed"]) == ("x", False, True)
    assert x_row["analytic"] == pytest.approx(2 * x_row["numeric"], rel=1e-6)
    assert x_row["max_rel_error"] == pytest.approx(0.5, rel=1e-6)


def test_op_without_samples_is_unchecked_and_fails(capsys):
    prim = primitive("zz_no_samples")(lambda xp, x: -x)
    defvjp(prim)(lambda node, g: (-g,))
    try:
        assert run(op=["zz_*"]) == 1
    finally:
        REGISTRY.pop(prim.name)
    out = capsys.readouterr().out
    assert "unchecked" in out
    assert "1 primitives checked: 0 passed, 0 failed, 1 unchecked" in out


def test_op_globs_select_primitives(tmp_path):
    report = tmp_path / "g.json"
    assert run(op=["soft*", "matmul"], json_out=report) == 0
    data = json.loads(report.read_text())
    names = [o["op"] for o in data["ops"]]
    assert names == sorted(names, key=list(REGISTRY).index)
    assert set(names) == {"softmax", "softplus", "softmax_cross_entropy", "matmul"}
    assert all(o["status"] == "pass" and o["cases"] >= 1 for o in data["ops"])


def test_op_glob_with_only_non_differentiable_primitives(tmp_path):
    report = tmp_path / "g.json"
    assert run(op=["arg*"], json_out=report) == 0
    data = json.loads(report.read_text())
    assert data["ops"] == []
    assert sorted(data["summary"]["not_differentiable"]) == ["argmax", "argmin", "argsort"]


def test_unknown_op_is_a_user_error():
    with pytest.raises(UserError, match="'nope' matches no primitive"):
        run(op=["nope"])


def test_json_report_content(tmp_path):
    report = tmp_path / "g.json"
    assert run(op=["add"], seed=5, json_out=report) == 0
    data = json.loads(report.read_text())
    assert {k: data[k] for k in ("passed", "dtype", "eps", "atol", "rtol", "seed")} == {
        "passed": True,
        "dtype": "float64",
        "eps": 1e-6,
        "atol": 1e-5,
        "rtol": 1e-4,
        "seed": 5,
    }
    (add,) = data["ops"]
    assert add["op"] == "add" and add["status"] == "pass" and add["cases"] == 5
    assert [r["input"] for r in add["inputs"]] == ["x", "y"]
    for row in add["inputs"]:
        assert row["max_abs_error"] < 1e-8
        assert row["analytic"] == pytest.approx(row["numeric"], abs=1e-8)
        assert isinstance(row["worst_index"], list)


def test_seeds_are_reproducible(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run(op=["tanh"], seed=3, json_out=a)
    run(op=["tanh"], seed=3, json_out=b)
    strip = lambda p: [  # noqa: E731
        {k: v for k, v in o.items() if k != "seconds"} for o in json.loads(p.read_text())["ops"]
    ]
    assert strip(a) == strip(b)


def test_float32_warns_and_loosens_tolerances(tmp_path, capsys):
    report = tmp_path / "g.json"
    assert run(dtype="float32", json_out=report) == 0
    assert "float64 is the trustworthy check" in capsys.readouterr().err
    data = json.loads(report.read_text())
    assert (data["eps"], data["atol"], data["rtol"]) == (1e-3, 1e-2, 1e-2)


def test_tight_tolerance_fails():
    assert run(op=["exp"], atol=0.0, rtol=1e-14) == 1


def test_config_cannot_take_op_and_config_options_need_config(tmp_path):
    with pytest.raises(UserError, match="cannot be combined with CONFIG"):
        vg.verify_gradients(tmp_path / "x.yaml", ["add"], None, None, None, 0, "float64", None)
    with pytest.raises(UserError, match="--set, --batch need CONFIG"):
        vg.verify_gradients(
            None, [], None, None, None, 0, "float64", None, overrides=["seed=1"], batch=4
        )


def test_cli_exit_codes(app, wrong_vjp_op, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["verify-gradients", "--op", "mul", "--op", "s*"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["verify-gradients", "--op", "zz_*", "--json", str(tmp_path / "r")])
    assert bad.exit_code == 1
    assert json.loads((tmp_path / "r").read_text())["summary"]["failed"] == ["zz_wrong_mul"]
    wrong = runner.invoke(app, ["verify-gradients", "--dtype", "float16"])
    assert wrong.exit_code == 2
