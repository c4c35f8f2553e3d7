"""SGD with momentum, Nesterov momentum and weight decay, as MegEngine computes it."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, buffer


class SGD(Optimizer):
    """p -= lr * (g + wd * p), or with momentum v = m * v + g; p -= lr * v (nesterov: g + m*v)."""

    def __init__(
        self,
        params: Any,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "nesterov": nesterov,
            "weight_decay": weight_decay,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group["momentum"] < 0:
            raise ValueError(f"Invalid momentum value: {group['momentum']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("Nesterov momentum requires a momentum > 0")

    def _update(self, param: Any, grad: Any, group: dict, state: dict) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd:
            grad = grad + wd * param
        if momentum:
            buf = buffer(state, "momentum_buffer", param)  # zeros first, as MegEngine: v = g
            buf *= momentum
            buf += grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad

    def _update_reusing_grad(
        self, xp: Any, param: Any, grad: Any, group: dict, state: dict
    ) -> None:
        """The plain and momentum updates with `lr * v` written into the spent gradient,
        not a new array (the same values: one float32 product either way)."""
        if group["weight_decay"] or group["nesterov"]:
            self._update(param, grad, group, state)
            return
        velocity = grad
        if group["momentum"]:
            velocity = buffer(state, "momentum_buffer", param)
            velocity *= group["momentum"]
            velocity += grad
        xp.multiply(velocity, group["lr"], out=grad)
        param -= grad
