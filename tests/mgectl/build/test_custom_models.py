"""Models (and losses) beyond the four fixed kinds: a layer stack from YAML, your own class."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mgectl_support import REPO
from trainer_support import quiet_console, run

import engine.module as M
from engine.data import save_csv
from mgectl.build.builder import build
from mgectl.config.experiment import load_config, resolved_yaml
from mgectl.errors import UserError
from mgectl.tools.predict import predict

SEQUENTIAL_MOONS = """
seed: 1
data: {generator: moons, n: 200, noise: 0.1, val_split: 0.2}
model:
  type: sequential
  layers: [{linear: 16}, relu, batch_norm, {dropout: 0.1}, {linear: 16}, tanh]
optimizer: {type: adam, lr: 0.02}
train: {epochs: 15, batch_size: 32}
"""

PLUGIN_MODULE = """
import engine.functional as F
import engine.module as M


class TwoLayer(M.Module):
    def __init__(self, in_features, outputs, width=8):
        super().__init__()
        self.a = M.Linear(in_features, width)
        self.b = M.Linear(width, outputs)

    def forward(self, x):
        return self.b(F.relu(self.a(x)))


class HalfSquare:
    def __init__(self, scale=0.5):
        self.scale = scale

    def __call__(self, outputs, labels):
        return F.mean((outputs - labels) ** 2) * self.scale


class Broken(M.Module):
    def __init__(self, in_features):
        raise ValueError("width must be even")

    def forward(self, x):
        return x


class NotAModule:
    pass
"""


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    """Write dedented YAML to tmp_path/name."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A folder holding plugin_models.py, as a user keeps it beside their config."""
    (tmp_path / "plugin_models.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    return tmp_path


def layer_names(model: M.Module) -> list[str]:
    """The class names of a Sequential's layers."""
    return [type(layer).__name__ for layer in model]


def test_short_layer_entries_become_canonical_and_resolve_back(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SEQUENTIAL_MOONS))
    kinds = [layer.kind for layer in cfg.model.layers]
    assert kinds == ["linear", "relu", "batch_norm", "dropout", "linear", "tanh"]
    assert cfg.model.layers[0].out == 16 and cfg.model.layers[3].p == 0.1
    again = write(tmp_path, resolved_yaml(cfg), "resolved.yaml")
    assert load_config(again).model == cfg.model


def test_sequential_infers_input_sizes_and_appends_the_head(tmp_path: Path) -> None:
    built = build(load_config(write(tmp_path, SEQUENTIAL_MOONS)))
    model = built.model
    assert layer_names(model) == [
        "Linear", "ReLU", "BatchNorm1d", "Dropout", "Linear", "Tanh", "Linear",
    ]  # fmt: skip
    assert (model[0].in_features, model[0].out_features) == (2, 16)
    assert (model[4].in_features, model[6].in_features, model[6].out_features) == (16, 16, 2)


def test_sequential_cnn_sizes_follow_conv_and_pool(tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "shapes_sequential.yaml", ["data.n=60"])
    model = build(cfg).model
    # 28 -> conv pad 1 -> 28 -> pool -> 14 -> conv k3 -> 12 -> pool -> 6: 16 * 6 * 6 features
    assert model[8].in_features == 16 * 6 * 6
    assert (model[3].in_channels, model[3].out_channels) == (8, 16)
    assert model[-1].out_features == 6


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("[{linear: 8}, {conv2d: 4}]", "model.layers[1] (conv2d): needs images (N, C, H, W); "),
        ("[{max_pool2d: 2}, {linear: 4}]", "model.layers[1] (linear): needs (N, features); "),
        ("[{conv2d: {out: 2, kernel: 40}}]", "model.layers[0] (conv2d): kernel 40 does not fit"),
    ],
)
def test_a_layer_that_does_not_fit_names_its_index_and_the_shape(
    tmp_path: Path, layers: str, message: str
) -> None:
    text = f"data: {{generator: images, n: 12}}\nmodel: {{type: sequential, layers: {layers}}}\n"
    with pytest.raises(UserError, match=re.escape(message)):
        build(load_config(write(tmp_path, text)))


def test_the_shape_error_says_what_it_got(tmp_path: Path) -> None:
    layers = "[{max_pool2d: 2}, {linear: 4}]"
    text = f"data: {{generator: images, n: 12}}\nmodel: {{type: sequential, layers: {layers}}}\n"
    with pytest.raises(UserError) as caught:
        build(load_config(write(tmp_path, text)))
    assert "it gets (N, 1, 14, 14); add flatten before it" in str(caught.value)


def test_a_stack_that_starts_dense_takes_images_flattened(tmp_path: Path) -> None:
    text = "data: {generator: images, n: 12}\nmodel: {type: sequential, layers: [{linear: 4}]}\n"
    assert build(load_config(write(tmp_path, text))).model[0].in_features == 28 * 28


