"""predict(): rebuild a trained model from its run and apply it to new feature files."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mgectl_support import REPO
from trainer_support import REGRESSION, quiet_console, run, weights

import engine.functional as F
from engine import serialization
from engine.data import load_csv, save_csv, save_npz
from mgectl.errors import UserError
from mgectl.tools.predict import predict

IRIS_CSV = REPO / "engine" / "data" / "datasets" / "iris.csv"


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped iris config, trained briefly."""
    out = tmp_path_factory.mktemp("iris")
    return run(REPO / "configs" / "iris_softmax.yaml", "train.epochs=30", out=out).run_dir


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's linear regression."""
    out = tmp_path_factory.mktemp("linear")
    return run(REPO / "configs" / "linear_regression.yaml", out=out).run_dir


def test_linear_regression_predicts_w_x_plus_b(linear_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    save_csv(data, np.array([-10.0, 0.0, 2.5]), np.zeros(3), feature_names=["x"])
    result = predict(linear_run, data=data, console=quiet_console())
    state = weights(linear_run, "best")
    w, b = float(state["w"][0]), float(state["b"][0])
    np.testing.assert_allclose(result.values, [-10 * w + b, b, 2.5 * w + b], rtol=1e-6)
    assert result.task == "regression" and result.probabilities is None


def test_a_feature_only_file_works_too(linear_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("x\n1\n2\n", encoding="utf-8")
    result = predict(linear_run, data=data, console=quiet_console())
    assert result.values.shape == (2,)


def test_iris_predicts_species_and_ignores_the_label_column(iris_run: Path) -> None:
    console = quiet_console()
    result = predict(iris_run, data=IRIS_CSV, console=console)
    truth = load_csv(IRIS_CSV, label="species", task="classification")
    assert result.class_names == ["setosa", "versicolor", "virginica"]
    assert len(result.values) == 150
    assert (result.values == truth.y).mean() > 0.9
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    text = console.file.getvalue()
    assert "setosa" in text and "probability" in text
    assert "first 50 of 150 rows" in text


def test_predict_applies_the_stored_standardisation(tmp_path: Path, write_config: Callable) -> None:
    run_dir = run(write_config(REGRESSION), out=tmp_path).run_dir
    saved = serialization.load(run_dir / "checkpoints" / "best.npz")
    mean, std = saved["data"]["mean"], saved["data"]["std"]
    assert abs(float(mean[0])) > 0 and float(std[0]) != 1.0
    x = np.linspace(-2, 2, 7).astype(np.float32)
    data = tmp_path / "x.npz"
    save_npz(data, x, np.zeros(7))
    result = predict(run_dir, data=data, console=quiet_console())
    # the same network by hand: standardise, then the stored Linear-tanh-Linear weights
    state = saved["model"]
    z = ((x - mean) / std).reshape(-1, 1)
    hidden = np.tanh(z @ state["0.weight"].T + state["0.bias"])
    expected = (hidden @ state["2.weight"].T + state["2.bias"]).reshape(-1)
    np.testing.assert_allclose(result.values, expected, rtol=1e-5, atol=1e-5)


def test_out_writes_a_csv_with_every_row(iris_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.csv"
    console = quiet_console()
    predict(iris_run, data=IRIS_CSV, out=out, console=console)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == [
        "prediction",
        "probability",
        "p_setosa",
        "p_versicolor",
        "p_virginica",
    ]
    assert len(rows) == 151
    assert rows[1][0] == "setosa"
    assert "wrote 150 predictions to" in console.file.getvalue()


def test_wrong_feature_count_names_both_counts(iris_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "three.csv"
    data.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        predict(iris_run, data=data, console=quiet_console())
    assert caught.value.message == (
        f"{data}: has 3 feature column(s), but the model was trained on 4 "
        "(sepal_length, sepal_width, petal_length, petal_width)"
    )


def test_a_non_number_is_named_with_its_line(iris_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("1,2,3,4\n5,6,x,8\n", encoding="utf-8")
    # a headerless file's columns take the training names, by position
    with pytest.raises(UserError, match=r"line 2, column 'petal_length': 'x' is not a number"):
        predict(iris_run, data=data, console=quiet_console())


def test_predict_prefers_the_best_checkpoint(iris_run: Path, tmp_path: Path) -> None:
    from mgectl.train.rundir import find_checkpoint

    assert find_checkpoint(iris_run, ("best", "last")).name == "best.npz"
    assert find_checkpoint(iris_run.parent, ("best", "last")).parent.parent == iris_run


def test_classification_probabilities_match_the_softmax(iris_run: Path) -> None:
    saved = serialization.load(iris_run / "checkpoints" / "best.npz")
    table = load_csv(IRIS_CSV, label="species", task="classification")
    z = (table.x - saved["data"]["mean"]) / saved["data"]["std"]
    logits = z @ saved["model"]["0.weight"].T + saved["model"]["0.bias"]
    expected = F.softmax(logits.astype(np.float32), axis=1).numpy()
    result = predict(iris_run, data=IRIS_CSV, console=quiet_console())
    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-4, atol=1e-6)
