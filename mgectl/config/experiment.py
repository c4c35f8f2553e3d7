"""The whole experiment config: cross-section rules, loading with --set, and resolving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from engine.core.device import DEVICE_NAMES, DeviceNameError, parse_device_name
from engine.data.synthetic import GENERATORS
from mgectl.config.messages import format_validation_error
from mgectl.config.names import MODEL_TASKS
from mgectl.config.optimizers import (
    CosineSchedulerConfig,
    MultiStepSchedulerConfig,
    OptimizerConfig,
    SchedulerConfig,
    StepSchedulerConfig,
    default_optimizer,
)
from mgectl.config.overrides import apply_overrides, override_sources
from mgectl.config.sections import (
    AnyLossConfig,
    CNNModelConfig,
    DataConfig,
    EarlyStoppingConfig,
    FileDataConfig,
    LinearModelConfig,
    LossConfig,
    MLPModelConfig,
    ModelConfig,
    OutputConfig,
    PluginLossConfig,
    PluginModelConfig,
    Section,
    SequentialModelConfig,
    SoftmaxModelConfig,
    SyntheticDataConfig,
    TrainConfig,
    loss_task,
    raise_if,
)
from mgectl.config.sweep import SweepConfig, sweep_problems
from mgectl.config.yamlio import read_config_mapping
from mgectl.errors import ConfigError

__all__ = [
    "CNNModelConfig",
    "CosineSchedulerConfig",
    "DataConfig",
    "EarlyStoppingConfig",
    "ExperimentConfig",
    "FileDataConfig",
    "LinearModelConfig",
    "LossConfig",
    "MLPModelConfig",
    "ModelConfig",
    "MultiStepSchedulerConfig",
    "OptimizerConfig",
    "OutputConfig",
    "PluginLossConfig",
    "PluginModelConfig",
    "SchedulerConfig",
    "SequentialModelConfig",
    "SoftmaxModelConfig",
    "StepSchedulerConfig",
    "SyntheticDataConfig",
    "TrainConfig",
    "SweepConfig",
    "load_config",
    "raw_config",
    "resolved_dict",
    "resolved_yaml",
    "summary",
    "validate_config",
]

KIND_KEYS = ("type", "generator", "path")
NAME_MAX = 100  # a directory name with room for the run id, on any file system
CONFIG_HINT = "`mgectl schema` lists every key, its type and default"


# ----------------------------------------------------------------------------- experiment


class ExperimentConfig(Section):
    """One experiment: data, model, loss, optimizer, training loop and output."""

    name: str = Field("experiment", min_length=1, description="run name; default: file stem")
    seed: int = Field(0, ge=0, lt=2**63, description="seeds weights, shuffling and the split")
    device: str = Field("xpux", description=DEVICE_NAMES)
    data: DataConfig
    model: ModelConfig
    loss: AnyLossConfig | None = Field(None, description="null: mse or cross_entropy by task")
    optimizer: OptimizerConfig = Field(default_factory=default_optimizer)
    train: TrainConfig = Field(default_factory=TrainConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    sweep: SweepConfig | None = Field(None, description="for mgectl sweep; train ignores it")

    @field_validator("device")
    @classmethod
    def _device_name(cls, value: str) -> str:
        try:
            parse_device_name(value)  # the engine's grammar; whether it exists here is train's
        except DeviceNameError as error:
            raise ValueError(error.reason) from None
        return value

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError("must be a plain name; it becomes a directory under output.root")
        if not value.isprintable():
            raise ValueError("must not hold control characters (NUL, newline, tab, ...)")
        if len(value) > NAME_MAX:
            raise ValueError(f"must be at most {NAME_MAX} characters (got {len(value)})")
        return value

    @property
    def task(self) -> str:
        """The task after resolution: 'regression' or 'classification'."""
        return _infer_task(self) or "regression"

    @model_validator(mode="after")
    def _resolve_and_cross_check(self) -> ExperimentConfig:
        task = _infer_task(self)
        if task is None:
            raise_if([("data.task", "cannot be inferred; set data.task or loss.type")])
        problems = _task_problems(self, task)
        problems += _schedule_problems(self)
        raise_if(problems)
        if isinstance(self.data, SyntheticDataConfig) and self.data.seed is None:
            self.data.seed = self.seed
        if isinstance(self.data, FileDataConfig) and self.data.task is None:
            self.data.task = task  # type: ignore[assignment]
        if self.loss is None:
            self.loss = LossConfig(type="mse" if task == "regression" else "cross_entropy")
        scheduler = self.optimizer.scheduler
        if isinstance(scheduler, CosineSchedulerConfig) and scheduler.t_max is None:
            scheduler.t_max = max(1, self.train.epochs - scheduler.warmup_epochs)
        if self.sweep is not None:
            raise_if(sweep_problems(self, self.sweep, _validate_trial))
        return self


def _validate_trial(raw: dict[str, Any]) -> ExperimentConfig:
    """Validate a config a sweep's trial would train (the experiment without its sweep)."""
    return validate_config(raw, source="<trial>")


def _infer_task(cfg: ExperimentConfig) -> str | None:
    """The data's own task, else the loss's, else the model's; None when nothing says."""
    if isinstance(cfg.data, SyntheticDataConfig):
        return GENERATORS[cfg.data.generator].task
    if cfg.data.task is not None:
        return cfg.data.task
    if cfg.loss is not None:
        return loss_task(cfg.loss)
    return MODEL_TASKS.get(cfg.model.type)


