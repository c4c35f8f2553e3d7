"""Gradient clipping over many parameters, as MegEngine's `optim.clip_grad_norm/_value`."""

from __future__ import annotations

from collections.abc import Iterable

from .. import functional as F
from ..tensor import Tensor


def _with_grads(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"clip_grad_* takes Tensors/Parameters, got {type(t).__name__}")
    return [t for t in tensors if t.grad is not None]


def _reset_grad(t: Tensor, value: Tensor) -> None:
    """Replace the gradient's data in place: whoever holds `t.grad` sees the clipped one."""
    t.grad._data = value._data
    t.grad._node = None


def clip_grad_norm(tensors: Tensor | Iterable[Tensor], max_norm: float, ord: float = 2.0) -> Tensor:
    """Scale all gradients by min(1, max_norm / (norm + 1e-6)); returns the total norm.

    The norm is taken over all gradients as if concatenated into one vector.

    Example:
        >>> p = mge.Parameter([0.0, 0.0]); p.grad = mge.tensor([3.0, -4.0])
        >>> optim.clip_grad_norm([p], max_norm=1.0)
        Tensor(5.0, device=xpux:0)
    """
    tensors = _with_grads(tensors)
    if not tensors:
        return Tensor(0.0)
    norms = [F.norm(t.grad.flatten(), ord=ord) for t in tensors]
    total = F.norm(F.stack(norms), ord=ord) if len(norms) > 1 else norms[0]
    scale = F.minimum(max_norm / (total + 1e-6), 1.0)
    for t in tensors:
        _reset_grad(t, (t.grad * scale).astype(t.grad.dtype))
    return total


def clip_grad_value(tensors: Tensor | Iterable[Tensor], lower: float, upper: float) -> None:
    """Clip every gradient elementwise into [lower, upper], in place.

    Example:
        >>> p = mge.Parameter([0.0, 0.0]); p.grad = mge.tensor([3.0, -4.0])
        >>> optim.clip_grad_value([p], -1.0, 1.0); p.grad
        Tensor([ 1. -1.], device=xpux:0)
    """
    for t in _with_grads(tensors):
        _reset_grad(t, F.clip(t.grad, lower, upper))


__all__ = ["clip_grad_norm", "clip_grad_value"]
