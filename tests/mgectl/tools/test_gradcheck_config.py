"""mgectl verify-gradients CONFIG: every shipped config passes, a wrong VJP fails by name, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mgectl_support import CONFIGS

import engine  # noqa: F401  (fills the registry)
from engine.core.op import REGISTRY
from mgectl.config.experiment import load_config
from mgectl.tools.gradcheck import check_config, sample_batch

# config stem -> --set overrides that keep the check fast (the model is unchanged)
FAST = {"images_cnn": ["data.n=120"]}
MOONS = next(p for p in CONFIGS if p.stem == "moons_mlp")
LINEAR = next(p for p in CONFIGS if p.stem == "linear_regression")


@pytest.fixture
def linear_weight_grad_off(monkeypatch):
    """The `linear` primitive's weight gradient scaled by 1.5 (test-only; monkeypatch undoes it)."""
    prim = REGISTRY["linear"]
    original = prim.vjp

    def off_by_half(node, g):
        grads = list(original(node, g))
        if len(grads) > 1 and grads[1] is not None:
            grads[1] = grads[1] * 1.5
        return tuple(grads)

    monkeypatch.setattr(prim, "vjp", off_by_half)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_passes(path):
    result = check_config(load_config(path, FAST.get(path.stem, [])))
    assert result.passed, [p for p in result.parameters if not p.passed]
    assert result.dtype == "float64" and result.rows == 8
    assert result.parameters, "no parameters were checked"
    for row in result.parameters:
        assert row.entries == min(row.size, 32)
        assert row.max_abs < 1e-6
    assert np.isfinite(result.loss)


@pytest.mark.parametrize(
    "overrides",
    [
        ["loss.type=binary_cross_entropy"],
        ["loss.type=hinge"],
        ["model.activation=gelu", "model.batch_norm=true"],
        ["model.activation=silu"],
        ["model.activation=sigmoid"],
        ["model.activation=leaky_relu"],
    ],
    ids=lambda o: ",".join(o),
)
def test_losses_and_activations_pass(overrides):
    assert check_config(load_config(MOONS, ["data.n=200", *overrides])).passed


def test_l1_regression_passes():
    path = next(p for p in CONFIGS if p.stem == "mlp_regression")
    assert check_config(load_config(path, ["loss.type=l1", "data.n=100"])).passed


def test_dropout_is_put_in_eval_mode(cli, tmp_path):
    report = tmp_path / "d.json"
    cfg = load_config(MOONS, ["model.dropout=0.5", "model.batch_norm=true"])
    assert check_config(cfg).dropout_layers == 2
    result = cli(
        "verify-gradients", str(MOONS), "--set", "model.dropout=0.5", "--json", str(report)
    )
    assert result.exit_code == 0, result.output
    assert "2 Dropout layer(s) in eval mode" in result.output
    assert json.loads(report.read_text())["dropout_layers_in_eval_mode"] == 2


def test_wrong_vjp_fails_and_names_the_parameters(linear_weight_grad_off, cli, tmp_path):
    result = check_config(load_config(MOONS))
    assert not result.passed
    assert result.failed == ["0.weight", "2.weight", "4.weight"]  # the biases still match
    worst = next(p for p in result.parameters if p.name == "4.weight")
    assert worst.analytic == pytest.approx(1.5 * worst.numeric, rel=1e-4)

    report = tmp_path / "bad.json"
    run = cli("verify-gradients", str(MOONS), "--json", str(report))
    assert run.exit_code == 1
    assert "FAIL" in run.output
    assert "gradient mismatch in: 0.weight, 2.weight, 4.weight" in run.output
    assert "6 parameters checked" in run.output and "3 passed, 3 failed" in run.output
    data = json.loads(report.read_text())
    assert data["passed"] is False and data["summary"]["failed"] == result.failed


