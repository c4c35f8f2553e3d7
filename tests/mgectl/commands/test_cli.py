"""The CLI shell: version, help with examples, schema, train/predict call sites, error boundary."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from mgectl_support import MINIMAL, REPO

from mgectl import __version__
from mgectl.config.experiment import ExperimentConfig, load_config, resolved_dict
from mgectl.report import plots
from mgectl.report.console import ConsoleReporter

VERBS = ["validate", "train", "gen-data", "predict", "schema"]


def test_version(cli: Callable) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"mgectl {__version__}\n"
    assert __version__ == "0.1.0"


def test_main_help_lists_verbs_and_examples(cli: Callable) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for verb in VERBS:
        assert verb in result.stdout
    assert "Examples" in result.stdout
    assert "mgectl train configs/linear_regression.yaml" in result.stdout


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_help_has_copy_paste_examples(cli: Callable, verb: str) -> None:
    result = cli(verb, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout
    assert f"mgectl {verb}" in result.stdout


@pytest.mark.parametrize("verb", ["", *VERBS])
def test_help_shows_flags_as_flags(cli: Callable, verb: str) -> None:
    result = cli(*([verb] if verb else []), "--help")
    assert "<bool>" not in result.stdout  # --quiet, --debug, --help take no value
    assert "--help" in result.stdout


def test_quiet_is_a_flag_not_a_value(cli: Callable, tmp_path: Path) -> None:
    result = cli("train", "--quiet", "true")
    assert result.exit_code == 2  # "true" is read as the CONFIG argument, not as --quiet's value
    assert "true: no such file" in result.output


def test_no_arguments_shows_help(cli: Callable) -> None:
    result = cli()
    assert "Usage" in result.stdout + result.stderr


def test_schema_is_json_with_every_section(cli: Callable) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "ExperimentConfig"
    sections = {"name", "seed", "device", "data", "model", "loss", "optimizer", "train", "output"}
    sections.add("sweep")  # read by mgectl sweep, ignored by train
    assert set(schema["properties"]) == sections
    assert set(schema["required"]) == {"data", "model"}
    assert schema == ExperimentConfig.model_json_schema()


def test_schema_out_writes_the_file(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = cli("schema", "--out", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["title"] == "ExperimentConfig"
    assert result.stdout == ""


def test_validate_prints_ok_and_a_summary(cli: Callable, in_repo: Path) -> None:
    result = cli("validate", "configs/linear_regression.yaml")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "configs/linear_regression.yaml: ok",
        "  linear_regression: linear on linear data (n=100), regression, mse loss, sgd lr=0.01, "
        "5 epochs, full batch, device xpux",
    ]


def test_print_config_prints_the_resolved_yaml(cli: Callable, in_repo: Path) -> None:
    result = cli("train", "configs/moons_mlp.yaml", "--print-config")
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load(result.stdout) == resolved_dict(load_config("configs/moons_mlp.yaml"))
    assert result.stdout.startswith("name: moons_mlp\n")
    assert "  hidden: [32, 32]\n" in result.stdout


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], list[tuple]]:
    """Install a stand-in module NAME whose function FUNC records its calls."""

    def install(name: str, func: str) -> list[tuple]:
        calls: list[tuple] = []
        module = types.ModuleType(name)

        def record(*args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

        setattr(module, func, record)
        monkeypatch.setitem(sys.modules, name, module)
        return calls

    return install


def test_train_hands_the_config_to_the_trainer(
    cli: Callable, write_config: Callable, fake_module: Callable, tmp_path: Path
) -> None:
    calls = fake_module("mgectl.train.loop", "train")
    path = write_config(MINIMAL)
    result = cli(
        "train", str(path), "--device", "cpu0", "--output-dir", str(tmp_path / "run"), "-q"
    )
    assert result.exit_code == 0, result.stderr
    ((args, kwargs),) = calls
    (cfg,) = args
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.device == "cpu0"
    reporters = kwargs.pop("reporters")
    assert kwargs == {
        "config_path": path,
        "output_dir": tmp_path / "run",
        "resume": None,
        "painter": plots,
    }
    # the verb builds the console reporter (-q: quiet); train.log asks for no extra loggers
    (console,) = reporters
    assert isinstance(console, ConsoleReporter) and console.quiet


def test_train_resume_must_exist(cli: Callable, write_config: Callable, tmp_path: Path) -> None:
    result = cli("train", str(write_config(MINIMAL)), "--resume", str(tmp_path / "missing"))
    assert result.exit_code == 2


def test_train_with_a_bad_config_never_reaches_the_trainer(
    cli: Callable, write_config: Callable, fake_module: Callable
) -> None:
    calls = fake_module("mgectl.train.loop", "train")
    result = cli("train", str(write_config(MINIMAL + "seed: x\n")))
    assert result.exit_code == 2
    assert calls == []


def test_predict_hands_over_source_data_and_out(
    cli: Callable, fake_module: Callable, tmp_path: Path
) -> None:
    calls = fake_module("mgectl.tools.predict", "predict")
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    result = cli("predict", str(tmp_path), "--data", str(data), "--out", str(tmp_path / "p.csv"))
    assert result.exit_code == 0, result.stderr
    assert calls == [((tmp_path,), {"data": data, "out": tmp_path / "p.csv"})]


def _raising(exception: BaseException) -> Callable[..., None]:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise exception

    return fail


def test_unexpected_exception_is_one_line_and_exit_1(
    cli: Callable, write_config: Callable, fake_module: Callable
) -> None:
    fake_module("mgectl.train.loop", "train")
    sys.modules["mgectl.train.loop"].train = _raising(RuntimeError("boom\nsecond line"))
    result = cli("train", str(write_config(MINIMAL)))
    assert result.exit_code == 1
    assert result.stderr == (
        "internal error: RuntimeError: boom (run with --debug for the traceback)\n"
    )


def test_debug_re_raises(cli: Callable, write_config: Callable, fake_module: Callable) -> None:
    fake_module("mgectl.train.loop", "train")
    sys.modules["mgectl.train.loop"].train = _raising(RuntimeError("boom"))
    result = cli("--debug", "train", str(write_config(MINIMAL)))
    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code != 0


def test_debug_re_raises_user_errors_too(cli: Callable, tmp_path: Path) -> None:
    from mgectl.errors import ConfigError

    result = cli("--debug", "validate", str(tmp_path / "nope.yaml"))
    assert isinstance(result.exception, ConfigError)


def test_keyboard_interrupt_exits_130(
    cli: Callable, write_config: Callable, fake_module: Callable
) -> None:
    fake_module("mgectl.train.loop", "train")
    sys.modules["mgectl.train.loop"].train = _raising(KeyboardInterrupt())
    result = cli("train", str(write_config(MINIMAL)))
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )


HEAVY = ("numpy", "matplotlib", "engine")


def test_importing_the_cli_imports_no_numpy() -> None:
    code = f"import sys, mgectl.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    assert _run(code).stdout.strip() == "[]"


def test_help_of_every_verb_imports_no_numpy() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mgectl.cli import app\n"
        f"for verb in {VERBS!r}:\n"
        "    assert CliRunner().invoke(app, [verb, '--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert _run(code).stdout.strip() == "[]"


def test_python_dash_m_mgectl_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mgectl", "--version"],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (0, f"mgectl {__version__}\n")
