"""engine.optimizer (import as optim): optimizers that update Parameters from their grads."""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .clip_grad import clip_grad_norm, clip_grad_value
from .lr_scheduler import CosineAnnealingLR, LinearWarmup, LRScheduler, MultiStepLR, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "LRScheduler",
    "LinearWarmup",
    "MultiStepLR",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm",
    "clip_grad_value",
    "lr_scheduler",
]
