"""build.py's registries and the data preparation behind them, tested without training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mgectl_support import REPO

import engine as mge
import engine.module as M
import engine.optimizer as optim
from mgectl.build.builder import LOSSES, MODELS, SCHEDULERS, build
from mgectl.build.data import Standardizer, split_indices
from mgectl.build.models import LinearRegression, parameter_count
from mgectl.config.experiment import validate_config
from mgectl.config.names import LOSS_TYPES, MODEL_TYPES, SCHEDULER_TYPES
from mgectl.errors import UserError


def cfg(**sections: object):
    """A validated config from keyword sections (data and model required)."""
    return validate_config(dict(sections))


def test_every_name_a_config_accepts_has_a_registry_entry() -> None:
    assert set(MODELS) == set(MODEL_TYPES)
    assert set(LOSSES) == {*LOSS_TYPES, "plugin"}  # plugin: loss.class_path, its own section
    assert set(SCHEDULERS) == set(SCHEDULER_TYPES)


def test_linear_is_the_tutorials_module() -> None:
    built = build(cfg(data={"generator": "linear"}, model={"type": "linear", "init_w": 2.0}))
    model = built.model
    assert isinstance(model, LinearRegression) and isinstance(model, M.Module)
    assert isinstance(model.w, mge.Parameter) and model.w.shape == (1,)
    assert (float(model.w.item()), float(model.b.item())) == (2.0, 0.0)
    x = built.data.x_train
    assert x.ndim == 1 and x.dtype == np.float32
    np.testing.assert_allclose(model(mge.tensor(x[:3])).numpy(), 2.0 * x[:3])


def test_mlp_layers_follow_the_config() -> None:
    built = build(
        cfg(
            data={"generator": "spirals", "params": {"classes": 3}},
            model={
                "type": "mlp",
                "hidden": [16, 8],
                "activation": "tanh",
                "dropout": 0.5,
                "batch_norm": True,
            },
        )
    )
    kinds = [type(layer).__name__ for layer in built.model]
    assert kinds == [
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Dropout",
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Dropout",
        "Linear",
    ]
    assert built.model[-1].out_features == 3
    assert built.data.y_train.dtype == np.int32 and built.data.x_train.dtype == np.float32


def test_regression_heads_output_one_value_per_sample() -> None:
    built = build(cfg(data={"generator": "polynomial", "n": 20}, model={"type": "mlp"}))
    assert built.model(mge.tensor(built.data.x_train)).shape == (20,)


def test_softmax_is_one_linear_layer() -> None:
    built = build(
        cfg(data={"generator": "blobs", "params": {"centers": 4}}, model={"type": "softmax"})
    )
    assert parameter_count(built.model) == 2 * 4 + 4


def test_cnn_is_lenet_style_for_28x28_images() -> None:
    built = build(
        cfg(
            data={"generator": "images", "n": 12},
            model={"type": "cnn", "channels": [4, 8], "kernel_size": 3, "hidden": [16]},
        )
    )
    kinds = [type(layer).__name__ for layer in built.model]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert built.data.x_train.shape == (12, 1, 28, 28)
    assert built.model(mge.tensor(built.data.x_train[:2])).shape == (2, 6)
    assert built.model[7].in_features == 8 * 5 * 5  # 28 -conv-> 26 -pool-> 13 -> 11 -> 5


def test_linear_needs_one_feature() -> None:
    with pytest.raises(UserError, match="needs 1 feature; the data has 3"):
        build(
            cfg(
                data={
                    "path": str(REPO / "engine/data/datasets/iris.csv"),
                    "features": [0, 1, 2],
                    "label": "petal_width",
                    "task": "regression",
                },
                model={"type": "linear"},
                loss={"type": "mse"},
            )
        )


def test_every_optimizer_builds_with_its_hyperparameters() -> None:
    for kind, cls in [
        ("sgd", optim.SGD),
        ("adam", optim.Adam),
        ("adamw", optim.AdamW),
        ("adagrad", optim.Adagrad),
        ("rmsprop", optim.RMSprop),
    ]:
        built = build(
            cfg(
                data={"generator": "moons"},
                model={"type": "mlp"},
                optimizer={"type": kind, "lr": 0.2},
            )
        )
        assert type(built.optimizer) is cls
        assert built.optimizer.param_groups[0]["lr"] == 0.2
    built = build(
        cfg(
            data={"generator": "moons"},
            model={"type": "mlp"},
            optimizer={"type": "sgd", "momentum": 0.9, "nesterov": True},
        )
    )
    assert built.optimizer.param_groups[0]["nesterov"] is True


def lrs(scheduler: dict, epochs: int = 10) -> list[float]:
    """The lr of each epoch under SCHEDULER (base lr 1)."""
    built = build(
        cfg(
            data={"generator": "moons"},
            model={"type": "mlp"},
            optimizer={"lr": 1.0, "scheduler": scheduler},
            train={"epochs": epochs},
        )
    )
    values = []
    for _ in range(epochs):
        values.append(built.optimizer.param_groups[0]["lr"])
        built.scheduler.step()
    return values


def test_schedulers_and_warmup() -> None:
    assert lrs({"type": "step", "step_size": 4, "gamma": 0.5}) == pytest.approx(
        [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]
    )
    assert lrs({"type": "multistep", "milestones": [2, 5]})[:6] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.1, 0.01]
    )
    warm = lrs({"type": "multistep", "milestones": [6], "warmup_epochs": 3})
    assert warm[:7] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 0.1])
    cosine = lrs({"type": "cosine", "warmup_epochs": 2}, epochs=12)
    assert cosine[0] == pytest.approx(1 / 3)  # warm-up starts at lr / (warmup_epochs + 1)
    assert cosine[-1] < 0.05 and all(a >= b for a, b in zip(cosine[2:], cosine[3:], strict=False))


def test_split_is_seeded_and_disjoint() -> None:
    train, val, test = split_indices(100, 0.2, seed=0)
    assert len(test) == 0
    again = split_indices(100, 0.2, seed=0)
    other = split_indices(100, 0.2, seed=1)
    assert (len(train), len(val)) == (80, 20)
    assert not set(train) & set(val)
    np.testing.assert_array_equal(val, again[1])
    assert not np.array_equal(val, other[1])
    assert len(split_indices(10, 0.01, seed=0)[1]) == 1, "a non-zero split keeps one sample"


def test_standardisation_is_fitted_on_the_training_split_only() -> None:
    built = build(
        cfg(
            data={"generator": "blobs", "n": 200, "val_split": 0.25, "standardize": True},
            model={"type": "softmax"},
        )
    )
    data = built.data
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-4)
    assert np.abs(data.x_val.mean(axis=0)).max() > 1e-3  # fitted without the validation rows
    meta = data.meta()
    assert meta["mean"].dtype == np.float32 and meta["mean"].shape == (2,)


def test_a_constant_feature_keeps_std_one() -> None:
    x = np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32)
    stats = Standardizer.fit(x)
    np.testing.assert_array_equal(stats.apply(x), [[-1, 0], [1, 0]])


def test_file_data_names_features_and_classes(tmp_path: Path) -> None:
    built = build(
        cfg(
            data={"path": str(REPO / "engine/data/datasets/iris.csv"), "label": "species"},
            model={"type": "softmax"},
        )
    )
    data = built.data
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert data.num_classes == 3 and built.outputs == 3
