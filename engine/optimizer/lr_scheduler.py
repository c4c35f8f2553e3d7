"""Learning-rate schedulers, stepped once per epoch, MegEngine style.

Every scheduler is a closed-form function of the epoch: `get_lr()` computes each group's lr
from `base_lrs` (the groups' `initial_lr`) and `current_epoch` alone, so `step(epoch)` can jump
and a restored `current_epoch` reproduces the schedule exactly. As in MegEngine, constructing a
scheduler already performs the first `step()`: the optimizer then holds the lr of epoch 0, and
each later `step()` (call it at the end of an epoch) moves to the next epoch.

Warm-up composes by wrapping: `LinearWarmup(MultiStepLR(opt, [30, 60]), warmup_epochs=5)`
multiplies the inner schedule by a factor rising linearly from `start_factor` to 1 over the
first `warmup_epochs` epochs; the inner schedule keeps counting absolute epochs. Step only the
outer scheduler. `current_epoch` is MegEngine's name for the epoch counter (`last_epoch`, the
PyTorch name, is an alias). MegEngine 1.13 has only MultiStepLR; StepLR, CosineAnnealingLR
and LinearWarmup follow PyTorch's StepLR, CosineAnnealingLR and LinearLR formulas.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

from ..core.tracing import TRACING, TraceError
from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses implement `get_lr()` for `self.current_epoch`."""

    _state_keys: tuple[str, ...] = ()  # hyper-parameters saved by state_dict(), besides the epoch

    def __init__(self, optimizer: Optimizer, current_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError("optimizer argument given to the lr_scheduler should be Optimizer")
        self.optimizer = optimizer
        self.current_epoch = current_epoch
        if current_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] "
                        "when resuming an optimizer"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.step()

    @property
    def last_epoch(self) -> int:
        """PyTorch's name for `current_epoch` (the epoch whose lr the optimizer holds)."""
        return self.current_epoch

    @last_epoch.setter
    def last_epoch(self, value: int) -> None:
        self.current_epoch = value

    def get_lr(self) -> list[float]:
        """The lr of each parameter group at `current_epoch`."""
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance to the next epoch (or jump to `epoch`) and set every group's lr."""
        if TRACING.recorder is not None:  # a traced function's replays step the schedule too
            if epoch is not None:
                raise TraceError(
                    "trace error because lr_scheduler.step(epoch) jumps to a number that a "
                    "replay would repeat: call step() without an epoch inside a traced "
                    "function, or step the scheduler outside it"
                )
            TRACING.recorder.on_call(self, LRScheduler._next_epoch, "lr_scheduler.step()")
            return
        if epoch is None:
            self._next_epoch()
        else:
            self.current_epoch = epoch
            self._apply()

    def _next_epoch(self) -> None:
        self.current_epoch += 1
        self._apply()

    def _apply(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr

    def state_dict(self) -> dict:
        """The hyper-parameters and `current_epoch` (MegEngine's keys); not the optimizer."""
        return {key: getattr(self, key) for key in (*self._state_keys, "current_epoch")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what state_dict() saved and set the groups' lr for the restored epoch."""
        self._restore(state_dict)
        self._apply()

    def _restore(self, state_dict: dict) -> None:
        keys = (*self._state_keys, "current_epoch")
        for key in keys:
            if key not in state_dict:
                raise KeyError(
                    f"key '{key}' is not specified in state_dict when loading state dict"
                )
        for key in keys:
            setattr(self, key, state_dict[key])


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch), as MegEngine 1.13."""

    _state_keys = ("milestones", "gamma")

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        current_epoch: int = -1,
    ) -> None:
        milestones = list(milestones)
        if milestones != sorted(milestones):
            raise ValueError(
                f"Milestones should be a list of increasing integers. Got {milestones}"
            )
        self.milestones = milestones
        self.gamma = gamma
        super().__init__(optimizer, current_epoch)

    def get_lr(self) -> list[float]:
        """base_lr * gamma ** bisect_right(milestones, current_epoch) for each group."""
        decays = bisect_right(self.milestones, self.current_epoch)
        return [base_lr * self.gamma**decays for base_lr in self.base_lrs]


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size) (PyTorch's StepLR; MegEngine has none)."""

    _state_keys = ("step_size", "gamma")

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, current_epoch: int = -1
    ) -> None:
        if not isinstance(step_size, int) or isinstance(step_size, bool) or step_size < 1:
            raise ValueError(f"step_size should be a positive integer. Got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, current_epoch)

    def get_lr(self) -> list[float]:
        """base_lr * gamma ** (current_epoch // step_size) for each group."""
        decays = max(self.current_epoch, 0) // self.step_size
        return [base_lr * self.gamma**decays for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    PyTorch's closed form (MegEngine has none): base_lr at epoch 0, eta_min at epoch T_max,
    and, like PyTorch, rising again along the same cosine after T_max.
    """

    _state_keys = ("T_max", "eta_min")

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803  (MegEngine/PyTorch spelling)
        eta_min: float = 0.0,
        current_epoch: int = -1,
    ) -> None:
        if not isinstance(T_max, int) or isinstance(T_max, bool) or T_max < 1:
            raise ValueError(f"T_max should be a positive integer. Got {T_max!r}")
        if eta_min < 0:
            raise ValueError(f"eta_min should be >= 0. Got {eta_min}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, current_epoch)

    def get_lr(self) -> list[float]:
        """The cosine-annealed lr of each group at current_epoch."""
        cosine = (1.0 + math.cos(math.pi * self.current_epoch / self.T_max)) / 2.0
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LinearWarmup(LRScheduler):
    """Scale another schedule (or the constant base lr) by a linear warm-up factor.

    factor = start_factor + (1 - start_factor) * epoch / warmup_epochs for epoch <
    warmup_epochs, then 1 (PyTorch's LinearLR with total_iters=warmup_epochs and its default
    start_factor 1/3). `after` may be an Optimizer (constant lr after warm-up) or another
    scheduler on the same optimizer, which keeps counting absolute epochs.
    """

    _state_keys = ("warmup_epochs", "start_factor")

    def __init__(
        self,
        after: Optimizer | LRScheduler,
        warmup_epochs: int,
        start_factor: float = 1.0 / 3.0,
        current_epoch: int = -1,
    ) -> None:
        if not isinstance(warmup_epochs, int) or isinstance(warmup_epochs, bool):
            raise ValueError(f"warmup_epochs should be a positive integer. Got {warmup_epochs!r}")
        if warmup_epochs < 1:
            raise ValueError(f"warmup_epochs should be a positive integer. Got {warmup_epochs}")
        if not 0.0 < start_factor <= 1.0:
            raise ValueError(f"start_factor should be in (0, 1]. Got {start_factor}")
        self.inner = after if isinstance(after, LRScheduler) else None
        optimizer = after.optimizer if isinstance(after, LRScheduler) else after
        self.warmup_epochs = warmup_epochs
        self.start_factor = start_factor
        super().__init__(optimizer, current_epoch)

    def factor(self, epoch: int) -> float:
        """The warm-up multiplier at `epoch` (1 once warm-up is over)."""
        if epoch >= self.warmup_epochs:
            return 1.0
        return self.start_factor + (1.0 - self.start_factor) * max(epoch, 0) / self.warmup_epochs

    def get_lr(self) -> list[float]:
        """The inner schedule's lr (or base lr) times the warm-up factor, for each group."""
        if self.inner is None:
            lrs = self.base_lrs
        else:
            self.inner.current_epoch = self.current_epoch
            lrs = self.inner.get_lr()
        scale = self.factor(self.current_epoch)
        return [lr * scale for lr in lrs]

    def state_dict(self) -> dict:
        """Own keys plus the inner scheduler's state under `inner`."""
        state: dict[str, Any] = super().state_dict()
        if self.inner is not None:
            state["inner"] = self.inner.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore own keys and the inner scheduler's state."""
        if self.inner is not None:
            if "inner" not in state_dict:
                raise KeyError("key 'inner' is not specified in state_dict when loading state dict")
            self.inner._restore(state_dict["inner"])
        super().load_state_dict(state_dict)


__all__ = ["CosineAnnealingLR", "LRScheduler", "LinearWarmup", "MultiStepLR", "StepLR"]
