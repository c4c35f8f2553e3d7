"""``Collator``: merges a list of samples into one batch, as MegEngine's default collator does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class Collator:
    """Stacks samples field by field, keeping their structure (MegEngine 1.13's rules).

    Arrays are stacked along a new first axis (C-contiguous); numpy scalars keep their dtype,
    Python ints become int64 (bools stay bool) and floats float64; strings and bytes stay a
    list. Dicts give a dict, namedtuples the same namedtuple, other tuples and lists a *list*
    with one entry per field. Anything else is a TypeError. A subclass may override ``apply``.

    >>> Collator().apply([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 2)])
    [array([[0., 0.],
           [1., 1.]], dtype=float32), array([1, 2])]
    """

    def apply(self, inputs: Sequence[Any]) -> Any:
        """The batch made of ``inputs``, a non-empty list of samples of the same structure."""
        if len(inputs) == 0:
            raise IndexError("Collator.apply got an empty list of samples")
        first = inputs[0]
        if isinstance(first, np.ndarray):
            if first.dtype.kind == "O":
                raise TypeError(_refusal("object arrays"))
            return np.ascontiguousarray(np.stack(inputs))
        if isinstance(first, np.generic) and not isinstance(first, np.str_):
            return np.array(inputs)  # numpy scalars (np.bytes_ too) keep their dtype
        if isinstance(first, float):
            return np.array(inputs, dtype=np.float64)
        if isinstance(first, int):
            return np.array(inputs)
        if isinstance(first, str | bytes):
            return list(inputs)
        if isinstance(first, Mapping):
            return {key: self.apply([sample[key] for sample in inputs]) for key in first}
        if isinstance(first, Sequence):
            lengths = {len(sample) for sample in inputs}
            if len(lengths) != 1:
                # MegEngine's zip silently cuts every sample to the shortest one
                raise ValueError(f"Collator got samples of different lengths {sorted(lengths)}")
            fields = [self.apply(column) for column in zip(*inputs, strict=True)]
            return type(first)(*fields) if hasattr(first, "_fields") else fields
        raise TypeError(_refusal(type(first).__name__))


def _refusal(what: str) -> str:
    return (
        f"Collator cannot batch samples of {what}: they must be numpy arrays, numbers, "
        "strings, bytes, dicts, lists or tuples of these"
    )


__all__ = ["Collator"]
