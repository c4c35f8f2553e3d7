"""ExperimentConfig -> (data, model, loss fn, optimizer, scheduler), each through a registry."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import engine.module as M
import engine.optimizer as optim
from engine.optimizer.lr_scheduler import LRScheduler
from mgectl.build import memory
from mgectl.build.data import PreparedData, prepare
from mgectl.build.losses import LOSSES, LossFn, head_width
from mgectl.build.models import MODELS, InputShape, model_layout
from mgectl.config.optimizers import OPTIMIZERS, OptimizerSection
from mgectl.errors import UserError

if TYPE_CHECKING:
    from mgectl.config.experiment import ExperimentConfig
    from mgectl.config.optimizers import SchedulerConfig
    from mgectl.config.sections import AnyLossConfig, ModelConfig

__all__ = [
    "LOSSES",
    "MODELS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "Built",
    "build",
    "build_dataset",
    "build_loss",
    "build_model",
    "build_optimizer",
    "build_scheduler",
]


def build_dataset(cfg: ExperimentConfig) -> PreparedData:
    """The data split and standardised as the config says, shaped for its model."""
    data = prepare(cfg, model_layout(cfg.model))
    loss_type = cfg.loss.type
    if data.task == "classification" and LOSSES[loss_type].binary and data.num_classes != 2:
        raise UserError(
            f"loss.type: {loss_type} needs exactly two classes; the data has {data.num_classes}",
            hint="use loss.type: cross_entropy for more than two classes",
        )
    return data


def build_model(model_cfg: ModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """The model a ``model:`` section names, for inputs of SHAPE and OUTPUTS numbers out."""
    return MODELS[model_cfg.type].build(model_cfg, shape, outputs)


def build_loss(loss_cfg: AnyLossConfig) -> LossFn:
    """fn(outputs, labels) -> scalar loss Tensor for a ``loss:`` section."""
    return LOSSES[loss_cfg.type].make(loss_cfg)


def build_optimizer(opt_cfg: OptimizerSection, model: M.Module) -> optim.Optimizer:
    """The optimizer an ``optimizer:`` section names, over MODEL's parameters."""
    return OPTIMIZERS[opt_cfg.type](list(model.parameters()), **opt_cfg.hyperparameters())


def _step(opt: optim.Optimizer, s: Any) -> LRScheduler:
    return optim.lr_scheduler.StepLR(opt, step_size=s.step_size, gamma=s.gamma)


def _multistep(opt: optim.Optimizer, s: Any) -> LRScheduler:
    return optim.lr_scheduler.MultiStepLR(opt, milestones=s.milestones, gamma=s.gamma)


def _cosine(opt: optim.Optimizer, s: Any) -> LRScheduler:
    # The inner schedule of a warm-up counts absolute epochs, so annealing "t_max epochs
    # after the warm-up" ends at epoch warmup + t_max.
    end = s.t_max + s.warmup_epochs
    if s.restart is not None:
        return ResumedCosine(opt, s.restart.epoch, s.restart.lr, end, s.eta_min)
    return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=end, eta_min=s.eta_min)


class ResumedCosine(LRScheduler):
    """Cosine from start_lr at start_epoch down to eta_min at end_epoch.

    A run resumed with more epochs continues its cosine this way: the lr goes on from where
    it was instead of jumping to the value a longer schedule would have had by then.
    """

    _state_keys = ("start_epoch", "start_lr", "end_epoch", "eta_min")

    def __init__(
        self,
        optimizer: optim.Optimizer,
        start_epoch: int,
        start_lr: float,
        end_epoch: int,
        eta_min: float,
    ) -> None:
        self.start_epoch, self.start_lr = start_epoch, start_lr
        self.end_epoch, self.eta_min = end_epoch, eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """The lr at current_epoch (start_lr before start_epoch, eta_min after the end)."""
        span = max(self.end_epoch - self.start_epoch, 1)
        done = min(max(self.current_epoch - self.start_epoch, 0), span) / span
        lr = self.eta_min + (self.start_lr - self.eta_min) * (1 + math.cos(math.pi * done)) / 2
        return [lr for _ in self.base_lrs]


SCHEDULERS: dict[str, Callable[[optim.Optimizer, Any], LRScheduler]] = {
    "step": _step,
    "multistep": _multistep,
    "cosine": _cosine,
}


def build_scheduler(
    sched_cfg: SchedulerConfig | None, optimizer: optim.Optimizer
) -> LRScheduler | None:
    """The per-epoch lr schedule, wrapped in a linear warm-up when warmup_epochs > 0."""
    if sched_cfg is None:
        return None
    scheduler = SCHEDULERS[sched_cfg.type](optimizer, sched_cfg)
    if sched_cfg.warmup_epochs > 0:
        # start at lr / (w + 1) and reach lr at epoch w: the factor is (epoch + 1) / (w + 1)
        start = 1.0 / (sched_cfg.warmup_epochs + 1)
        scheduler = optim.lr_scheduler.LinearWarmup(
            scheduler, warmup_epochs=sched_cfg.warmup_epochs, start_factor=start
        )
    return scheduler


@dataclass
class Built:
    """Everything one run trains with."""

    data: PreparedData
    model: M.Module
    loss: LossFn
    optimizer: optim.Optimizer
    scheduler: LRScheduler | None
    outputs: int


def build(cfg: ExperimentConfig) -> Built:
    """Build data, model, loss, optimizer and scheduler from a validated config, in that order.

    The order matters for reproducibility: model initialisation draws from engine.random, so
    the caller seeds it first and nothing before the model may draw from it.
    """
    data = build_dataset(cfg)
    outputs = head_width(cfg.loss.type, data.num_classes)
    memory.check_model(cfg.model, data.shape.features, outputs)
    model = build_model(cfg.model, data.shape, outputs)
    optimizer = build_optimizer(cfg.optimizer, model)
    scheduler = build_scheduler(cfg.optimizer.scheduler, optimizer)
    return Built(data, model, build_loss(cfg.loss), optimizer, scheduler, outputs)
