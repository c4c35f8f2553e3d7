"""The primitives, grouped by family; importing this package fills the registry."""

from . import (
    activation,
    conv,
    elementwise,
    linalg,
    nn,
    norm,
    order,
    reduce,
    shape,
    transcendental,
)

__all__ = [
    "activation",
    "conv",
    "elementwise",
    "linalg",
    "nn",
    "norm",
    "order",
    "reduce",
    "shape",
    "transcendental",
]
