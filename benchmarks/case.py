"""What every framework implementation hands the worker, and how its results are checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks.spec import CHECK_STEPS, RTOL

Values = dict[str, np.ndarray]


class UnavailableError(Exception):
    """A framework cannot run here (torch not installed, no GPU): the pair is skipped."""


def no_sync() -> None:
    """Do nothing: the CPU needs no synchronisation."""


@dataclass
class Case:
    """One workload built in one framework: `step` is the timed unit, `probe` the check values."""

    step: Callable[[], object]
    probe: Callable[[], Values]
    sync: Callable[[], None] = field(default=no_sync)


def training_case(
    step: Callable[[], object],
    loss_value: Callable[[object], float] = float,
    sync: Callable[[], None] = no_sync,
) -> Case:
    """A Case whose probe runs CHECK_STEPS training steps and returns the loss trajectory."""

    def probe() -> Values:
        """Losses of the first CHECK_STEPS steps."""
        return {"loss": np.array([loss_value(step()) for _ in range(CHECK_STEPS)], np.float64)}

    return Case(step=step, probe=probe, sync=sync)


def compare(got: Values, ref: Values, rtol: float = RTOL) -> str | None:
    """None when `got` matches the NumPy reference; else a one-line description of the mismatch."""
    if sorted(got) != sorted(ref):
        return f"check values {sorted(got)} differ from the reference's {sorted(ref)}"
    problems = []
    for key in sorted(ref):
        want = np.asarray(ref[key], np.float64)
        have = np.asarray(got[key], np.float64)
        if have.shape != want.shape:
            problems.append(f"{key}: shape {have.shape} != {want.shape}")
            continue
        if not np.all(np.isfinite(have)):
            problems.append(f"{key}: non-finite values")
            continue
        atol = rtol * float(np.max(np.abs(want), initial=0.0))
        if not np.allclose(have, want, rtol=rtol, atol=atol):
            err = np.abs(have - want)
            where = int(np.argmax(err))
            problems.append(
                f"{key}: max |diff| {err.flat[where]:.3g} at {where} "
                f"(got {have.flat[where]:.7g}, want {want.flat[where]:.7g}, rtol {rtol:g})"
            )
    return "; ".join(problems) or None
