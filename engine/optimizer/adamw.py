"""AdamW: Adam with decoupled weight decay, as MegEngine 1.13 computes it."""

from __future__ import annotations

from typing import Any

from .adam import Adam


class AdamW(Adam):
    """AdamW: p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p); the decay never enters m or v.

    Same moments, bias correction and state (`exp_avg`, `exp_avg_sq`, `step`) as Adam; only
    where `weight_decay` acts differs. MegEngine's default `weight_decay` is 1e-2.
    """

    _decoupled_decay = True

    def __init__(
        self,
        params: Any,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)
