"""The losses a config can name, as a registry: loss type -> function, head width, predictions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import engine.functional as F
from engine import Tensor
from mgectl.errors import UserError

if TYPE_CHECKING:
    from mgectl.config.sections import LossConfig, PluginLossConfig

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class LossSpec:
    """A registered loss: how to build it and how many outputs the model's head needs."""

    make: Callable[[Any], LossFn]  # the loss config -> fn(outputs, labels)
    binary: bool = False  # a one-output head scoring class 1 (labels must be 0/1)


def _square(cfg: LossConfig) -> LossFn:
    return F.loss.square_loss


def _l1(cfg: LossConfig) -> LossFn:
    return F.loss.l1_loss


def _cross_entropy(cfg: LossConfig) -> LossFn:
    smooth = cfg.label_smooth

    def loss(outputs: Tensor, labels: Tensor) -> Tensor:
        return F.loss.cross_entropy(outputs, labels, label_smooth=smooth)

    return loss


def _binary_cross_entropy(cfg: LossConfig) -> LossFn:
    def loss(outputs: Tensor, labels: Tensor) -> Tensor:
        return F.loss.binary_cross_entropy(outputs, F.astype(labels, "float32"))

    return loss


def _hinge(cfg: LossConfig) -> LossFn:
    def loss(outputs: Tensor, labels: Tensor) -> Tensor:
        # hinge wants labels in {-1, +1}; the data's classes are {0, 1}
        return F.loss.hinge_loss(outputs, F.astype(labels, "float32") * 2 - 1)

    return loss


def _plugin(cfg: PluginLossConfig) -> LossFn:
    from mgectl.build.plugins import construct, import_class

    cls = import_class(cfg.class_path, cfg.python_path, "loss")
    loss = construct(cls, cfg.init_args, {}, "loss")
    if not callable(loss):
        raise UserError(
            f"loss.class_path: {cfg.class_path} objects are not callable",
            hint="define __call__(self, outputs, labels) or subclass engine.module.Module",
        )
    return loss


# Adding a loss is one entry here (plus its name in mgectl/config/names.py).
LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec(_square),
    "l1": LossSpec(_l1),
    "cross_entropy": LossSpec(_cross_entropy),
    "binary_cross_entropy": LossSpec(_binary_cross_entropy, binary=True),
    "hinge": LossSpec(_hinge, binary=True),
    "plugin": LossSpec(_plugin),  # your own class (loss.class_path)
}


def head_width(loss_type: str, num_classes: int | None) -> int:
    """How many numbers the model outputs per sample: 1 for regression and binary heads."""
    if num_classes is None or LOSSES[loss_type].binary:
        return 1
    return num_classes


def predicted_classes(outputs: np.ndarray, loss_type: str) -> np.ndarray:
    """Class indices from raw model outputs (argmax, or score > 0 for a binary head)."""
    if LOSSES[loss_type].binary:
        return (outputs > 0).astype(np.int32)
    return outputs.argmax(axis=1).astype(np.int32)


def class_probabilities(outputs: np.ndarray, loss_type: str) -> np.ndarray:
    """(N, classes) probabilities: softmax of logits, or sigmoid of a binary head's score."""
    outputs = outputs.astype(np.float64)
    if LOSSES[loss_type].binary:
        # hinge scores are margins, not logits; the sigmoid still orders them the same way
        p = 1.0 / (1.0 + np.exp(-outputs))
        return np.stack([1.0 - p, p], axis=1)
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
