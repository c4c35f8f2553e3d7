"""Every class of config mistake gives its exact one-line message and exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import MINIMAL

from mgectl.config.experiment import load_config
from mgectl.errors import ConfigError, UserError

HINT = "hint: `mgectl schema` lists every key, its type and default"


def problems(cli: Callable, path: Path, *extra: str) -> list[str]:
    """Run ``mgectl validate PATH``; assert exit 2 and return stderr's error lines."""
    result = cli("validate", str(path), *extra)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), lines
    return [line for line in lines if line.startswith("error: ")]


def test_unknown_key_suggests_the_closest_one(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "optimizer:\n  lrr: 0.1\n")
    assert problems(cli, path) == [
        f"error: {path}: optimizer: unknown key 'lrr'; did you mean 'lr'?"
    ]


def test_unknown_top_level_key(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "optimiser:\n  lr: 0.1\n")
    assert problems(cli, path) == [
        f"error: {path}: unknown key 'optimiser'; did you mean 'optimizer'?"
    ]


def test_unknown_key_with_nothing_close_lists_the_allowed_ones(
    cli: Callable, write_config: Callable
) -> None:
    path = write_config(MINIMAL + "output:\n  zzz: 1\n")
    assert problems(cli, path) == [f"error: {path}: output: unknown key 'zzz'; allowed keys: root"]


def test_unknown_key_inside_a_tagged_union_member(cli: Callable, write_config: Callable) -> None:
    path = write_config("data:\n  generator: moons\nmodel:\n  type: mlp\n  hiden: [8]\n")
    assert problems(cli, path) == [
        f"error: {path}: model: unknown key 'hiden'; did you mean 'hidden'?"
    ]


def test_wrong_type(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "train:\n  epochs: ten\n")
    assert problems(cli, path) == [f"error: {path}: train.epochs: must be an integer (got 'ten')"]


def test_out_of_range_learning_rate(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "optimizer:\n  lr: -0.1\n")
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: optimizer.lr: must be > 0 (got -0.1)",
        HINT,
    ]


def test_list_items_are_named_by_index(cli: Callable, write_config: Callable) -> None:
    path = write_config("data: {generator: moons}\nmodel: {type: mlp, hidden: [64, 0]}\n")
    assert problems(cli, path) == [f"error: {path}: model.hidden[1]: must be >= 1 (got 0)"]


def test_bad_choice_suggests_a_close_one(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "optimizer:\n  type: adamm\n")
    assert problems(cli, path) == [
        f"error: {path}: optimizer.type: must be one of 'sgd', 'adam', 'adamw', 'adagrad', "
        "'rmsprop', 'adadelta' (got 'adamm'); did you mean 'adam'?"
    ]


def test_unknown_model_type(cli: Callable, write_config: Callable) -> None:
    path = write_config("data:\n  generator: moons\nmodel:\n  type: mpl\n")
    assert problems(cli, path) == [
        f"error: {path}: model.type: must be one of 'linear', 'mlp', 'softmax', 'cnn', "
        "'sequential', 'plugin' "
        "(got 'mpl'); did you mean 'mlp'?"
    ]


def test_missing_model_type(cli: Callable, write_config: Callable) -> None:
    path = write_config("data:\n  generator: moons\nmodel:\n  hidden: [8]\n")
    assert problems(cli, path) == [
        f"error: {path}: model.type: required key is missing; "
        "one of 'linear', 'mlp', 'softmax', 'cnn', 'sequential', 'plugin'"
    ]


def test_missing_sections(cli: Callable, write_config: Callable) -> None:
    path = write_config("seed: 1\n")
    assert problems(cli, path) == [
        f"error: {path}: data: required key is missing",
        f"error: {path}: model: required key is missing",
    ]


