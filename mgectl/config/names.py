"""The names users may write in YAML and on the command line, in one light module.

Light because `mgectl --help` must not import NumPy: the generator names are mirrored here
for gen-data's help (tests/mgectl/commands/test_gen_data.py keeps them equal); what the
generators take and produce is read from engine.data.synthetic by the config itself.
"""

from __future__ import annotations

from typing import Literal, get_args

GeneratorName = Literal["linear", "polynomial", "blobs", "moons", "spirals", "images"]
Task = Literal["regression", "classification"]
ModelType = Literal["linear", "mlp", "softmax", "cnn", "sequential", "plugin"]
Activation = Literal["relu", "tanh", "sigmoid", "gelu", "silu", "leaky_relu"]
LossType = Literal["mse", "l1", "cross_entropy", "binary_cross_entropy", "hinge"]
SchedulerType = Literal["step", "multistep", "cosine"]
Monitor = Literal["val_loss", "val_accuracy", "train_loss", "train_accuracy"]
LogTarget = Literal["tensorboard"]

GENERATOR_NAMES: tuple[str, ...] = get_args(GeneratorName)
MODEL_TYPES: tuple[str, ...] = get_args(ModelType)
LOSS_TYPES: tuple[str, ...] = get_args(LossType)
SCHEDULER_TYPES: tuple[str, ...] = get_args(SchedulerType)

# The parameters a data: section writes as data.n / data.noise / data.seed, not under params
COMMON_GENERATOR_PARAMS = ("n", "noise", "seed")
LOSS_TASKS: dict[str, str] = {
    "mse": "regression",
    "l1": "regression",
    "cross_entropy": "classification",
    "binary_cross_entropy": "classification",
    "hinge": "classification",
}
# Models that only make sense for one task; "mlp" serves both.
MODEL_TASKS: dict[str, str] = {
    "linear": "regression",
    "softmax": "classification",
    "cnn": "classification",
}
