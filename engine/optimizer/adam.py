"""Adam, as MegEngine 1.13 computes it (weight decay is an L2 term added to the gradient)."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, buffer, check_hyper, next_step


class Adam(Optimizer):
    """Adam: m = b0*m + (1-b0)*g; v = b1*v + (1-b1)*g*g; p -= lr * m_hat / (sqrt(v_hat) + eps).

    `m_hat = m / (1 - b0**t)` and `v_hat = v / (1 - b1**t)`, with `eps` added *after* the square
    root, and `weight_decay` folded into the gradient first (`g = g + wd * p`), exactly as
    MegEngine 1.13 does. State per parameter: `exp_avg`, `exp_avg_sq`, `step`.
    """

    _decoupled_decay = False  # AdamW sets this: decay is applied to p, not added to g

    def __init__(
        self,
        params: Any,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {"lr": lr, "weight_decay": weight_decay, "betas": betas, "eps": eps}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        wd, betas, eps = group["weight_decay"], group["betas"], group["eps"]
        check_hyper(wd >= 0.0, "weight_decay value", wd)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta0, beta1))")
        for i, beta in enumerate(betas):
            check_hyper(0.0 <= beta < 1.0, f"beta parameter at index {i}", beta)
        check_hyper(eps >= 0.0, "epsilon value", eps)

    def _update(self, param: Any, grad: Any, group: dict, state: dict) -> None:
        f = param.dtype.type  # do the scalar math in the parameter's precision, as MegEngine does
        one = f(1.0)
        beta0, beta1 = f(group["betas"][0]), f(group["betas"][1])
        wd = group["weight_decay"]
        if wd and not self._decoupled_decay:
            grad = grad + param * f(wd)
        exp_avg = buffer(state, "exp_avg", param)
        exp_avg_sq = buffer(state, "exp_avg_sq", param)
        step = f(next_step(state))

        exp_avg *= beta0
        exp_avg += grad * (one - beta0)
        square = grad * grad
        square *= one - beta1
        exp_avg_sq *= beta1
        exp_avg_sq += square

        denom = exp_avg_sq / (one - beta1**step)
        denom **= f(0.5)
        denom += f(group["eps"])
        delta = exp_avg / (one - beta0**step)
        delta /= denom
        if wd and self._decoupled_decay:
            delta += param * f(wd)
        delta *= f(group["lr"])
        param -= delta