def test_data_needs_a_generator_or_a_path(cli: Callable, write_config: Callable) -> None:
    path = write_config("data:\n  gen: moons\nmodel:\n  type: mlp\n")
    assert problems(cli, path) == [
        f"error: {path}: data: needs either 'generator:' (synthetic data) or 'path:' (a file) "
        "(got {'gen': 'moons'})"
    ]


def test_every_problem_is_reported_at_once(cli: Callable, write_config: Callable) -> None:
    path = write_config(
        """
        seed: abc
        device: cuda
        data: {generator: moons, val_split: 1.5}
        model: {type: mlp, activation: relu6}
        optimizer: {lr: 0, lrr: 1}
        train: {epochs: 0, batch_size: half}
        """
    )
    assert problems(cli, path) == [
        f"error: {path}: seed: must be an integer (got 'abc')",
        f"error: {path}: device: must be xpux (a GPU if there is one, else the CPU), cpux, "
        "cpu<N>, gpux or gpu0 (got 'cuda')",
        f"error: {path}: data.val_split: must be < 1 (got 1.5)",
        f"error: {path}: model.activation: must be 'relu', 'tanh', 'sigmoid', 'gelu', 'silu' or "
        "'leaky_relu' (got 'relu6'); did you mean 'relu'?",
        f"error: {path}: optimizer.lr: must be > 0 (got 0)",
        f"error: {path}: optimizer: unknown key 'lrr'; did you mean 'lr'?",
        f"error: {path}: train.epochs: must be >= 1 (got 0)",
        f"error: {path}: train.batch_size: must be an integer >= 1 or 'full' (got 'half')",
    ]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "optimizer: {nesterov: true}",
            ["optimizer.nesterov: Nesterov momentum requires a momentum > 0"],
        ),
        (
            "optimizer: {type: adam, momentum: 0.9, eps: 1.0e-7}",
            ["optimizer.momentum: is not used by adam; only by sgd and rmsprop"],
        ),
        (
            "optimizer: {betas: [0.9, 0.99]}",
            ["optimizer.betas: is not used by sgd; only by adam and adamw"],
        ),
        (
            "optimizer: {eps: 0.001}",
            [
                "optimizer.eps: is not used by sgd; "
                "only by adam, adamw, adagrad, rmsprop and adadelta"
            ],
        ),
        (
            "optimizer: {type: adagrad, alpha: 0.9}",
            ["optimizer.alpha: is not used by adagrad; only by rmsprop"],
        ),
        (
            "loss: {type: mse}",
            ["loss.type: mse is for regression; generator moons is classification"],
        ),
        (
            "loss: {type: cross_entropy, label_smooth: 0.1}\nmodel_: x",
            ["unknown key 'model_'; did you mean 'model'?"],
        ),
        (
            "loss: {type: hinge, label_smooth: 0.1}",
            ["loss.label_smooth: only applies to cross_entropy (type is hinge)"],
        ),
        (
            "train: {epochs: 5, early_stopping: {monitor: val_loss}}",
            ["train.early_stopping.monitor: val_loss needs data.val_split > 0"],
        ),
        (
            "optimizer: {scheduler: {type: step, step_size: 2, warmup_epochs: 8}}\n"
            "train: {epochs: 8}",
            ["optimizer.scheduler.warmup_epochs: must be < train.epochs (8) (got 8)"],
        ),
        (
            "optimizer: {scheduler: {type: step}}",
            ["optimizer.scheduler.step_size: required key is missing"],
        ),
    ],
)
def test_cross_field_rules(
    cli: Callable, write_config: Callable, section: str, expected: list[str]
) -> None:
    path = write_config(MINIMAL + section + "\n")
    assert problems(cli, path) == [f"error: {path}: {line}" for line in expected]


def test_model_that_does_not_fit_the_task(cli: Callable, write_config: Callable) -> None:
    path = write_config("data: {generator: moons}\nmodel: {type: linear}\n")
    assert problems(cli, path) == [
        f"error: {path}: model.type: linear is for regression; generator moons is classification"
    ]