def test_json_report_content(cli, tmp_path):
    report = tmp_path / "g.json"
    run = cli(
        "verify-gradients", str(MOONS), "--seed", "2", "--entries", "5", "--json", str(report)
    )
    assert run.exit_code == 0, run.output
    data = json.loads(report.read_text())
    assert {k: data[k] for k in ("passed", "dtype", "eps", "atol", "rtol", "seed", "batch")} == {
        "passed": True,
        "dtype": "float64",
        "eps": 1e-6,
        "atol": 1e-5,
        "rtol": 1e-4,
        "seed": 2,
        "batch": 8,
    }
    assert data["config"] == str(MOONS) and data["max_entries"] == 5
    assert data["model"].startswith("mlp: Linear(2->32)")
    assert data["loss"]["type"] == "cross_entropy" and data["loss"]["value"] > 0
    rows = data["parameters"]
    assert [r["parameter"] for r in rows] == [
        "0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"
    ]  # fmt: skip
    assert data["summary"] == {
        "checked": 6,
        "passed": 6,
        "failed": [],
        "entries": sum(r["entries"] for r in rows),
        "kinks": 0,
    }
    first = rows[1]
    assert first["shape"] == [32, 2] and first["size"] == 64 and first["entries"] == 5
    assert first["passed"] is True and first["max_abs_error"] < 1e-8
    assert len(first["worst_index"]) == 2
    assert first["analytic"] == pytest.approx(first["numeric"], abs=1e-8)


def test_exit_codes_and_options(cli, tmp_path):
    ok = cli("verify-gradients", str(LINEAR), "--batch", "16", "--set", "data.n=50")
    assert ok.exit_code == 0, ok.output
    assert "16 training rows" in ok.output and "2 parameters checked" in ok.output
    assert "Gradient check of" in ok.output
    tight = cli("verify-gradients", str(LINEAR), "--atol", "0", "--rtol", "1e-14")
    assert tight.exit_code == 1
    assert cli("verify-gradients", str(tmp_path / "missing.yaml")).exit_code == 2
    bad_key = cli("verify-gradients", str(LINEAR), "--set", "model.nope=1")
    assert bad_key.exit_code == 2
    with_op = cli("verify-gradients", str(LINEAR), "--op", "add")
    assert with_op.exit_code == 2 and "cannot be combined with CONFIG" in with_op.output
    no_config = cli("verify-gradients", "--entries", "4")
    assert no_config.exit_code == 2 and "--entries needs CONFIG" in no_config.output


def test_float32_check_runs_with_loosened_tolerances():
    result = check_config(load_config(LINEAR), dtype="float32")
    assert result.passed and (result.eps, result.atol, result.rtol) == (1e-3, 1e-2, 1e-2)


def test_same_seed_same_rows_other_seed_other_batch():
    cfg = load_config(MOONS, ["data.n=200"])
    strip = lambda r: [{**p.to_dict(), "seconds": 0} for p in r.parameters]  # noqa: E731
    a, b, c = (check_config(cfg, seed=s) for s in (1, 1, 2))
    assert strip(a) == strip(b)
    assert a.loss != c.loss


def test_full_primitive_registry_through_the_cli(cli):
    """CI runs the whole `mgectl verify-gradients` (every primitive) through mgectl.cli.app."""
    result = cli("verify-gradients")
    assert result.exit_code == 0, result.output
    n = sum(p.differentiable for p in REGISTRY.values())
    skipped = len(REGISTRY) - n
    assert (
        f"{n} primitives checked: {n} passed, 0 failed, 0 unchecked; "
        f"{skipped} without gradient skipped" in result.output
    )


# ---- the pieces ---------------------------------------------------------------------------


def test_sample_batch_is_seeded_and_casts_float_targets():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    xb, yb = sample_batch(x, np.arange(20, dtype=np.int32), 8, 0, "float64")
    assert xb.dtype == np.float64 and yb.dtype == np.int32 and len(xb) == 8
    assert np.array_equal(xb[:, 0] // 2, yb)  # rows and labels stay paired
    again, _ = sample_batch(x, np.arange(20, dtype=np.float32), 8, 0, "float64")
    assert np.array_equal(xb, again)
    _, yf = sample_batch(x, np.arange(20, dtype=np.float32), 30, 0, "float64")
    assert yf.dtype == np.float64 and len(yf) == 20  # at most every row
