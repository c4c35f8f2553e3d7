"""The mgectl sweep verb: the sweep: section and --param grammar, output, exit codes."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from mgectl_support import REPO
from typer.testing import Result

from mgectl.config.experiment import load_config
from mgectl.config.sweep import parse_distribution
from mgectl.errors import ConfigError

pytest.importorskip("optuna")
TUTORIAL = REPO / "configs" / "linear_regression.yaml"
SWEEP_CONFIG = REPO / "configs" / "linear_regression_sweep.yaml"


def test_the_shipped_sweep_config_validates() -> None:
    cfg = load_config(SWEEP_CONFIG)
    assert cfg.sweep is not None
    assert [s.kind for s in cfg.sweep.specs()] == ["loguniform", "int"]
    assert "sweep" not in yaml.safe_load(Path(SWEEP_CONFIG).read_text())["train"]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("loguniform(1e-4,1e-1)", "loguniform", (1e-4, 1e-1)),
        ("uniform(0, 0.5)", "uniform", (0.0, 0.5)),
        ("int(5,50)", "int", (5, 50)),
        ("choice([32],[64,64])", "choice", ([32], [64, 64])),
        ("choice(1e-3, 0.01, full)", "choice", (0.001, 0.01, "full")),
    ],
)
def test_parameter_grammar(text: str, kind: str, expected: tuple) -> None:
    spec = parse_distribution("k", text)
    assert spec.kind == kind
    assert tuple(spec.extremes()) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lognormal(1,2)", "is not a distribution"),
        ("uniform(2,1)", "needs a < b (got 2, 1)"),
        ("loguniform(0,1)", "needs a > 0 (got 0)"),
        ("int(1.5,3)", "bounds must be integers (got 1.5)"),
        ("uniform(1)", "takes two bounds (got 1)"),
        ("choice()", "needs at least one value"),
    ],
)
def test_parameter_grammar_errors(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_distribution("k", text)


def test_sweep_section_problems_are_reported_at_once(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        data: {generator: linear, n: 50}
        model: {type: linear}
        sweep:
          params:
            optimizer.lrr: loguniform(1e-3, 1e-1)
            model.hidden: choice([32])
            train.epochs: int(0, 5)
            optimizer.scheduler.gamma: uniform(0.1, 0.5)
          sampler: grid
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = [line.split(": ", 1)[1] for line in caught.value.problems]
    assert lines == [
        "sweep.params.optimizer.lrr: 'lrr' is not a key of optimizer; did you mean 'lr'?",
        "sweep.params.model.hidden: 'hidden' is not a key of model; model has type, init_w, init_b",
        "sweep.params.train.epochs: 0 gives an invalid config: train.epochs: must be >= 1 (got 0)",
        "sweep.params.optimizer.scheduler.gamma: a grid needs choice(...) or int(a,b), not "
        "uniform; e.g. optimizer.scheduler.gamma=choice(0.1, 0.5)",
    ]


def test_sweep_section_has_no_unknown_keys(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        data: {generator: linear, n: 50}
        model: {type: linear}
        sweep:
          params: {optimizer.lr: "uniform(0.1, 1)"}
          trails: 3
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [line.split(": ", 1)[1] for line in caught.value.problems] == [
        "sweep: unknown key 'trails'; did you mean 'trials'?"
    ]


def test_sweep_prints_trials_and_the_command_that_reproduces_the_best(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(
        "sweep",
        str(TUTORIAL),
        "--param",
        "optimizer.lr=choice(0.01, 0.02, 1.0)",
        "--sampler",
        "grid",
        "--set",
        "train.epochs=40",
        "-o",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    states = {line.split(":")[0]: line for line in lines if line.startswith("trial ")}
    assert len(states) == 3
    diverged = [line for line in states.values() if "optimizer.lr=1," in line]
    assert diverged and " diverged:" in diverged[0]  # lr 1 blows the loss up to inf
    assert "3 trials (2 completed, 1 diverged)" in result.output
    command = lines[lines.index("train the best trial again:") + 1].strip()
    assert shlex.split(command)[:3] == ["mgectl", "train", str(TUTORIAL)]
    assert "optimizer.lr=0.02" in command and "train.epochs=40" in command
    (sweep_dir,) = (tmp_path / "sweeps" / "linear_regression").iterdir()
    names = {p.name for p in (sweep_dir / "plots").iterdir()}
    assert names == {"history.png", "importances.png", "slice-optimizer.lr.png"}
    for png in (sweep_dir / "plots").iterdir():
        assert png.read_bytes().startswith(b"\x89PNG")


def test_sweep_without_optuna_names_the_extra(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    result = cli("sweep", str(SWEEP_CONFIG))
    assert result.exit_code == 2
    assert "needs Optuna" in result.output
    assert 'pip install "mgectl[sweep]"' in result.output


def test_sweep_user_mistakes_exit_2(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("sweep", str(TUTORIAL), "--param", "optimizer.lr", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "write KEY=DISTRIBUTION" in result.output
    result = cli("sweep", str(TUTORIAL), "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "nothing to search" in result.output
    result = cli("sweep", "--resume", str(tmp_path))
    assert result.exit_code == 2
    assert "not a sweep directory" in result.output