def _task_problems(cfg: ExperimentConfig, task: str) -> list[tuple[str, str]]:
    """Model, loss and data that disagree about the task."""
    problems = []
    source = (
        f"generator {cfg.data.generator}"
        if isinstance(cfg.data, SyntheticDataConfig)
        else "the data"
    )
    model_task = MODEL_TASKS.get(cfg.model.type)
    if model_task is not None and model_task != task:
        problems.append(("model.type", f"{cfg.model.type} is for {model_task}; {source} is {task}"))
    if cfg.loss is not None and loss_task(cfg.loss) != task:
        key = "loss.task" if cfg.loss.type == "plugin" else "loss.type"
        problems.append((key, f"{cfg.loss.type} is for {loss_task(cfg.loss)}; {source} is {task}"))
    is_images = isinstance(cfg.data, SyntheticDataConfig) and cfg.data.generator == "images"
    if cfg.model.type == "cnn" and isinstance(cfg.data, SyntheticDataConfig) and not is_images:
        problems.append(("model.type", f"cnn needs image data; {source} gives feature vectors"))
    stopping = cfg.train.early_stopping
    if stopping is not None:
        if stopping.monitor.startswith("val_") and cfg.data.val_split == 0:
            problems.append(
                (
                    "train.early_stopping.monitor",
                    f"{stopping.monitor} needs data.val_split > 0",
                )
            )
        if stopping.monitor.endswith("_accuracy") and task != "classification":
            problems.append(
                (
                    "train.early_stopping.monitor",
                    f"{stopping.monitor} needs a classification task",
                )
            )
    return problems


def _schedule_problems(cfg: ExperimentConfig) -> list[tuple[str, str]]:
    """Scheduler epochs that fall outside train.epochs."""
    scheduler = cfg.optimizer.scheduler
    epochs = cfg.train.epochs
    problems = []
    if scheduler is None:
        return problems
    if scheduler.warmup_epochs >= epochs:
        problems.append(
            (
                "optimizer.scheduler.warmup_epochs",
                f"must be < train.epochs ({epochs}) (got {scheduler.warmup_epochs})",
            )
        )
    # milestones at or past the last epoch simply never fire (a shortened run keeps its config)
    return problems


# ----------------------------------------------------------------------------- loading


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read a YAML experiment file, apply ``--set`` overrides and validate; ConfigError if bad."""
    path = Path(path)
    raw = raw_config(path, overrides)
    sources = override_sources(list(overrides))
    return validate_config(raw, source=str(path), base_dir=path.parent, overrides=sources)


def raw_config(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The YAML file's mapping with ``--set`` overrides applied and the name defaulted."""
    raw = apply_overrides(read_config_mapping(path), list(overrides))
    if raw.get("name") is None:
        raw["name"] = path.stem
    return raw


def validate_config(
    raw: dict[str, Any],
    source: str = "<config>",
    base_dir: Path | None = None,
    overrides: dict[tuple[str, ...], str] | None = None,
) -> ExperimentConfig:
    """Validate an already-parsed config dict; every problem is reported in one ConfigError.

    OVERRIDES (override_sources) lets a problem in a --set key name the option, not SOURCE.
    """
    context = {"base_dir": base_dir} if base_dir is not None else None
    try:
        return ExperimentConfig.model_validate(raw, context=context)
    except ValidationError as error:
        problems = format_validation_error(error, source, raw, ExperimentConfig, overrides)
        raise ConfigError(problems, hint=CONFIG_HINT) from None


def resolved_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """The fully resolved config as plain YAML/JSON-safe data, defaults filled in.

    A sweep section is left out: a run trains the experiment, whatever searched over it.
    """
    return _kind_first(cfg.model_dump(mode="json", exclude={"sweep"}))


def _kind_first(value: Any) -> Any:
    """Put the key that says what a section is (type, generator, path) first, as people write."""
    if isinstance(value, list):
        return [_kind_first(item) for item in value]
    if not isinstance(value, dict):
        return value
    leading = [key for key in KIND_KEYS if key in value]
    order = leading + [key for key in value if key not in leading]
    return {key: _kind_first(value[key]) for key in order}


class _ConfigDumper(yaml.SafeDumper):
    """Block-style mappings with flow-style lists, e.g. ``hidden: [64, 64]``."""


_ConfigDumper.add_representer(
    list, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, True)
)


def resolved_yaml(cfg: ExperimentConfig) -> str:
    """The resolved config as YAML text, sections in schema order; loads back to the same."""
    return yaml.dump(resolved_dict(cfg), Dumper=_ConfigDumper, sort_keys=False, width=100)


def summary(cfg: ExperimentConfig) -> str:
    """One line describing the experiment, for ``validate`` and logs."""
    data = cfg.data
    if isinstance(data, SyntheticDataConfig):
        source = f"{data.generator} data" + (f" (n={data.n})" if data.n is not None else "")
    else:
        source = f"{Path(data.path).name}"
    model = cfg.model
    if isinstance(model, MLPModelConfig):
        model_text = f"mlp {model.hidden} {model.activation}"
    elif isinstance(model, SequentialModelConfig):
        model_text = f"sequential ({len(model.layers)} layers)"
    elif isinstance(model, PluginModelConfig):
        model_text = model.class_path
    else:
        model_text = model.type
    opt = cfg.optimizer
    batch = cfg.train.batch_size
    batch_text = "full batch" if batch == "full" else f"batch {batch}"
    loss = cfg.loss.type if cfg.loss is not None else "auto"
    return (
        f"{cfg.name}: {model_text} on {source}, {cfg.task}, {loss} loss, "
        f"{opt.type} lr={opt.lr:g}, {cfg.train.epochs} epochs, {batch_text}, device {cfg.device}"
    )
