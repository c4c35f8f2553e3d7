"""Adagrad, as MegEngine 1.13 computes it (eps inside the square root, MegEngine's lr_decay)."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, buffer, check_hyper, next_step


class Adagrad(Optimizer):
    """Adagrad: s += g*g; p -= lr / (1 + (t-1)*lr_decay) * g / sqrt(s + eps).

    `weight_decay` is an L2 term added to the gradient first (`g = g + wd * p`). Unlike
    PyTorch (`g / (sqrt(s) + eps)`), MegEngine puts `eps` inside the square root, and names
    the accumulator `square_avg`. State per parameter: `square_avg`, `step`.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_hyper(group["lr_decay"] >= 0.0, "learning rate decay", group["lr_decay"])
        check_hyper(group["eps"] >= 0.0, "epsilon value", group["eps"])
        check_hyper(group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])

    def _update(self, param: Any, grad: Any, group: dict, state: dict) -> None:
        f = param.dtype.type
        one = f(1.0)
        square_avg = buffer(state, "square_avg", param)
        step = f(next_step(state))
        if group["weight_decay"]:
            grad = grad + param * f(group["weight_decay"])

        square_avg += grad * grad
        denom = square_avg + f(group["eps"])
        denom **= f(0.5)
        delta = grad / denom
        delta *= f(group["lr"]) / (one + (step - one) * f(group["lr_decay"]))
        param -= delta
