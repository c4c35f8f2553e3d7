"""The primitives, grouped by family; importing this package fills the registry."""

from . import conv, elementwise, linalg, nn, norm, reduce, shape

__all__ = ["conv", "elementwise", "linalg", "nn", "norm", "reduce", "shape"]
