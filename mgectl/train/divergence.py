"""Catch a NaN/inf loss, gradient or updated weight before it is kept, and say what to do."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import engine.functional as F
from mgectl.errors import TrainingDivergedError


class NonFiniteError(Exception):
    """Raised inside the loop when the loss, a gradient or the updated state is NaN/inf.

    STATE names the first non-finite parameter or optimizer buffer after an epoch's steps
    (then the loss and gradients were finite, and the epoch is not kept).
    """

    def __init__(
        self,
        epoch: int,
        step: int,
        steps: int,
        loss: float,
        param: str | None,
        state: str | None = None,
    ):
        super().__init__(f"epoch {epoch} step {step}")
        self.epoch, self.step, self.steps, self.loss, self.param = epoch, step, steps, loss, param
        self.state = state


def first_nonfinite(named_params: list[tuple[str, Any]]) -> str | None:
    """The name of the first parameter whose gradient holds a NaN or inf, else None."""
    sums = [F.sum(p.grad) for _, p in named_params if p.grad is not None]
    if not sums:
        return None
    total = sums[0]
    for partial in sums[1:]:
        total = total + partial
    if math.isfinite(total.item()):  # one host sync per step; NaN/inf anywhere poisons the sum
        return None
    for name, p in named_params:
        if p.grad is not None and F.sum(F.isnan(p.grad) + F.isinf(p.grad)).item() > 0:
            return name
    return None  # the sum overflowed, but every element is finite


def _arrays(tree: Any, where: str) -> Iterator[tuple[str, np.ndarray]]:
    """Every floating-point array in a state_dict-like tree, with its dotted name."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _arrays(value, f"{where}.{key}" if where else str(key))
    elif isinstance(tree, np.ndarray | np.generic) and np.asarray(tree).dtype.kind == "f":
        yield where, np.asarray(tree)


def first_nonfinite_state(snapshot: dict[str, Any]) -> str | None:
    """The first parameter, buffer or optimizer state array of SNAPSHOT holding NaN/inf.

    Checked on the host copies a snapshot already holds, so it costs no device sync.
    """
    state = snapshot.get("optimizer", {}).get("state", {})
    for name, array in [*_arrays(snapshot["model"], ""), *_arrays(state, "optimizer.state")]:
        if not np.isfinite(array).all():
            return name
    return None


def diverged(bad: NonFiniteError, lr: float, checkpoint: Path, epochs_done: int) -> Exception:
    """The user's message for a NaN/inf: where, which parameter, what was kept, what to try."""
    where = f"epoch {bad.epoch}, step {bad.step}/{bad.steps}"
    kept = f"{checkpoint} keeps the last good state ({epochs_done} epoch(s))"
    if bad.state is not None:
        what = f"{bad.state} became non-finite in the optimizer steps of epoch {bad.epoch}"
        message = f"{what}; epoch {bad.epoch} was not kept; {kept}"
    else:
        grad = f"first non-finite gradient: {bad.param}" if bad.param else "gradients finite"
        message = f"loss became {bad.loss:g} at {where} ({grad}); the weights were not updated; "
        message += kept
    return TrainingDivergedError(
        message,
        hint=f"lower the learning rate (optimizer.lr is {lr:g}), e.g. "
        f"--set optimizer.lr={lr / 10:g}",
    )
