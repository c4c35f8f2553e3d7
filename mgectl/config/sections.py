"""The pydantic model of each config section: data, model, loss, train, output (optimizer:
in mgectl/config/optimizers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.data.synthetic import GENERATORS
from mgectl.config.layers import LayerConfig
from mgectl.config.messages import CROSS_FIELD, did_you_mean
from mgectl.config.names import (
    COMMON_GENERATOR_PARAMS,
    LOSS_TASKS,
    Activation,
    LogTarget,
    LossType,
    Monitor,
    Task,
)

PositiveInt = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, never silently ignored.

    No float of a config may be NaN or infinite (.nan, .inf in YAML): none has a meaning.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


FLOAT32_MAX = 3.4028234663852886e38
Float32 = Annotated[
    float,
    Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX, description="a float32 value"),
]
MAX_COUNT = 2**31 - 1  # epochs, sizes, widths: beyond any run, and still a C int


def cross_field_error(problems: list[tuple[str, str]]) -> PydanticCustomError:
    """Build one error carrying several (dotted key, reason) problems found across fields."""
    text = "; ".join(f"{key}: {reason}" for key, reason in problems)
    return PydanticCustomError(CROSS_FIELD, "{text}", {"problems": problems, "text": text})


def invalid(reason: str) -> PydanticCustomError:
    """A validation error whose message is exactly REASON (for checks on a value's type)."""
    return PydanticCustomError("invalid", "{reason}", {"reason": reason})


def raise_if(problems: list[tuple[str, str]]) -> None:
    """Raise one cross-field error carrying every (dotted key, reason) in PROBLEMS, if any."""
    if problems:
        raise cross_field_error(problems)


# ----------------------------------------------------------------------------- data


def _val_split() -> Any:
    return Field(0.0, ge=0.0, lt=1.0, description="fraction held out for validation")


def _standardize() -> Any:
    return Field(False, description="scale features to zero mean, unit variance")


def _test_split() -> Any:
    return Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="fraction held out as a test set, evaluated once at the end",
    )


def _stratify() -> Any:
    return Field(False, description="classification: keep each class's share in every split")


def _standardize_target() -> Any:
    return Field(
        False, description="regression: train on standardised targets, report original units"
    )


class SyntheticDataConfig(Section):
    """Data drawn from one of engine.data.synthetic's generators."""

    generator: Literal[tuple(GENERATORS)]  # type: ignore[valid-type]
    n: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="number of samples (generator default if null)"
    )
    noise: float | None = Field(None, ge=0.0, description="noise level (generator default)")
    seed: int | None = Field(
        None, ge=0, lt=2**63, description="generator seed; null means the experiment seed"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="extra keyword arguments for the generator"
    )
    val_split: float = _val_split()
    test_split: float = _test_split()
    stratify: bool = _stratify()
    standardize: bool = _standardize()
    standardize_target: bool = _standardize_target()

    _splits = model_validator(mode="after")(lambda self: _check_splits(self))

    @model_validator(mode="after")
    def _generator_takes_params(self) -> SyntheticDataConfig:
        accepted = tuple(GENERATORS[self.generator].params)
        extras = [name for name in accepted if name not in COMMON_GENERATOR_PARAMS]
        takes = f"{self.generator} takes {', '.join(accepted)}"
        problems = []
        if self.noise is not None and "noise" not in accepted:
            problems.append(("noise", f"{self.generator} has no noise level; {takes}"))
        for key in self.params:
            if key in COMMON_GENERATOR_PARAMS:
                problems.append((f"params.{key}", f"write it as data.{key}, not under params"))
            elif key not in accepted:
                hint = did_you_mean(key, extras) or f"; {takes}"
                problems.append((f"params.{key}", f"unknown parameter {key!r}{hint}"))
        raise_if(problems)
        return self


