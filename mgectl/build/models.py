"""The models a config can name, as a registry: model type -> constructor and input layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import engine as mge
import engine.functional as F
import engine.module as M
from mgectl.build.activations import ACTIVATIONS
from mgectl.build.layers import build_layers, sequential_layout
from mgectl.build.plugins import OneOutput, build_plugin
from mgectl.errors import UserError

if TYPE_CHECKING:
    from mgectl.config.sections import (
        CNNModelConfig,
        LinearModelConfig,
        MLPModelConfig,
        ModelConfig,
        SequentialModelConfig,
        SoftmaxModelConfig,
    )


@dataclass(frozen=True)
class InputShape:
    """What a model is fed: 'scalar' (N,), 'vector' (N, features) or 'image' (N, C, H, W)."""

    layout: str
    features: int  # values per sample
    image: tuple[int, ...] = ()  # (C, H, W) for image data


class LinearRegression(M.Module):
    """The tutorial's scalar model y = w * x + b; w and b are Parameters of shape (1,)."""

    def __init__(self, init_w: float = 0.0, init_b: float = 0.0) -> None:
        super().__init__()
        self.w = mge.Parameter([init_w])
        self.b = mge.Parameter([init_b])

    def forward(self, x: Any) -> mge.Tensor:
        """F.mul(w, x) + b on 1-D x, exactly the tutorial's linear_model."""
        return F.mul(self.w, x) + self.b


def _head(layers: list[M.Module], in_features: int, outputs: int) -> M.Sequential:
    """Finish LAYERS with a Linear to OUTPUTS; one output is flattened to (N,) like the labels."""
    layers.append(M.Linear(in_features, outputs))
    if outputs == 1:
        # regression targets and binary labels are (N,); an (N, 1) output would broadcast
        # against them to (N, N) inside the loss
        layers.append(M.Flatten(0))
    return M.Sequential(*layers)


def build_linear(cfg: LinearModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """The tutorial's y = w * x + b."""
    return LinearRegression(cfg.init_w, cfg.init_b)


def build_mlp(cfg: MLPModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """Linear [-> BatchNorm1d] -> activation [-> Dropout] per hidden size, then the head."""
    layers: list[M.Module] = []
    width = shape.features
    for size in cfg.hidden:
        layers.append(M.Linear(width, size))
        if cfg.batch_norm:
            layers.append(M.BatchNorm1d(size))
        layers.append(ACTIVATIONS[cfg.activation]())
        if cfg.dropout > 0:
            layers.append(M.Dropout(cfg.dropout))
        width = size
    return _head(layers, width, outputs)


def build_softmax(cfg: SoftmaxModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """One Linear layer from features to class scores (softmax lives in the loss)."""
    return _head([], shape.features, outputs)


def build_cnn(cfg: CNNModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """LeNet-style: (Conv2d -> activation -> MaxPool2d) per channel count, Flatten, Linears."""
    channels, height, width = shape.image
    layers: list[M.Module] = []
    for out_channels in cfg.channels:
        layers.append(M.Conv2d(channels, out_channels, cfg.kernel_size))
        layers.append(ACTIVATIONS[cfg.activation]())
        layers.append(M.MaxPool2d(2))
        channels = out_channels
        height = _conv_pool_size(height, cfg.kernel_size)
        width = _conv_pool_size(width, cfg.kernel_size)
        if height < 1 or width < 1:
            raise UserError(
                f"model.channels: {len(cfg.channels)} conv+pool blocks shrink "
                f"{shape.image[1]}x{shape.image[2]} images to nothing",
                hint="use fewer entries in model.channels",
            )
    layers.append(M.Flatten())
    size = channels * height * width
    for hidden in cfg.hidden:
        layers += [M.Linear(size, hidden), ACTIVATIONS[cfg.activation]()]
        size = hidden
    return _head(layers, size, outputs)


def _conv_pool_size(size: int, kernel: int) -> int:
    """Side length after an unpadded conv (loses k - 1, as in LeNet) and a 2x2 max pool."""
    return (size - kernel + 1) // 2


def build_sequential(cfg: SequentialModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """The layers the config lists, then (with head: true) a Linear to OUTPUTS."""
    sample = shape.image if cfg.layers and sequential_layout(cfg.layers) == "image" else None
    modules, out_shape = build_layers(cfg.layers, sample or (shape.features,))
    if cfg.head:
        if len(out_shape) != 1:
            raise UserError(
                f"model.layers: the last layer gives (N, {', '.join(map(str, out_shape))}); "
                "the head needs (N, features)",
                hint="add flatten as the last layer",
            )
        return _head(modules, out_shape[0], outputs)
    if out_shape != (outputs,):
        raise UserError(
            f"model.layers: with head: false the last layer must give (N, {outputs}) for this "
            f"task; it gives (N, {', '.join(map(str, out_shape))})",
            hint=f"end with {{linear: {outputs}}} or set model.head: true",
        )
    if outputs == 1:
        modules.append(M.Flatten(0))
    return M.Sequential(*modules)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its constructor and the input layout it expects."""

    build: Callable[[Any, InputShape, int], M.Module]
    layout: Callable[[Any], str]  # the model config -> 'scalar', 'vector' or 'image'


def _fixed(layout: str) -> Callable[[Any], str]:
    return lambda cfg: layout


# Adding a model is one entry here (plus its config section in mgectl/config/sections.py).
MODELS: dict[str, ModelSpec] = {
    "linear": ModelSpec(build_linear, _fixed("scalar")),
    "mlp": ModelSpec(build_mlp, _fixed("vector")),
    "softmax": ModelSpec(build_softmax, _fixed("vector")),
    "cnn": ModelSpec(build_cnn, _fixed("image")),
    "sequential": ModelSpec(build_sequential, lambda cfg: sequential_layout(cfg.layers)),
    "plugin": ModelSpec(build_plugin, lambda cfg: cfg.layout),
}


def model_layout(model_cfg: ModelConfig) -> str:
    """The input layout the model a ``model:`` section describes takes."""
    return MODELS[model_cfg.type].layout(model_cfg)


def parameter_count(model: M.Module) -> int:
    """The number of trainable values in MODEL."""
    return sum(int(p.size) for p in model.parameters())


def describe_model(model: M.Module, model_type: str) -> str:
    """'mlp: Linear(2->32) ReLU ... (1,154 parameters)'-style one-line summary."""
    if isinstance(model, M.Sequential):
        parts = [_layer_text(layer) for layer in model]
        body = " ".join(part for part in parts if part)
    elif isinstance(model, LinearRegression):
        body = "y = w * x + b"
    else:
        inner = model.model if isinstance(model, OneOutput) else model
        body = f"{type(inner).__module__}.{type(inner).__qualname__}"
    return f"{model_type}: {body} ({parameter_count(model):,} parameters)"


def _layer_text(layer: M.Module) -> str:
    """A compact name for one layer of a Sequential."""
    if isinstance(layer, M.Linear):
        return f"Linear({layer.in_features}->{layer.out_features})"
    if isinstance(layer, M.Conv2d):
        return f"Conv2d({layer.in_channels}->{layer.out_channels}, k={layer.kernel_size[0]})"
    if isinstance(layer, M.Flatten) and layer.start_axis == 0:
        return ""  # the (N, 1) -> (N,) reshape of a one-output head is an implementation detail
    return type(layer).__name__
