"""The primitives, grouped by family; importing this package fills the registry."""

from . import elementwise, linalg, nn, reduce, shape

__all__ = ["elementwise", "linalg", "nn", "reduce", "shape"]
