"""Loss functions (F.loss.*, also reachable as F.nn.*), each with reduction mean|sum|none."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..ops import nn as N
from ..tensor import Tensor, apply, as_float, as_tensor, operands
from .elemwise import abs, log, maximum
from .math import sum
from .tensor import expand_dims, gather, squeeze

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(pred: Any, label: Any) -> tuple[Tensor, Tensor]:
    pred = as_float(pred)
    label = as_tensor(label, pred)
    pred, label = operands(pred, label)
    return pred, label


def _warn_if_broadcast(name: str, pred: Tensor, label: Tensor) -> None:
    """Warn (as PyTorch does) when pred and label differ in shape: broadcasting them, as
    MegEngine does silently, turns an (N, 1) prediction and an (N,) label into N x N terms."""
    if pred.shape != label.shape:
        warnings.warn(
            f"{name}: label shape {label.shape} differs from pred shape {pred.shape}; they "
            f"broadcast to {np.broadcast_shapes(pred.shape, label.shape)}, which is likely "
            "not what you want: give both the same shape (e.g. pred.reshape(label.shape))",
            UserWarning,
            stacklevel=3,
        )


def square_loss(pred: Any, label: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (pred - label) ** 2; also accepts ndarrays, as in the tutorial.

    >>> print(square_loss(np.array([3., 3, 3, 3]), np.array([2., 8, 6, 1])))
    Tensor(9.75, device=xpux:0)
    """
    pred, label = _pair(pred, label)
    _warn_if_broadcast("square_loss", pred, label)
    return apply(N.square_loss, pred, label, reduction=_check_reduction(reduction))


mse_loss = square_loss


def l1_loss(pred: Any, label: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error |pred - label|."""
    pred, label = _pair(pred, label)
    _warn_if_broadcast("l1_loss", pred, label)
    return _reduce(abs(pred - label), _check_reduction(reduction))


def cross_entropy(
    pred: Any,
    label: Any,
    axis: int = 1,
    with_logits: bool = True,
    label_smooth: float = 0,
    reduction: str = "mean",
) -> Tensor:
    """Cross entropy of class scores `pred` (logits, or probabilities) against int labels."""
    pred = as_float(pred)
    label = as_tensor(label, pred)
    _check_reduction(reduction)
    if label.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integer class indices, got {label.dtype}")
    axis = axis % pred.ndim
    expected = pred.shape[:axis] + pred.shape[axis + 1 :]
    if label.shape != expected:
        raise ValueError(
            f"cross_entropy: labels of shape {label.shape} do not fit predictions of shape "
            f"{pred.shape} (expected {expected})"
        )
    classes = pred.shape[axis]
    # Checking values needs them on the host: free on the CPU, a stall per step on a GPU,
    # where (as in MegEngine) out-of-range labels go unchecked.
    if (
        label._device.on_host
        and label.size
        and (int(label._data.min()) < 0 or int(label._data.max()) >= classes)
    ):
        raise ValueError(f"cross_entropy: labels must lie in [0, {classes}), got values outside")
    if with_logits:
        return apply(
            N.softmax_cross_entropy,
            pred,
            label,
            axis=axis,
            label_smooth=float(label_smooth),
            reduction=reduction,
        )
    logp = log(pred)
    picked = -squeeze(gather(logp, axis, expand_dims(label, axis)), axis)
    if label_smooth:
        picked = (1 - label_smooth) * picked - label_smooth / classes * sum(logp, axis)
    return _reduce(picked, reduction)


def binary_cross_entropy(
    pred: Any, label: Any, with_logits: bool = True, reduction: str = "mean"
) -> Tensor:
    """Binary cross entropy of logits (or probabilities) against labels in [0, 1]."""
    pred, label = _pair(pred, label)
    _check_reduction(reduction)
    if pred.shape != label.shape:
        raise ValueError(
            f"binary_cross_entropy: pred shape {pred.shape} differs from label shape {label.shape}"
        )
    if with_logits:
        return apply(N.binary_cross_entropy_logits, pred, label, reduction=reduction)
    loss = -(label * log(pred) + (1 - label) * log(1 - pred))
    return _reduce(loss, reduction)


def hinge_loss(pred: Any, label: Any, norm: str = "L1", reduction: str = "mean") -> Tensor:
    """Hinge loss max(0, 1 - pred * label) summed over axis 1 (squared for norm='L2')."""
    pred, label = _pair(pred, label)
    _warn_if_broadcast("hinge_loss", pred, label)
    _check_reduction(reduction)
    if norm not in ("L1", "L2"):
        raise ValueError(f"hinge_loss: norm must be 'L1' or 'L2', got {norm!r}")
    margin = maximum(1 - pred * label, 0.0)
    if norm == "L2":
        margin = margin * margin
    per_sample = sum(margin, axis=1) if margin.ndim > 1 else margin
    return _reduce(per_sample, reduction)
