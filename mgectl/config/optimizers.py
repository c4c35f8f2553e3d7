"""The optimizer: section: one pydantic model per engine optimizer, derived from its constructor.

The engine's optimizer constructors are the one table of hyper-parameters and defaults: each
section's keys, types and defaults are read from their signatures. What mgectl adds is a name
per optimizer (`OPTIMIZERS`), the allowed range of each hyper-parameter name (`RANGES`), and
the learning rate a config gets when neither YAML nor engine gives one. Adding an optimizer is
one engine class and one line in `OPTIMIZERS`.
"""

from __future__ import annotations

import inspect
import itertools
import typing
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, create_model, field_validator, model_validator

import engine.optimizer as optim
from mgectl.config.sections import Section, raise_if

# name in YAML -> engine optimizer class
OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    "sgd": optim.SGD,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "adagrad": optim.Adagrad,
    "rmsprop": optim.RMSprop,
    "adadelta": optim.Adadelta,
}
DEFAULT_TYPE = "sgd"  # an optimizer: section without type:
DEFAULT_LR = 0.01  # SGD, Adam and AdamW require lr; a config need not give one
# pydantic constraints per hyper-parameter name, whichever optimizer takes it
RANGES: dict[str, dict[str, Any]] = {
    "lr": {"gt": 0.0, "description": "learning rate"},
    "momentum": {"ge": 0.0, "lt": 1.0},
    "weight_decay": {"ge": 0.0, "description": "L2 penalty"},
    "eps": {"gt": 0.0},
    "alpha": {"ge": 0.0, "lt": 1.0},
    "rho": {"ge": 0.0, "le": 1.0},
    "lr_decay": {"ge": 0.0},
}
Beta = Annotated[float, Field(ge=0.0, lt=1.0)]
TYPES: dict[str, Any] = {"betas": tuple[Beta, Beta]}  # tighter than the engine's annotation


def _warmup_epochs() -> Any:
    return Field(0, ge=0, description="linear warm-up from 0 to lr over these first epochs")


class StepSchedulerConfig(Section):
    """Multiply lr by gamma every step_size epochs."""

    type: Literal["step"]
    step_size: int = Field(ge=1, description="epochs between decays")
    gamma: float = Field(0.1, gt=0.0, le=1.0)
    warmup_epochs: int = _warmup_epochs()


class MultiStepSchedulerConfig(Section):
    """Multiply lr by gamma at each milestone epoch."""

    type: Literal["multistep"]
    milestones: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    gamma: float = Field(0.1, gt=0.0, le=1.0)
    warmup_epochs: int = _warmup_epochs()

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("must be strictly increasing epochs")
        return value


class CosineRestart(Section):
    """Where a resumed run with more epochs picks the cosine up: this epoch, at this lr."""

    epoch: int = Field(ge=0)
    lr: float = Field(gt=0.0, allow_inf_nan=False)


class CosineSchedulerConfig(Section):
    """Cosine annealing from lr to eta_min over t_max epochs."""

    type: Literal["cosine"]
    t_max: int | None = Field(None, ge=1, description="epochs to anneal; null: the rest")
    eta_min: float = Field(0.0, ge=0.0)
    warmup_epochs: int = _warmup_epochs()
    restart: CosineRestart | None = Field(
        None,
        description="set by --resume when train.epochs changes: anneal on from this epoch's lr",
    )


SchedulerConfig = Annotated[
    StepSchedulerConfig | MultiStepSchedulerConfig | CosineSchedulerConfig,
    Field(discriminator="type"),
]


class OptimizerSection(Section):
    """Base of every optimizer section: the engine's own checks run at validate time."""

    type: str

    def hyperparameters(self) -> dict[str, Any]:
        """The keyword arguments of the engine optimizer's constructor."""
        return self.model_dump(exclude={"type", "scheduler"})

    @model_validator(mode="after")
    def _engine_accepts(self) -> OptimizerSection:
        """Build the engine optimizer over one scalar so its own checks run now, not at train."""
        from engine import Parameter

        hyper = self.hyperparameters()
        try:
            OPTIMIZERS[self.type]([Parameter(0.0, device="cpu0")], **hyper)
        except ValueError as error:
            message = str(error)
            # name the key the engine's message is about: the first one it mentions
            lower = message.lower()
            mentioned = [k for k in hyper if k in lower]
            key = min(mentioned, key=lower.index) if mentioned else "type"
            raise_if([(key, message)])
        return self


def hyperparameters(cls: type[optim.Optimizer]) -> dict[str, tuple[Any, Any]]:
    """name -> (type, default) of a constructor's keyword arguments after `params`."""
    hints = typing.get_type_hints(cls.__init__)
    found = {}
    for name, param in list(inspect.signature(cls.__init__).parameters.items())[2:]:
        default = param.default if param.default is not inspect.Parameter.empty else None
        if name == "lr" and default is None:
            default = DEFAULT_LR
        found[name] = (TYPES.get(name, hints.get(name, Any)), default)
    return found


def _section(name: str, cls: type[optim.Optimizer]) -> type[OptimizerSection]:
    fields: dict[str, Any] = {
        "type": (Literal[name], name if name == DEFAULT_TYPE else ...),  # type: ignore[valid-type]
    }
    for key, (annotation, default) in hyperparameters(cls).items():
        fields[key] = (annotation, Field(default, **RANGES.get(key, {})))
    fields["scheduler"] = (SchedulerConfig | None, None)
    return create_model(
        f"{cls.__name__}Config",
        __base__=OptimizerSection,
        __doc__=f"engine.optimizer.{cls.__name__}: {(cls.__doc__ or '').splitlines()[0]}",
        **fields,
    )


SECTIONS: dict[str, type[OptimizerSection]] = {n: _section(n, c) for n, c in OPTIMIZERS.items()}


def _optimizer_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type", DEFAULT_TYPE)
        return kind if isinstance(kind, str) else None
    return getattr(value, "type", None)


OptimizerConfig = Annotated[
    typing.Union[tuple(Annotated[m, Tag(n)] for n, m in SECTIONS.items())],  # noqa: UP007
    Discriminator(_optimizer_kind),
]


def default_optimizer() -> OptimizerSection:
    """The optimizer of a config without an optimizer: section."""
    return SECTIONS[DEFAULT_TYPE]()