class FileDataConfig(Section):
    """Data read from a CSV or NPZ file."""

    path: str = Field(description="CSV or NPZ file; relative to the working directory")
    features: list[str | int] | None = Field(
        None,
        description="feature columns by name or index; null means all but the label",
    )
    label: str | int | None = Field(None, description="label column; null means the last one")
    task: Task | None = Field(None, description="inferred from the model or loss when null")
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="CSV field separator; null: detected"
    )
    missing: Literal["error", "drop", "mean", "median"] = Field(
        "error", description="empty/NA cells: an error, drop the row, or fill from training rows"
    )
    categorical: list[str | int] | None = Field(
        None, description="columns holding categories; null: every text column"
    )
    encoding: Literal["onehot", "index"] = Field(
        "onehot", description="categories as one-hot columns, or as indices for embedding layers"
    )
    val_split: float = _val_split()
    test_split: float = _test_split()
    stratify: bool = _stratify()
    standardize: bool = _standardize()
    standardize_target: bool = _standardize_target()

    _splits = model_validator(mode="after")(lambda self: _check_splits(self))

    @field_validator("path")
    @classmethod
    def _existing_csv_or_npz(cls, value: str, info: ValidationInfo) -> str:
        if Path(value).suffix.lower() not in (".csv", ".npz"):
            raise ValueError("must name a .csv or .npz file")
        base_dir = (info.context or {}).get("base_dir")
        return value if base_dir is None else _find_data_file(value, Path(base_dir))

    @field_validator("features", mode="before")
    @classmethod
    def _column_list(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, list):
            raise invalid("must be a list of column names or indices")
        for item in value:
            _check_column(item)
        return value

    @field_validator("label", mode="before")
    @classmethod
    def _column(cls, value: Any) -> Any:
        return value if value is None else _check_column(value)


def _check_splits(data: Any) -> Any:
    """Validation and test rows together must leave rows to train on."""
    if data.val_split + data.test_split >= 1.0:
        total = data.val_split + data.test_split
        raise_if([("test_split", f"val_split + test_split must be < 1 (got {total:g})")])
    return data


def _find_data_file(value: str, base_dir: Path) -> str:
    """Resolve a data path against the working directory, then the config file's directory."""
    path = Path(value)
    if path.is_file():
        return value
    beside_config = base_dir / path
    if not path.is_absolute() and beside_config.is_file():
        return str(beside_config)
    where = "" if path.is_absolute() else f" (looked in . and {base_dir}/)"
    raise ValueError(f"no such file{where}")


def _check_column(value: Any) -> str | int:
    """Accept a column name or a non-negative index, with one clear message otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid("a column is a name (string) or an index (integer >= 0)")
    if isinstance(value, int) and value < 0:
        raise ValueError("a column index must be >= 0")
    return value


def _data_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "generator" in value:
            return "synthetic"
        if "path" in value:
            return "file"
        return None
    if isinstance(value, SyntheticDataConfig):
        return "synthetic"
    if isinstance(value, FileDataConfig):
        return "file"
    return None


DataConfig = Annotated[
    Annotated[SyntheticDataConfig, Tag("synthetic")] | Annotated[FileDataConfig, Tag("file")],
    Discriminator(
        _data_kind,
        custom_error_type="data_kind",
        custom_error_message="needs either 'generator:' (synthetic data) or 'path:' (a file)",
    ),
]

# ----------------------------------------------------------------------------- model


class LinearModelConfig(Section):
    """The tutorial's scalar model y = w * x + b."""

    type: Literal["linear"]
    init_w: Float32 = 0.0
    init_b: Float32 = 0.0


class MLPModelConfig(Section):
    """A multi-layer perceptron."""

    type: Literal["mlp"]
    hidden: list[PositiveInt] = Field(default_factory=lambda: [64, 64])
    activation: Activation = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    batch_norm: bool = False


class SoftmaxModelConfig(Section):
    """Softmax regression: one linear layer from features to class scores."""

    type: Literal["softmax"]


class CNNModelConfig(Section):
    """A LeNet-style convolutional network: conv + pool blocks, then fully connected layers."""

    type: Literal["cnn"]
    channels: list[PositiveInt] = Field(default_factory=lambda: [6, 16])
    kernel_size: int = Field(3, ge=1)
    hidden: list[PositiveInt] = Field(default_factory=lambda: [120, 84])
    activation: Activation = "relu"


def _dotted_class_path(cls: type, value: str) -> str:
    """A class_path must be module.ClassName (dotted identifiers)."""
    module, _, _ = value.rpartition(".")
    if not module or not all(part.isidentifier() for part in value.split(".")):
        raise ValueError("must be a dotted path module.ClassName")
    return value


def _absolute_folder(cls: type, value: str | None, info: ValidationInfo) -> str | None:
    """python_path as an absolute folder (default: the config's), so the resolved config and
    checkpoints import the same class from anywhere (predict, resume)."""
    base_dir = (info.context or {}).get("base_dir")
    if value is None:
        return None if base_dir is None else str(Path(base_dir).resolve())
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return str(path.resolve())


def _python_path() -> Any:
    return Field(
        None,
        validate_default=True,
        description="folder to import from; null: the config file's folder",
    )


