"""The config models: shipped configs validate, defaults fill in, cross-field rules hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from mgectl_support import CONFIGS, MINIMAL

from engine.core.device import DeviceNameError, as_device, parse_device_name
from mgectl.build.builder import build
from mgectl.config.experiment import (
    ExperimentConfig,
    FileDataConfig,
    MLPModelConfig,
    SyntheticDataConfig,
    load_config,
    resolved_dict,
    resolved_yaml,
    validate_config,
)
from mgectl.errors import ConfigError


def test_the_six_configs_are_shipped() -> None:
    names = {path.name for path in CONFIGS}
    assert names >= {
        "linear_regression.yaml",
        "mlp_regression.yaml",
        "moons_mlp.yaml",
        "spirals_mlp.yaml",
        "iris_softmax.yaml",
        "images_cnn.yaml",
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates_and_round_trips(path: Path, in_repo: Path) -> None:
    cfg = load_config(path.relative_to(in_repo))
    assert cfg.name == path.stem
    assert path.read_text(encoding="utf-8").startswith("#"), "configs start with a comment header"
    again = validate_config(yaml.safe_load(resolved_yaml(cfg)))
    assert resolved_dict(again) == resolved_dict(cfg)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_passes_the_cli(path: Path, in_repo: Path, cli: Callable) -> None:
    result = cli("validate", str(path.relative_to(in_repo)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{path.relative_to(in_repo)}: ok"


def test_linear_regression_is_the_tutorial_exercise(in_repo: Path) -> None:
    cfg = load_config("configs/linear_regression.yaml")
    assert isinstance(cfg.data, SyntheticDataConfig)
    assert (cfg.data.generator, cfg.data.n, cfg.data.noise, cfg.data.seed) == ("linear", 100, 5, 0)
    assert cfg.data.val_split == 0.0
    assert (cfg.model.type, cfg.model.init_w, cfg.model.init_b) == ("linear", 0.0, 0.0)
    assert cfg.loss is not None and cfg.loss.type == "mse"
    assert (cfg.optimizer.type, cfg.optimizer.lr, cfg.optimizer.momentum) == ("sgd", 0.01, 0.0)
    assert (cfg.train.epochs, cfg.train.batch_size) == (5, "full")


def test_iris_config_reads_the_csv_with_species_labels(in_repo: Path) -> None:
    cfg = load_config("configs/iris_softmax.yaml")
    assert isinstance(cfg.data, FileDataConfig)
    # the file names its data relative to itself, so it loads from any working directory
    assert Path(cfg.data.path).resolve() == in_repo / "engine" / "data" / "datasets" / "iris.csv"
    assert (cfg.data.label, cfg.data.standardize, cfg.data.val_split) == ("species", True, 0.2)
    assert cfg.task == "classification"


def test_a_minimal_config_gets_every_default(write_config: Callable) -> None:
    cfg = load_config(write_config(MINIMAL, name="tiny.yaml"))
    assert (cfg.name, cfg.seed, cfg.device) == ("tiny", 0, "xpux")
    assert isinstance(cfg.data, SyntheticDataConfig)
    assert (cfg.data.n, cfg.data.noise, cfg.data.seed, cfg.data.params) == (None, None, 0, {})
    assert (cfg.data.val_split, cfg.data.standardize) == (0.0, False)
    assert isinstance(cfg.model, MLPModelConfig)
    assert (cfg.model.hidden, cfg.model.activation) == ([64, 64], "relu")
    assert (cfg.model.dropout, cfg.model.batch_norm) == (0.0, False)
    assert cfg.loss is not None and (cfg.loss.type, cfg.loss.label_smooth) == ("cross_entropy", 0)
    opt = cfg.optimizer
    assert (opt.type, opt.scheduler) == ("sgd", None)
    assert opt.hyperparameters() == DEFAULTS["sgd"]
    train = cfg.train
    assert (train.epochs, train.batch_size, train.shuffle) == (10, 32, True)
    assert (train.log_every, train.eval_every, train.checkpoint_every) == (1, 1, 0)
    assert train.early_stopping is None
    assert cfg.output.root == "runs"


def test_name_and_seed_in_the_file_win_over_defaults(write_config: Callable) -> None:
    cfg = load_config(write_config("name: custom\nseed: 7\n" + MINIMAL))
    assert (cfg.name, cfg.seed) == ("custom", 7)
    assert cfg.data.seed == 7, "the generator seed follows the experiment seed when unset"


@pytest.mark.parametrize(
    ("generator", "loss"), [("linear", "mse"), ("polynomial", "mse"), ("spirals", "cross_entropy")]
)
def test_loss_defaults_to_the_task(generator: str, loss: str) -> None:
    cfg = ExperimentConfig.model_validate(
        {"data": {"generator": generator}, "model": {"type": "mlp"}}
    )
    assert cfg.loss is not None and cfg.loss.type == loss


# MegEngine 1.13's constructor defaults (lr: 0.01 where the engine requires one)
DEFAULTS = {
    "sgd": {"lr": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adam": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
    "adamw": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
    "adagrad": {"lr": 0.01, "lr_decay": 0.0, "eps": 1e-10, "weight_decay": 0.0},
    "rmsprop": {
        "lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
        "centered": False,
    },
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
}  # fmt: skip


@pytest.mark.parametrize("kind", DEFAULTS)
def test_optimizer_defaults_come_from_the_engine(kind: str) -> None:
    cfg = ExperimentConfig.model_validate(
        {"data": {"generator": "moons"}, "model": {"type": "mlp"}, "optimizer": {"type": kind}}
    )
    assert cfg.optimizer.hyperparameters() == DEFAULTS[kind]
    group = build(cfg).optimizer.param_groups[0]
    assert {k: group[k] for k in DEFAULTS[kind]} == DEFAULTS[kind]


def test_cosine_t_max_defaults_to_the_epochs_after_warmup() -> None:
    cfg = ExperimentConfig.model_validate(
        {
            "data": {"generator": "moons"},
            "model": {"type": "mlp"},
            "optimizer": {"scheduler": {"type": "cosine", "warmup_epochs": 3}},
            "train": {"epochs": 20},
        }
    )
    assert cfg.optimizer.scheduler is not None and cfg.optimizer.scheduler.t_max == 17


# name -> whether it is a device name at all (existing on this machine is train's question)
DEVICE_NAMES = {
    "xpux": True, "cpux": True, "cpu0": True, "cpu12": True, "gpu0": True, "gpux": True,
    "xpu0": True, "cpu0:1": True,
    "gpu1": False, "gpu3": False, "cuda": False, "gpu": False, "cpu-1": False, "GPU0": False,
    "": False, "tpu0": False, "gpu0:x": False,
}  # fmt: skip


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_the_config_accepts_exactly_the_device_names_the_engine_accepts(device: str) -> None:
    try:
        parse_device_name(device)
        engine_accepts = True
    except DeviceNameError as error:
        engine_accepts, reason = False, error.reason
    assert engine_accepts is DEVICE_NAMES[device]
    raw = {"device": device, "data": {"generator": "moons"}, "model": {"type": "mlp"}}
    if engine_accepts:
        assert validate_config(raw).device == device
        try:  # resolving here may say "no GPU", but never that the name is wrong
            as_device(device)
        except RuntimeError:
            pass
    else:
        with pytest.raises(ValueError, match="invalid device"):
            as_device(device)
        with pytest.raises(ConfigError) as caught:
            validate_config(raw)
        assert caught.value.lines() == [f"<config>: device: {reason} (got {device!r})"]


@pytest.mark.parametrize(
    ("model", "loss", "task"),
    [
        ("softmax", None, "classification"),
        ("linear", None, "regression"),
        ("mlp", "l1", "regression"),
    ],
)
def test_file_data_task_is_inferred_from_model_or_loss(
    write_config: Callable, model: str, loss: str | None, task: str, tmp_path: Path
) -> None:
    (tmp_path / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    text = f"data:\n  path: table.csv\nmodel:\n  type: {model}\n"
    if loss:
        text += f"loss:\n  type: {loss}\n"
    cfg = load_config(write_config(text))
    assert isinstance(cfg.data, FileDataConfig)
    assert cfg.data.task == task
    assert cfg.data.path == str(tmp_path / "table.csv"), "found beside the config file"


def test_batch_size_accepts_full_and_positive_integers() -> None:
    for value in ("full", 1, 256):
        cfg = ExperimentConfig.model_validate(
            {
                "data": {"generator": "moons"},
                "model": {"type": "mlp"},
                "train": {"batch_size": value},
            }
        )
        assert cfg.train.batch_size == value


def test_schema_of_every_section_forbids_unknown_keys() -> None:
    schema = ExperimentConfig.model_json_schema()
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name