def test_generator_parameters_are_checked(cli: Callable, write_config: Callable) -> None:
    path = write_config(
        "data: {generator: blobs, noise: 1, params: {centres: 4, n: 10}}\nmodel: {type: mlp}\n"
    )
    assert problems(cli, path) == [
        f"error: {path}: data.noise: blobs has no noise level; "
        "blobs takes n, centers, n_features, std, seed",
        f"error: {path}: data.params.centres: unknown parameter 'centres'; did you mean 'centers'?",
        f"error: {path}: data.params.n: write it as data.n, not under params",
    ]


def test_unknown_generator_parameter_without_a_close_match(
    cli: Callable, write_config: Callable
) -> None:
    path = write_config("data: {generator: moons, params: {classes: 3}}\nmodel: {type: mlp}\n")
    assert problems(cli, path) == [
        f"error: {path}: data.params.classes: unknown parameter 'classes'; "
        "moons takes n, noise, seed"
    ]


def test_missing_data_file(cli: Callable, write_config: Callable, tmp_path: Path) -> None:
    path = write_config("data: {path: nothere.csv}\nmodel: {type: softmax}\n")
    assert problems(cli, path) == [
        f"error: {path}: data.path: no such file (looked in . and {tmp_path}/) (got 'nothere.csv')"
    ]


def test_malformed_yaml_names_line_and_column(cli: Callable, write_config: Callable) -> None:
    path = write_config("data:\n  generator: moons\n model: x\n")
    assert problems(cli, path) == [
        f"error: {path}:3:2: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block mapping)"
    ]


def test_unclosed_bracket_names_line_and_column(cli: Callable, write_config: Callable) -> None:
    path = write_config("model: {type: mlp, hidden: [8, 8}\n")
    (line,) = problems(cli, path)
    assert line.startswith(f"error: {path}:1:")


def test_duplicate_keys_are_refused(cli: Callable, write_config: Callable) -> None:
    path = write_config(MINIMAL + "optimizer:\n  lr: 0.1\n  lr: 0.2\n")
    assert problems(cli, path) == [f"error: {path}:7:3: duplicate key 'lr'"]


def test_missing_file(cli: Callable, tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert problems(cli, path) == [f"error: {path}: no such file"]


def test_top_level_list(cli: Callable, write_config: Callable) -> None:
    path = write_config("- data\n- model\n")
    assert problems(cli, path) == [
        f"error: {path}: top level must be a mapping of sections such as data:, model:, "
        "optimizer:, train:; got a list"
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(cli: Callable, write_config: Callable, text: str) -> None:
    path = write_config(text)
    assert problems(cli, path) == [
        f"error: {path}: file is empty; expected a mapping of sections such as data:, model:, "
        "optimizer:, train:"
    ]


def test_a_directory_is_not_a_config(cli: Callable, tmp_path: Path) -> None:
    assert problems(cli, tmp_path) == [f"error: {tmp_path}: is a directory, expected a YAML file"]


def test_validate_reports_problems_of_several_files(cli: Callable, write_config: Callable) -> None:
    good = write_config(MINIMAL, name="good.yaml")
    bad = write_config(MINIMAL + "seed: x\n", name="bad.yaml")
    result = cli("validate", str(good), str(bad))
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == f"{good}: ok"
    assert result.stderr.splitlines()[0] == f"error: {bad}: seed: must be an integer (got 'x')"


def test_config_error_carries_every_line() -> None:
    error = ConfigError(["a: x", "b: y"], hint="h")
    assert isinstance(error, UserError)
    assert (error.lines(), error.hint, error.exit_code, str(error)) == (
        ["a: x", "b: y"],
        "h",
        2,
        "a: x\nb: y",
    )


def test_load_config_raises_config_error(write_config: Callable) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(MINIMAL + "seed: -x\n"))
    assert caught.value.lines()[0].endswith("seed: must be an integer (got '-x')")