def test_embedding_and_layer_norm_layers_on_index_encoded_categories(tmp_path: Path) -> None:
    (tmp_path / "pets.csv").write_text(
        "animal,size,y\ncat,s,0\ndog,l,1\nbird,s,0\ndog,s,1\ncat,l,0\nbird,l,1\n",
        encoding="utf-8",
    )
    text = (
        "data: {path: pets.csv, label: y, task: classification, encoding: index}\n"
        "model: {type: sequential, layers: [{embedding: {num: 3, dim: 4}}, flatten, "
        "layer_norm, {linear: 8}, relu]}\ntrain: {epochs: 2}\n"
    )
    built = build(load_config(write(tmp_path, text)))
    assert layer_names(built.model) == [
        "IndexEmbedding", "Flatten", "LayerNorm", "Linear", "ReLU", "Linear",
    ]  # fmt: skip
    assert built.model[0].embedding.weight.shape == (3, 4)  # num x dim
    assert built.model[3].in_features == 2 * 4  # two index columns, four numbers each
    assert built.data.x_train[:, 0].tolist() == [1.0, 2.0, 0.0, 2.0, 1.0, 0.0]  # cat dog bird ...


def test_head_false_needs_the_task_width(tmp_path: Path) -> None:
    text = SEQUENTIAL_MOONS.replace("tanh]", "tanh, {linear: 3}]\n  head: false")
    with pytest.raises(UserError, match=r"must give \(N, 2\) for this task; it gives \(N, 3\)"):
        build(load_config(write(tmp_path, text)))
    fitting = load_config(write(tmp_path, text.replace("{linear: 3}", "{linear: 2}")))
    assert build(fitting).model[-1].out_features == 2


def test_bad_layer_entries_are_config_errors(cli: Callable, tmp_path: Path) -> None:
    text = "data: {generator: moons}\nmodel: {type: sequential, layers: [relux, {linear: 0}, {a: 1, b: 2}]}\n"  # noqa: E501
    result = cli("validate", str(write(tmp_path, text)))
    assert result.exit_code == 2
    out = result.output
    assert "model.layers[0]: unknown layer 'relux'; did you mean 'relu'?" in out
    assert "model.layers[1].linear.out: must be >= 1 (got 0)" in out
    assert "model.layers[2]: a layer is a name (relu) or a mapping with one key" in out


def test_sequential_trains_and_predicts_from_its_checkpoint(tmp_path: Path) -> None:
    result = run(write(tmp_path, SEQUENTIAL_MOONS), out=tmp_path / "runs")
    assert result.history[-1]["val_accuracy"] >= 0.9
    data = tmp_path / "new.csv"
    x = np.array([[-1.0, 0.5], [2.0, 0.0], [0.0, 0.3]], dtype=np.float32)
    save_csv(data, x, np.zeros(3), feature_names=["x0", "x1"])
    predicted = predict(result.run_dir, data=data, console=quiet_console())
    assert predicted.values.shape == (3,)
    assert set(predicted.values.tolist()) <= {0, 1}


PLUGIN_CONFIG = """
seed: 2
data: {generator: polynomial, n: 64, val_split: 0.25, standardize: true}
model: {class_path: plugin_models.TwoLayer, init_args: {width: 8}}
loss: {class_path: plugin_models.HalfSquare, init_args: {scale: 0.5}, task: regression}
optimizer: {type: adam, lr: 0.1}
train: {epochs: 30, batch_size: 16}
"""


def test_plugin_model_and_loss_train_resume_and_predict_from_elsewhere(
    cli: Callable, plugin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(plugin_dir, PLUGIN_CONFIG)
    cfg = load_config(config)
    assert cfg.model.type == "plugin" and cfg.model.python_path == str(plugin_dir.resolve())
    result = run(config, out=tmp_path / "runs")
    first, last = result.history[0]["train_loss"], result.history[-1]["train_loss"]
    assert last < first / 4
    end = result.history[-1]  # the plug-in loss is half the squared error, as its class says
    assert end["val_loss"] == pytest.approx(end["val_mse"] / 2, rel=1e-5)
    model = build(cfg).model.model  # one output: wrapped so (N, 1) becomes (N,) like labels
    assert (model.a.in_features, model.a.out_features, model.b.out_features) == (1, 8, 1)
    # from another folder, with the module nowhere on sys.path: the checkpoint's config knows
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = elsewhere / "x.csv"
    save_csv(data, np.array([[0.0], [1.0]]), np.zeros(2), feature_names=["x"])
    predicted = predict(result.run_dir, data=data, console=quiet_console())
    assert predicted.values.shape == (2,) and np.isfinite(predicted.values).all()
    resumed = cli("train", "--resume", str(result.run_dir), "--set", "train.epochs=32", "-q")
    assert resumed.exit_code == 0, resumed.output
    assert len((result.run_dir / "metrics.jsonl").read_text().splitlines()) == 32


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "{class_path: nowhere_module.Net}",
            "model.class_path: cannot import nowhere_module (searched ",
        ),
        ("{class_path: plugin_models.Missing}", "model.class_path: plugin_models has no class"),
        (
            "{class_path: plugin_models.Broken}",
            "model: building plugin_models.Broken failed: ValueError: width must be even",
        ),
        (
            "{class_path: plugin_models.NotAModule}",
            "is not an engine.module.Module subclass",
        ),
        ("{class_path: TwoLayer}", "model.class_path: must be a dotted path module.ClassName"),
    ],
)
def test_plugin_problems_exit_2_naming_the_import(
    cli: Callable, plugin_dir: Path, model: str, message: str
) -> None:
    text = f"data: {{generator: moons, n: 40}}\nmodel: {model}\ntrain: {{epochs: 1}}\n"
    config = write(plugin_dir, text)
    result = cli("train", str(config), "--set", f"output.root={plugin_dir / 'runs'}")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
