"""Estimate the memory a run needs before allocating it, and refuse what cannot fit."""

from __future__ import annotations

import os
from typing import Any

from mgectl.errors import UserError

GIB = 1024**3
FLOAT_BYTES = 4
DATA_COPIES = 4  # generated, split, standardised and on-device copies of the features
# a parameter's value, gradient and up to two optimizer buffers (Adam's moments)
PARAMETER_COPIES = 4


def machine_bytes() -> int | None:
    """Physical memory of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def refuse_if_too_big(needed: int, what: str, key: str, hint: str) -> None:
    """A UserError "KEY: WHAT would need about X GiB" when NEEDED exceeds this machine."""
    total = machine_bytes()
    if total is not None and needed > total:
        raise UserError(
            f"{key}: {what} would need about {needed / GIB:.3g} GiB of memory; this machine "
            f"has {total / GIB:.3g} GiB",
            hint=hint,
        )


def check_generated_data(data: Any, sample_size: int) -> None:
    """Refuse a generator's data.n whose features cannot fit, before generating them."""
    needed = int(data.n or 0) * sample_size * FLOAT_BYTES * DATA_COPIES
    refuse_if_too_big(needed, f"{data.n} samples", "data.n", "ask for fewer samples")


def dense_parameters(model: Any, features: int, outputs: int) -> int | None:
    """How many parameters a stack of dense layers has (None for other model types)."""
    widths = [features, *getattr(model, "hidden", []), outputs]
    if model.type not in ("mlp", "softmax", "linear"):
        return None
    if model.type == "linear":
        return 2
    return sum((a + 1) * b for a, b in zip(widths, widths[1:], strict=False))


def check_model(model: Any, features: int, outputs: int) -> None:
    """Refuse a model whose parameters (with gradients and optimizer state) cannot fit."""
    count = dense_parameters(model, features, outputs)
    if count is None:
        return
    needed = count * FLOAT_BYTES * PARAMETER_COPIES
    what = f"a model of {count:,} parameters"
    refuse_if_too_big(needed, what, "model", "use narrower layers (model.hidden)")
