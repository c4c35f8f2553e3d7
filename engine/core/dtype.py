"""MegEngine's dtype rules: which NumPy dtype a new tensor gets."""

from __future__ import annotations

import numpy as np

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
bool_ = np.dtype("bool")

# MegEngine stores 64-bit inputs in 32 bits; everything else keeps its dtype.
_NARROW = {
    np.dtype("float64"): float32,
    np.dtype("int64"): int32,
    np.dtype("uint64"): int32,
    np.dtype("uint32"): int32,
}


def canonical_dtype(dtype: np.dtype) -> np.dtype:
    """Return the dtype MegEngine gives an array of `dtype` when no dtype is asked for."""
    return _NARROW.get(dtype, dtype)


def resolve_dtype(dtype: object) -> np.dtype:
    """Turn a user's dtype argument (str, numpy type or dtype) into a numpy dtype."""
    try:
        result = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as exc:
        raise TypeError(f"unknown dtype {dtype!r}") from exc
    if result.kind not in "biuf":
        raise TypeError(f"unsupported dtype {result.name!r}: use a bool, integer or float dtype")
    return result
