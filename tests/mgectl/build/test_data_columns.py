"""Real CSVs: categories, missing values, delimiters, target scaling, test and stratified splits.

Training and predict encode rows through the same stored ColumnEncoder, so the same file
gives the same model inputs on both paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from trainer_support import quiet_console, run

from mgectl.build.builder import build_dataset
from mgectl.build.data import split_indices
from mgectl.config.experiment import load_config
from mgectl.errors import UserError
from mgectl.tools.predict import model_inputs, predict, read_inputs

PETS = """id;animal;age;weight;adopted
p1;cat;3;4.1;yes
p2;dog;5;;no
p3;bird;1;0.3;yes
p4;dog;NA;20.5;no
p5;cat;7;5.2;yes
p6;bird;2;0.4;no
p7;dog;4;18.0;yes
p8;cat;6;4.8;no
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write TEXT to tmp_path/NAME."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config(tmp_path: Path, data: str, extra: str = "") -> Path:
    """An experiment on pets.csv with the given data keys."""
    write(tmp_path, "pets.csv", PETS)
    text = (
        f"data: {{path: pets.csv, features: [animal, age, weight], label: adopted, {data}}}\n"
        f"model: {{type: mlp, hidden: [4]}}\ntrain: {{epochs: 2, batch_size: full}}\n{extra}"
    )
    return write(tmp_path, "exp.yaml", text)


def test_a_missing_value_is_an_error_naming_line_and_column(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path, "task: classification"))
    with pytest.raises(UserError) as caught:
        build_dataset(cfg)
    assert (
        caught.value.message == f"{tmp_path / 'pets.csv'}, line 3, column 'weight': missing value"
    )
    assert "data.missing" in caught.value.hint


def test_the_delimiter_is_detected_and_categories_become_one_hot(tmp_path: Path) -> None:
    data = build_dataset(load_config(config(tmp_path, "task: classification, missing: drop")))
    assert data.feature_names == ["animal=bird", "animal=cat", "animal=dog", "age", "weight"]
    assert data.class_names == ["no", "yes"]
    rows = np.concatenate([data.x_train, data.x_val])
    assert len(rows) == 6  # p2 and p4 dropped
    first = rows[0].tolist()  # p1: cat, 3, 4.1
    assert first == pytest.approx([0, 1, 0, 3, 4.1])


def test_index_encoding_gives_category_numbers(tmp_path: Path) -> None:
    text = "task: classification, missing: drop, encoding: index"
    data = build_dataset(load_config(config(tmp_path, text)))
    assert data.feature_names == ["animal", "age", "weight"]
    assert data.x_train[:, 0].tolist() == [
        1.0,
        0.0,
        1.0,
        0.0,
        2.0,
        1.0,
    ]  # cat bird cat bird dog cat


@pytest.mark.parametrize(("policy", "age", "weight"), [("mean", 4.0, 7.61), ("median", 4.0, 4.8)])
def test_mean_and_median_fill_from_the_training_rows(
    tmp_path: Path, policy: str, age: float, weight: float
) -> None:
    data = build_dataset(load_config(config(tmp_path, f"task: classification, missing: {policy}")))
    # no validation split: every row trains; p2 lacks weight, p4 lacks age
    ages = [3, 5, 1, 7, 2, 4, 6]
    weights = [4.1, 0.3, 20.5, 5.2, 0.4, 18.0, 4.8]
    expected_age = np.mean(ages) if policy == "mean" else np.median(ages)
    expected_weight = np.mean(weights) if policy == "mean" else np.median(weights)
    assert (expected_age, round(expected_weight, 2)) == pytest.approx((age, weight))
    assert data.x_train[1, 4] == pytest.approx(expected_weight)  # p2's weight
    assert data.x_train[3, 3] == pytest.approx(expected_age)  # p4's age


def test_an_explicit_delimiter_and_named_categorical_columns(tmp_path: Path) -> None:
    write(tmp_path, "t.csv", "a|b|y\n1|10|1.5\n2|20|2.5\n1|30|3.5\n")
    text = "data: {path: t.csv, delimiter: '|', categorical: [a], task: regression}\n"
    data = build_dataset(load_config(write(tmp_path, "e.yaml", text + "model: {type: mlp}\n")))
    assert data.feature_names == ["a=1", "a=2", "b"]


