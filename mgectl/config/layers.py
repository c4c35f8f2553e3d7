"""The layer grammar of ``model: {type: sequential, layers: [...]}``: one pydantic model per kind.

An entry is written the short way people write it and validated in canonical form:
``relu`` -> ``{kind: relu}``; ``{linear: 64}`` -> ``{kind: linear, out: 64}``;
``{conv2d: {out: 16, kernel: 3}}`` -> ``{kind: conv2d, out: 16, kernel: 3}``.
The resolved config (and a checkpoint) stores the canonical form, which validates again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from mgectl.config.messages import UNKNOWN_LAYER, did_you_mean
from mgectl.config.names import Activation

PositiveInt = Annotated[int, Field(ge=1)]


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinearLayer(_Layer):
    """A fully connected layer; its input width comes from the layer before."""

    kind: Literal["linear"]
    out: PositiveInt = Field(description="output features")
    bias: bool = True


class Conv2dLayer(_Layer):
    """A 2-D convolution over (N, C, H, W); C comes from the layer before."""

    kind: Literal["conv2d"]
    out: PositiveInt = Field(description="output channels")
    kernel: PositiveInt = 3
    stride: PositiveInt = 1
    padding: int = Field(0, ge=0)


class PoolLayer(_Layer):
    """Max or average pooling over (N, C, H, W); stride defaults to the kernel size."""

    kind: Literal["max_pool2d", "avg_pool2d"]
    kernel: PositiveInt = 2
    stride: PositiveInt | None = None


class DropoutLayer(_Layer):
    """Zero a fraction p of the values while training."""

    kind: Literal["dropout"]
    p: float = Field(0.5, ge=0.0, lt=1.0)


class EmbeddingLayer(_Layer):
    """Integer indices in [0, num) -> vectors of size dim (the input columns hold the indices)."""

    kind: Literal["embedding"]
    num: PositiveInt = Field(description="number of distinct indices")
    dim: PositiveInt = Field(description="size of each vector")


PLAIN_KINDS = (*get_args(Activation), "flatten", "batch_norm", "layer_norm")


class PlainLayer(_Layer):
    """A layer without arguments: an activation, flatten, batch_norm or layer_norm."""

    kind: Literal[PLAIN_KINDS]  # type: ignore[valid-type]


AnyLayer = LinearLayer | Conv2dLayer | PoolLayer | DropoutLayer | EmbeddingLayer | PlainLayer

# The argument a scalar value stands for: ``{linear: 64}`` means out: 64.
PRIMARY_ARGUMENT = {
    "linear": "out",
    "conv2d": "out",
    "max_pool2d": "kernel",
    "avg_pool2d": "kernel",
    "dropout": "p",
}
LAYER_KINDS: tuple[str, ...] = (*PRIMARY_ARGUMENT, "embedding", *PLAIN_KINDS)


def _known_kind(kind: Any) -> Any:
    """KIND itself when it names a layer, else an error with a did-you-mean."""
    if isinstance(kind, str) and kind not in LAYER_KINDS:
        hint = did_you_mean(kind, LAYER_KINDS) or f"; one of {', '.join(LAYER_KINDS)}"
        raise PydanticCustomError(
            UNKNOWN_LAYER, "unknown layer '{kind}'{hint}", {"kind": kind, "hint": hint}
        )
    return kind


def canonical_layer(value: Any) -> Any:
    """Rewrite the short YAML form of one layer entry as ``{kind: ..., arguments...}``."""
    if isinstance(value, BaseModel) or (isinstance(value, dict) and "kind" in value):
        return value
    if isinstance(value, str):
        return {"kind": _known_kind(value)}
    if not isinstance(value, dict) or len(value) != 1:
        raise PydanticCustomError(
            "invalid",
            "a layer is a name (relu) or a mapping with one key ({linear: 64})",
        )
    ((kind, argument),) = value.items()
    _known_kind(kind)
    if isinstance(argument, dict):
        return {"kind": kind, **argument}
    if argument is None:
        return {"kind": kind}
    if kind in PRIMARY_ARGUMENT:
        return {"kind": kind, PRIMARY_ARGUMENT[kind]: argument}
    raise PydanticCustomError(
        "invalid", "{kind} takes a mapping of arguments, not one value", {"kind": kind}
    )


LayerConfig = Annotated[AnyLayer, Field(discriminator="kind"), BeforeValidator(canonical_layer)]
