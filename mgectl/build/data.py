"""Turn a config's data section into model-ready arrays: load, split, standardise, reshape."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mgectl.build.models import InputShape
from mgectl.errors import UserError

# The split draws from its own stream: seeded with the experiment seed alone it would repeat
# the generator's draws (data.seed defaults to the same seed) and correlate with the labels.
SPLIT_STREAM = 0x5917


@dataclass(frozen=True)
class Standardizer:
    """Per-feature mean and std fitted on the training split; applied the same way at predict."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Fit on X's first axis in float64, stored as float32; constant features keep std 1."""
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        std = np.where(std > 1e-12, std, 1.0)  # a constant column would divide by zero
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(x - mean) / std in float32."""
        return ((x - self.mean) / self.std).astype(np.float32)

    def invert(self, x: np.ndarray) -> np.ndarray:
        """Back to the original units (for plots)."""
        return x * self.std + self.mean


@dataclass
class PreparedData:
    """Training and validation arrays in the model's input layout, plus what predict needs."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str
    shape: InputShape
    sample_shape: tuple[int, ...]  # one sample before the layout reshape, e.g. (4,) or (1, 28, 28)
    num_classes: int | None = None
    class_names: list[str] | None = None
    feature_names: list[str] = field(default_factory=list)
    label_name: str = "y"
    standardizer: Standardizer | None = None
    generator_meta: dict[str, Any] = field(default_factory=dict)  # e.g. the real w and b

    @property
    def has_val(self) -> bool:
        """Whether a validation split exists."""
        return len(self.x_val) > 0

    def meta(self) -> dict[str, Any]:
        """What a checkpoint stores so predict can rebuild inputs and name the outputs."""
        return {
            "task": self.task,
            "layout": self.shape.layout,
            "features": self.shape.features,
            "sample_shape": list(self.sample_shape),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "feature_names": self.feature_names,
            "label_name": self.label_name,
            "mean": None if self.standardizer is None else self.standardizer.mean,
            "std": None if self.standardizer is None else self.standardizer.std,
        }


@dataclass
class Source:
    """Features (N, ...) float32 and labels, with the names the data came with."""

    x: np.ndarray
    y: np.ndarray
    task: str
    class_names: list[str] | None = None
    feature_names: list[str] = field(default_factory=list)
    label_name: str = "y"
    num_classes: int | None = None
    generator_meta: dict[str, Any] = field(default_factory=dict)


def load_source(data: Any, task: str) -> Source:
    """Generate or read the data a validated ``data:`` section describes."""
    if hasattr(data, "generator"):
        return _synthetic(data)
    return _file(data, task)


def _synthetic(data: Any) -> Source:
    from mgectl.build.synthetic import generate_from_config

    generated = generate_from_config(data)
    x = np.asarray(generated.x, dtype=np.float32)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    names = generated.meta.get("class_names")
    classes = generated.meta.get("classes")
    y = _labels(generated.y, generated.task)
    return Source(
        x,
        y,
        generated.task,
        class_names=list(names) if names else None,
        feature_names=["x"] if x.shape[1:] == (1,) else [f"x{i}" for i in range(x[0].size)],
        num_classes=int(classes) if classes else None,
        generator_meta=dict(generated.meta),
    )


def _file(data: Any, task: str) -> Source:
    from engine.data import DataFileError, load_csv, load_npz

    path = Path(data.path)
    try:
        if path.suffix.lower() == ".npz":
            features = data.features[0] if data.features and len(data.features) == 1 else "x"
            label = data.label if isinstance(data.label, str) else "y"
            table = load_npz(path, features=str(features), label=label, task=task)
        else:
            table = load_csv(path, features=data.features, label=data.label, task=task)
    except DataFileError as error:
        raise UserError(f"data.path: {error}") from None
    y = _labels(table.y, task)
    classes = None
    if task == "classification":
        classes = len(table.class_names) if table.class_names else int(y.max()) + 1
    return Source(
        table.x.astype(np.float32),
        y,
        task,
        class_names=list(table.class_names) if table.class_names else None,
        feature_names=list(table.feature_names),
        label_name=table.label_name,
        num_classes=classes,
    )


def _labels(y: np.ndarray, task: str) -> np.ndarray:
    """Class indices as int32 for classification, float32 targets for regression."""
    return np.asarray(y).astype(np.int32 if task == "classification" else np.float32)


def split_indices(n: int, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays; a non-zero split keeps at least one of each."""
    order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(n)
    n_val = int(round(n * val_split))
    if val_split > 0:
        n_val = min(max(n_val, 1), n - 1)
    if n_val == 0:
        return np.arange(n), order[:0]
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def to_layout(x: np.ndarray, layout: str) -> np.ndarray:
    """Reshape canonical (N, ...) features into what a model of LAYOUT takes."""
    if layout == "scalar":
        return x.reshape(len(x))
    if layout == "vector":
        return x.reshape(len(x), int(np.prod(x.shape[1:])))  # not -1: an empty split has 0 rows
    return x


def check_layout(source: Source, layout: str, model_type: str) -> None:
    """Refuse data a model cannot take, naming both sides."""
    per_sample = int(np.prod(source.x.shape[1:]))
    if layout == "scalar" and per_sample != 1:
        raise UserError(
            f"model.type: {model_type} is the scalar y = w * x + b and needs 1 feature; "
            f"the data has {per_sample}",
            hint="use model.type: mlp (or softmax for classes) for several features",
        )
    if layout == "image" and source.x.ndim != 4:
        raise UserError(
            f"model.type: {model_type} needs images (N, C, H, W); the data has "
            f"{per_sample} features per sample",
            hint="use the images generator, or model.type: mlp",
        )


def prepare(cfg: Any, layout: str) -> PreparedData:
    """Load the data, split it with cfg.seed, standardise on the training split, reshape."""
    source = load_source(cfg.data, cfg.task)
    check_layout(source, layout, cfg.model.type)
    train_idx, val_idx = split_indices(len(source.x), cfg.data.val_split, cfg.seed)
    x_train, x_val = source.x[train_idx], source.x[val_idx]
    standardizer = None
    if cfg.data.standardize:
        standardizer = Standardizer.fit(x_train)
        x_train, x_val = standardizer.apply(x_train), standardizer.apply(x_val)
    sample_shape = tuple(int(d) for d in source.x.shape[1:])
    image = sample_shape if len(sample_shape) == 3 else ()
    shape = InputShape(layout, int(np.prod(sample_shape)), image)
    return PreparedData(
        to_layout(x_train, layout),
        source.y[train_idx],
        to_layout(x_val, layout),
        source.y[val_idx],
        source.task,
        shape,
        sample_shape,
        num_classes=source.num_classes,
        class_names=source.class_names,
        feature_names=source.feature_names,
        label_name=source.label_name,
        standardizer=standardizer,
        generator_meta=source.generator_meta,
    )
