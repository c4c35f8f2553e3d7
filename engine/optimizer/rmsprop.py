"""RMSprop. MegEngine 1.13 has no RMSprop: this follows PyTorch's `torch.optim.RMSprop`."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, buffer, check_hyper, next_step


class RMSprop(Optimizer):
    """RMSprop with PyTorch's formula (MegEngine 1.13 has none to follow).

    g = g + wd*p; s = alpha*s + (1-alpha)*g*g; if centered: a = alpha*a + (1-alpha)*g and the
    denominator is sqrt(s - a*a) + eps, else sqrt(s) + eps (eps outside the root); with
    momentum: b = momentum*b + g/denom; p -= lr*b, else p -= lr * g/denom.
    State per parameter: `step`, `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg`
    (centered), named as in PyTorch.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_hyper(group["eps"] >= 0.0, "epsilon value", group["eps"])
        check_hyper(group["momentum"] >= 0.0, "momentum value", group["momentum"])
        check_hyper(group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])
        check_hyper(0.0 <= group["alpha"] <= 1.0, "alpha value", group["alpha"])

    def _update(self, param: Any, grad: Any, group: dict, state: dict) -> None:
        f = param.dtype.type
        alpha = f(group["alpha"])
        next_step(state)
        square_avg = buffer(state, "square_avg", param)
        momentum = group["momentum"]
        buf = buffer(state, "momentum_buffer", param) if momentum > 0 else None
        grad_avg = buffer(state, "grad_avg", param) if group["centered"] else None
        if group["weight_decay"]:
            grad = grad + param * f(group["weight_decay"])

        square = grad * grad
        square *= f(1.0) - alpha
        square_avg *= alpha
        square_avg += square
        if grad_avg is not None:
            grad_avg *= alpha
            grad_avg += grad * (f(1.0) - alpha)
            denom = square_avg - grad_avg * grad_avg
            denom **= f(0.5)
        else:
            denom = square_avg ** f(0.5)
        denom += f(group["eps"])
        delta = grad / denom
        if buf is not None:
            buf *= f(momentum)
            buf += delta
            delta = buf * f(group["lr"])
        else:
            delta *= f(group["lr"])
        param -= delta
