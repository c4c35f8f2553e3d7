"""engine.optimizer (import as optim): optimizers that update Parameters from their grads."""

from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Optimizer"]