def test_train_and_predict_encode_a_file_identically(tmp_path: Path) -> None:
    path = config(tmp_path, "task: classification, missing: median, val_split: 0.25")
    result = run(path, out=tmp_path / "runs")
    cfg = load_config(path)
    data = build_dataset(cfg)
    from mgectl.train.checkpoint import load_checkpoint

    meta = load_checkpoint(result.run_dir / "checkpoints" / "last.npz")["data"]
    encoded = model_inputs(read_inputs(tmp_path / "pets.csv", meta).x, meta)
    trained = np.zeros_like(encoded)
    train_idx, val_idx, _ = split_indices(8, 0.25, cfg.seed)
    trained[train_idx], trained[val_idx] = data.x_train, data.x_val
    np.testing.assert_array_equal(encoded, trained)


def test_predict_keeps_other_columns_evaluates_labels_and_refuses_unseen_categories(
    tmp_path: Path,
) -> None:
    path = config(tmp_path, "task: classification, missing: mean")
    result = run(path, out=tmp_path / "runs")
    out = tmp_path / "pred.csv"
    predicted = predict(
        result.run_dir, data=tmp_path / "pets.csv", out=out, console=quiet_console()
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "id,prediction,probability,p_no,p_yes" and lines[1].startswith("p1,")
    metrics = json.loads((tmp_path / "pred.metrics.json").read_text())
    truth = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    assert metrics["rows"] == 8
    assert metrics["accuracy"] == pytest.approx(float((predicted.values == truth).mean()))
    assert np.array(metrics["confusion"]).sum() == 8
    new = write(tmp_path, "new.csv", "animal;age;weight\nfish;1;0.1\n")
    with pytest.raises(
        UserError, match=r"new.csv, line 2, column 'animal': unseen category 'fish'"
    ):
        predict(result.run_dir, data=new, console=quiet_console())


def test_a_non_finite_number_is_refused_whatever_the_policy(tmp_path: Path) -> None:
    path = config(tmp_path, "task: classification, missing: mean")
    write(tmp_path, "pets.csv", PETS.replace("4.1", "inf"))
    with pytest.raises(UserError, match=r"line 2, column 'weight': 'inf' is not a finite"):
        build_dataset(load_config(path))


def test_standardised_targets_train_and_predict_in_original_units(tmp_path: Path) -> None:
    text = (
        "data: {generator: linear, n: 80, noise: 0.5, val_split: 0.25, standardize: true,\n"
        "       standardize_target: true}\n"
        "model: {type: linear}\noptimizer: {lr: 0.1}\ntrain: {epochs: 60, batch_size: full}\n"
    )
    path = write(tmp_path, "lin.yaml", text)
    result = run(path, out=tmp_path / "runs")
    assert result.history[-1]["val_rmse"] == pytest.approx(0.5, rel=0.5)  # the noise, in y units
    x = write(tmp_path, "x.csv", "x\n0\n1\n")
    values = predict(result.run_dir, data=x, console=quiet_console()).values
    assert values[1] - values[0] == pytest.approx(9.0, rel=0.02)  # the generator's w = 9
    assert values[0] == pytest.approx(2.0, abs=0.3)  # and b = 2


def test_a_test_split_is_scored_once_at_the_end(cli: Callable, tmp_path: Path) -> None:
    text = "data: {generator: moons, n: 200, val_split: 0.2, test_split: 0.2}\nmodel: {type: mlp}\n"
    path = write(tmp_path, "t.yaml", text + "train: {epochs: 3}\n")
    result = cli("train", str(path), "--output-dir", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    assert "test     loss " in result.output
    (report,) = (tmp_path / "runs").glob("t/*/evaluation.json")
    evaluation = json.loads(report.read_text())
    assert evaluation["split"] == "test" and evaluation["rows"] == 40
    assert set(evaluation["metrics"]) == {"test_loss", "test_accuracy", "test_f1"}
    assert len(evaluation["per_class"]["recall"]) == 2


def test_stratified_splits_keep_each_class_share() -> None:
    labels = np.array([0] * 80 + [1] * 20)
    train, val, test = split_indices(100, 0.2, 0, 0.1, labels)
    assert (labels[val] == 1).sum() == 4 and (labels[val] == 0).sum() == 16
    assert (labels[test] == 1).sum() == 2 and len(test) == 10
    assert len(set(train) | set(val) | set(test)) == 100


def test_val_and_test_must_leave_training_rows(cli: Callable, tmp_path: Path) -> None:
    text = "data: {generator: moons, val_split: 0.5, test_split: 0.5}\nmodel: {type: mlp}\n"
    result = cli("validate", str(write(tmp_path, "v.yaml", text)))
    assert result.exit_code == 2
    assert "data.test_split: val_split + test_split must be < 1 (got 1)" in result.output
