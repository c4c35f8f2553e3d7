"""The activation names a config can use (model.activation, sequential layers) -> modules."""

from __future__ import annotations

from collections.abc import Callable

import engine.module as M

ACTIVATIONS: dict[str, Callable[[], M.Module]] = {
    "relu": M.ReLU,
    "tanh": M.Tanh,
    "sigmoid": M.Sigmoid,
    "gelu": M.GELU,
    "silu": M.SiLU,
    "leaky_relu": M.LeakyReLU,
}
