"""Catch a NaN/inf loss or gradient before the optimizer applies it, and say what to do."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import engine.functional as F
from mgectl.errors import TrainingDivergedError


class NonFiniteError(Exception):
    """Raised inside the loop when the loss or a gradient is NaN/inf, before step() runs."""

    def __init__(self, epoch: int, step: int, steps: int, loss: float, param: str | None):
        super().__init__(f"epoch {epoch} step {step}")
        self.epoch, self.step, self.steps, self.loss, self.param = epoch, step, steps, loss, param


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


def diverged(bad: NonFiniteError, lr: float, checkpoint: Path, epochs_done: int) -> Exception:
    """The user's message for a NaN/inf: where, which parameter, what was kept, what to try."""
    where = f"epoch {bad.epoch}, step {bad.step}/{bad.steps}"
    grad = f"first non-finite gradient: {bad.param}" if bad.param else "gradients finite"
    kept = f"{checkpoint} keeps the last good state ({epochs_done} epoch(s))"
    return TrainingDivergedError(
        f"loss became {bad.loss:g} at {where} ({grad}); the weights were not updated; {kept}",
        hint=f"lower the learning rate (optimizer.lr is {lr:g}), e.g. "
        f"--set optimizer.lr={lr / 10:g}",
    )
