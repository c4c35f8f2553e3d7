"""Embedding: a (num_embeddings, embedding_dim) table looked up by integer indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.nn import embedding
from ..tensor import Parameter, Tensor
from . import init
from .module import Module


class Embedding(Module):
    """Rows of weight ~ N(0, 1) picked by integer indices; freeze stops its gradient.

    padding_idx, max_norm and norm_type exist for MegEngine's signature; like MegEngine
    1.13 the layer refuses any value but None for them.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float | None = None,
        initial_weight: Any = None,
        freeze: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if padding_idx is not None:
            raise ValueError("Embedding: padding_idx is not supported (MegEngine 1.13 neither)")
        if max_norm is not None or norm_type is not None:
            raise ValueError(
                "Embedding: max_norm/norm_type are not supported (MegEngine 1.13 neither)"
            )
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.freeze = freeze
        if initial_weight is None:
            self.weight = Parameter(np.zeros((num_embeddings, embedding_dim), dtype=np.float32))
            self.reset_parameters()
        else:
            values = np.asarray(initial_weight)
            if values.shape != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: initial_weight of shape {values.shape} does not match "
                    f"(num_embeddings, embedding_dim) = {(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(values)

    def reset_parameters(self) -> None:
        """Draw a fresh table from N(0, 1)."""
        init.normal_(self.weight)

    def forward(self, inputs: Any) -> Tensor:
        """Look up inputs (any shape of ints) into inputs.shape + (embedding_dim,)."""
        weight = self.weight.detach() if self.freeze else self.weight
        return embedding(inputs, weight)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float | None = None,
    ) -> Embedding:
        """An Embedding holding a copy of the 2-d table embeddings (frozen by default)."""
        shape = tuple(np.shape(embeddings))
        if len(shape) != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        return cls(
            shape[0],
            shape[1],
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            initial_weight=embeddings,
            freeze=freeze,
        )
