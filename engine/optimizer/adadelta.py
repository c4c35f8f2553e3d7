"""Adadelta, as MegEngine 1.13 computes it (eps inside both square roots)."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, buffer, check_hyper, next_step


class Adadelta(Optimizer):
    """Adadelta: s = rho*s + (1-rho)*g*g; d = sqrt(a + eps) / sqrt(s + eps) * g; p -= lr*d;
    a = rho*a + (1-rho)*d*d.

    `weight_decay` is an L2 term added to the gradient first (`g = g + wd * p`). State per
    parameter, named as MegEngine names it: `square_avg`, `acc_delta`, `step`.

    Example:
        >>> p = mge.Parameter([1.0, -2.0, 3.0])
        >>> opt = optim.Adadelta([p], lr=1.0)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_hyper(0.0 <= group["rho"] <= 1.0, "rho value", group["rho"])
        check_hyper(group["eps"] >= 0.0, "epsilon value", group["eps"])
        check_hyper(group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])

    def _update(self, param: Any, grad: Any, group: dict, state: dict) -> None:
        f = param.dtype.type  # scalar math in the parameter's precision, as MegEngine does
        rho, eps = f(group["rho"]), f(group["eps"])
        square_avg = buffer(state, "square_avg", param)
        acc_delta = buffer(state, "acc_delta", param)
        next_step(state)
        if group["weight_decay"]:
            grad = grad + param * f(group["weight_decay"])
        square_avg *= rho
        square_avg += (f(1.0) - rho) * grad**2
        delta = (acc_delta + eps) ** f(0.5) / (square_avg + eps) ** f(0.5) * grad
        param -= f(group["lr"]) * delta
        acc_delta *= rho
        acc_delta += (f(1.0) - rho) * delta**2
