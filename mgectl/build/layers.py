"""Build a ``sequential`` model: each layer entry -> a module, with its input size inferred.

The per-sample shape (without the batch axis) flows through the list; a layer that cannot
take the shape it is given is a UserError naming ``model.layers[i]`` and the shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import engine.functional as F
import engine.module as M
from engine import Tensor
from mgectl.build.activations import ACTIVATIONS
from mgectl.config.layers import (
    Conv2dLayer,
    DropoutLayer,
    EmbeddingLayer,
    LinearLayer,
    PoolLayer,
)
from mgectl.errors import UserError

Shape = tuple[int, ...]


class LayerShapeError(Exception):
    """A layer cannot take the shape it is given (the reason, without the layer's name)."""


class IndexEmbedding(M.Module):
    """An Embedding fed the float feature columns of a table: cast to integer indices first."""

    def __init__(self, num: int, dim: int) -> None:
        super().__init__()
        self.embedding = M.Embedding(num, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Look up the vectors of x's (integer-valued) entries."""
        return self.embedding(F.astype(x, "int32"))


def _shape_text(shape: Shape) -> str:
    return "(N" + "".join(f", {d}" for d in shape) + ")"


def _need_rank(shape: Shape, rank: int, what: str, hint: str) -> None:
    if len(shape) != rank:
        raise LayerShapeError(f"needs {what}; it gets {_shape_text(shape)}{hint}")


def _linear(layer: LinearLayer, shape: Shape) -> tuple[M.Module, Shape]:
    _need_rank(shape, 1, "(N, features)", "; add flatten before it")
    return M.Linear(shape[0], layer.out, bias=layer.bias), (layer.out,)


def _conv2d(layer: Conv2dLayer, shape: Shape) -> tuple[M.Module, Shape]:
    _need_rank(shape, 3, "images (N, C, H, W)", "")
    channels, height, width = shape
    out_h = (height + 2 * layer.padding - layer.kernel) // layer.stride + 1
    out_w = (width + 2 * layer.padding - layer.kernel) // layer.stride + 1
    if out_h < 1 or out_w < 1:
        raise LayerShapeError(
            f"kernel {layer.kernel} does not fit {_shape_text(shape)} (padding {layer.padding})"
        )
    conv = M.Conv2d(channels, layer.out, layer.kernel, stride=layer.stride, padding=layer.padding)
    return conv, (layer.out, out_h, out_w)


def _pool(layer: PoolLayer, shape: Shape) -> tuple[M.Module, Shape]:
    _need_rank(shape, 3, "images (N, C, H, W)", "")
    stride = layer.stride or layer.kernel
    channels, height, width = shape
    out_h, out_w = (height - layer.kernel) // stride + 1, (width - layer.kernel) // stride + 1
    if out_h < 1 or out_w < 1:
        raise LayerShapeError(f"kernel {layer.kernel} does not fit {_shape_text(shape)}")
    pool = M.MaxPool2d if layer.kind == "max_pool2d" else M.AvgPool2d
    return pool(layer.kernel, stride=stride), (channels, out_h, out_w)


def _dropout(layer: DropoutLayer, shape: Shape) -> tuple[M.Module, Shape]:
    return M.Dropout(layer.p), shape


def _embedding(layer: EmbeddingLayer, shape: Shape) -> tuple[M.Module, Shape]:
    _need_rank(shape, 1, "(N, index columns)", "")
    return IndexEmbedding(layer.num, layer.dim), (shape[0], layer.dim)


def _flatten(layer: Any, shape: Shape) -> tuple[M.Module, Shape]:
    size = 1
    for d in shape:
        size *= d
    return M.Flatten(), (size,)


def _batch_norm(layer: Any, shape: Shape) -> tuple[M.Module, Shape]:
    if len(shape) == 1:
        return M.BatchNorm1d(shape[0]), shape
    if len(shape) == 3:
        return M.BatchNorm2d(shape[0]), shape
    raise LayerShapeError(f"needs (N, features) or (N, C, H, W); it gets {_shape_text(shape)}")


def _layer_norm(layer: Any, shape: Shape) -> tuple[M.Module, Shape]:
    return M.LayerNorm(shape[-1]), shape


BUILDERS: dict[str, Callable[[Any, Shape], tuple[M.Module, Shape]]] = {
    "linear": _linear,
    "conv2d": _conv2d,
    "max_pool2d": _pool,
    "avg_pool2d": _pool,
    "dropout": _dropout,
    "embedding": _embedding,
    "flatten": _flatten,
    "batch_norm": _batch_norm,
    "layer_norm": _layer_norm,
}


def _build_layer(layer: Any, shape: Shape) -> tuple[M.Module, Shape]:
    if layer.kind in ACTIVATIONS:
        return ACTIVATIONS[layer.kind](), shape
    return BUILDERS[layer.kind](layer, shape)


def sequential_layout(layers: list[Any]) -> str:
    """'image' when the stack starts with a convolution or pooling, else 'vector'."""
    return "image" if layers[0].kind in ("conv2d", "max_pool2d", "avg_pool2d") else "vector"


def build_layers(layers: list[Any], sample_shape: Shape) -> tuple[list[M.Module], Shape]:
    """Modules for LAYERS fed samples of SAMPLE_SHAPE, and the shape that comes out."""
    modules: list[M.Module] = []
    shape = sample_shape
    for index, layer in enumerate(layers):
        try:
            module, shape = _build_layer(layer, shape)
        except LayerShapeError as error:
            raise UserError(
                f"model.layers[{index}] ({layer.kind}): {error}",
                hint="check the layer sizes against the data's shape (mgectl validate)",
            ) from None
        modules.append(module)
    return modules, shape
