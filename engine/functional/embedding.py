"""F.embedding: rows of a table picked by integer indices (a getitem, so its gradient adds
each picked row's gradient back onto the table)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor, as_tensor
from .tensor import reshape


def embedding(
    inp: Any,
    weight: Any,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float | None = None,
) -> Tensor:
    """Rows of weight picked by the integer tensor inp: shape inp.shape + (embedding_dim,)."""
    if padding_idx is not None:
        raise ValueError("embedding: padding_idx is not supported (MegEngine 1.13 neither)")
    if max_norm is not None or norm_type is not None:
        raise ValueError("embedding: max_norm/norm_type are not supported (MegEngine 1.13 neither)")
    weight = as_tensor(weight)
    inp = as_tensor(inp, weight)
    if inp.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {inp.dtype}")
    return reshape(weight[reshape(inp, -1)], (*inp.shape, weight.shape[-1]))