class SequentialModelConfig(Section):
    """Any stack of the engine's layers; input sizes are inferred from the data."""

    type: Literal["sequential"]
    layers: list[LayerConfig] = Field(
        min_length=1, description="e.g. [{linear: 64}, relu, {dropout: 0.1}]"
    )
    head: bool = Field(
        True, description="append a Linear to the task's output width (classes, or 1)"
    )


class PluginSection(Section):
    """A class of your own named by class_path (the LightningCLI convention), with init_args."""

    type: Literal["plugin"] = "plugin"
    class_path: str = Field(description="module.ClassName, e.g. my_models.TinyResNet")
    init_args: dict[str, Any] = Field(default_factory=dict, description="constructor arguments")
    python_path: str | None = _python_path()

    _class_path = field_validator("class_path")(classmethod(_dotted_class_path))
    _python_path = field_validator("python_path")(classmethod(_absolute_folder))


class PluginModelConfig(PluginSection):
    """Your own engine.module.Module subclass, imported by its dotted path."""

    layout: Literal["vector", "image"] = Field(
        "vector", description="what the model takes: (N, features) or (N, C, H, W)"
    )


def _model_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "type" in value:
            return value["type"]
        return "plugin" if "class_path" in value else None
    return getattr(value, "type", None)


ModelConfig = Annotated[
    Annotated[LinearModelConfig, Tag("linear")]
    | Annotated[MLPModelConfig, Tag("mlp")]
    | Annotated[SoftmaxModelConfig, Tag("softmax")]
    | Annotated[CNNModelConfig, Tag("cnn")]
    | Annotated[SequentialModelConfig, Tag("sequential")]
    | Annotated[PluginModelConfig, Tag("plugin")],
    Discriminator(_model_kind),
]

# ----------------------------------------------------------------------------- loss


class LossConfig(Section):
    """The loss function; left out, it follows the task (mse or cross_entropy)."""

    type: LossType
    label_smooth: float = Field(0.0, ge=0.0, lt=1.0, description="only for cross_entropy")

    @model_validator(mode="after")
    def _smoothing_needs_ce(self) -> LossConfig:
        if self.label_smooth > 0 and self.type != "cross_entropy":
            raise_if(
                [
                    (
                        "label_smooth",
                        f"only applies to cross_entropy (type is {self.type})",
                    )
                ]
            )
        return self


class PluginLossConfig(PluginSection):
    """Your own loss class: built with init_args, called as loss(outputs, labels)."""

    task: Task = Field(description="what the labels are: regression targets or class ids")


def _loss_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "type" in value:
            return "plugin" if value["type"] == "plugin" else "builtin"
        return "plugin" if "class_path" in value else "builtin"
    return "plugin" if isinstance(value, PluginLossConfig) else "builtin"


AnyLossConfig = Annotated[
    Annotated[LossConfig, Tag("builtin")] | Annotated[PluginLossConfig, Tag("plugin")],
    Discriminator(_loss_kind),
]


def loss_task(loss: LossConfig | PluginLossConfig) -> str:
    """The task a loss is for: its own for a plug-in, else the built-in loss's."""
    return loss.task if isinstance(loss, PluginLossConfig) else LOSS_TASKS[loss.type]


# ----------------------------------------------------------------------------- train, output


class EarlyStoppingConfig(Section):
    """Stop when the monitored metric has not improved by min_delta for patience evaluations."""

    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0.0)
    monitor: Monitor = "val_loss"


class TrainConfig(Section):
    """The training loop; every *_every counts epochs."""

    epochs: int = Field(10, ge=1, le=MAX_COUNT)
    batch_size: int | Literal["full"] = Field(32, description="an integer >= 1 or 'full'")
    shuffle: bool = True
    log_every: int = Field(1, ge=1, description="epochs between log lines")
    eval_every: int = Field(1, ge=1, description="epochs between validation passes")
    checkpoint_every: int = Field(0, ge=0, description="epochs between checkpoints; 0: last only")
    checkpoint_seconds: float = Field(
        60.0,
        ge=0,
        allow_inf_nan=False,
        description="also write last.npz after an epoch when this many seconds passed since "
        "the last write (a hard kill loses at most about this much); 0: off",
    )
    early_stopping: EarlyStoppingConfig | None = None
    log: list[LogTarget] = Field(
        default_factory=list,
        description="extra loggers beside metrics.jsonl: tensorboard (event files in the run dir)",
    )
    trace: bool = Field(
        False, description="run each step through engine.jit.trace: recorded once, replayed"
    )

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, value: Any) -> Any:
        if value == "full":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid("must be an integer >= 1 or 'full'")
        return value


class OutputConfig(Section):
    """Where runs are written: <root>/<name>/."""

    root: str = "runs"
