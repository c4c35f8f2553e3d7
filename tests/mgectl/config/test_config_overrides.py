"""``--set a.b=value``: YAML-typed values at dotted paths, applied before validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from mgectl_support import MINIMAL

from mgectl.config.experiment import load_config
from mgectl.config.overrides import apply_overrides, parse_override
from mgectl.errors import UserError


@pytest.mark.parametrize(
    ("text", "keys", "value"),
    [
        ("optimizer.lr=0.1", ["optimizer", "lr"], 0.1),
        ("train.epochs=20", ["train", "epochs"], 20),
        ("model.hidden=[64,64]", ["model", "hidden"], [64, 64]),
        ("model.hidden=[64, 32]", ["model", "hidden"], [64, 32]),
        ("train.batch_size=full", ["train", "batch_size"], "full"),
        ("train.shuffle=false", ["train", "shuffle"], False),
        ("name=run=2", ["name"], "run=2"),
        ("data.task=", ["data", "task"], None),
        ("optimizer.scheduler={type: cosine}", ["optimizer", "scheduler"], {"type": "cosine"}),
    ],
)
def test_values_are_parsed_as_yaml(text: str, keys: list[str], value: Any) -> None:
    assert parse_override(text) == (keys, value)


def test_overrides_reach_the_validated_config(write_config: Callable) -> None:
    cfg = load_config(
        write_config(MINIMAL),
        [
            "optimizer.lr=0.1",
            "model.hidden=[64,64]",
            "train.batch_size=full",
            "train.early_stopping.patience=3",
            "optimizer.scheduler={type: step, step_size: 2}",
            "data.val_split=0.25",
        ],
    )
    assert isinstance(cfg.optimizer.lr, float) and cfg.optimizer.lr == 0.1
    assert cfg.model.hidden == [64, 64]
    assert cfg.train.batch_size == "full"
    assert cfg.train.early_stopping is not None and cfg.train.early_stopping.patience == 3
    assert cfg.optimizer.scheduler is not None and cfg.optimizer.scheduler.type == "step"
    assert cfg.data.val_split == 0.25


def test_exponent_notation_becomes_a_float(write_config: Callable) -> None:
    cfg = load_config(write_config(MINIMAL), ["optimizer.lr=1e-3"])
    assert cfg.optimizer.lr == 0.001


def test_later_overrides_win_and_the_input_is_not_mutated() -> None:
    raw = {"optimizer": {"lr": 0.5}}
    result = apply_overrides(raw, ["optimizer.lr=0.1", "optimizer.lr=0.2"])
    assert result == {"optimizer": {"lr": 0.2}}
    assert raw == {"optimizer": {"lr": 0.5}}


def test_a_null_section_becomes_a_mapping() -> None:
    assert apply_overrides({"loss": None}, ["loss.type=l1"]) == {"loss": {"type": "l1"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("optimizer.lr", "--set 'optimizer.lr': missing '='"),
        ("=3", "--set '=3': '' is not a dotted key like optimizer.lr"),
        (
            "optimizer..lr=3",
            "--set 'optimizer..lr=3': 'optimizer..lr' is not a dotted key like optimizer.lr",
        ),
        (
            "model.hidden=[64",
            "--set 'model.hidden=[64': value is not valid YAML: "
            "expected ',' or ']', but got '<stream end>'",
        ),
    ],
)
def test_malformed_overrides(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        apply_overrides({}, [text])
    assert caught.value.message == message


def test_override_into_a_non_mapping() -> None:
    with pytest.raises(UserError) as caught:
        apply_overrides({"optimizer": {"lr": 0.1}}, ["optimizer.lr.x=1"])
    assert caught.value.message == (
        "--set 'optimizer.lr.x=1': optimizer.lr is 0.1, not a mapping, so it has no key 'x'"
    )
    assert caught.value.hint == "to replace it whole, write --set optimizer.lr=VALUE"


def test_cli_set_without_equals_is_one_error_line(cli: Callable, write_config: Callable) -> None:
    result = cli("validate", str(write_config(MINIMAL)), "--set", "optimizer.lr")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --set 'optimizer.lr': missing '='",
        "hint: write --set KEY=VALUE with a dotted key, e.g. --set optimizer.lr=0.1",
    ]


def test_cli_set_values_show_in_the_printed_config(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL)
    result = cli(
        "train",
        str(path),
        "--set",
        "optimizer.lr=0.1",
        "-s",
        "model.hidden=[64,64]",
        "--device",
        "cpu0",
        "--print-config",
    )
    assert result.exit_code == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["optimizer"]["lr"] == 0.1
    assert printed["model"]["hidden"] == [64, 64]
    assert printed["device"] == "cpu0"


def test_cli_set_error_is_blamed_on_the_option(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "train:\n  epochs: 0\n")
    result = cli("validate", str(path), "--set", "optimizer.lr=-1", "--set", "optimizer.lrr=1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        "error: --set optimizer.lr=-1: optimizer.lr: must be > 0 (got -1)",
        "error: --set optimizer.lrr=1: optimizer: unknown key 'lrr'; did you mean 'lr'?",
        f"error: {path}: train.epochs: must be >= 1 (got 0)",
    ]
