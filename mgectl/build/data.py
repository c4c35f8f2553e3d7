"""Turn a config's data section into model-ready arrays: load, split, standardise, reshape."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mgectl.build.columns import Column, ColumnEncoder, is_missing
from mgectl.build.models import InputShape
from mgectl.errors import UserError

if TYPE_CHECKING:
    from mgectl.config.experiment import ExperimentConfig

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
    x_test: np.ndarray | None = None  # data.test_split's rows, evaluated once at the end
    y_test: np.ndarray | None = None
    encoder: ColumnEncoder | None = None  # how a CSV's cells became features
    target: Standardizer | None = None  # data.standardize_target's statistics

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
            "encoder": None if self.encoder is None else self.encoder.state(),
            "target_mean": None if self.target is None else self.target.mean,
            "target_std": None if self.target is None else self.target.std,
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
    encoder: ColumnEncoder | None = None  # x holds raw() values, encoded after the split


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
    from engine.data import DataFileError, load_npz

    path = Path(data.path)
    try:
        if path.suffix.lower() == ".csv":
            return _csv(data, task)
        features = data.features[0] if data.features and len(data.features) == 1 else "x"
        label = data.label if isinstance(data.label, str) else "y"
        table = load_npz(path, features=str(features), label=label, task=task)
    except DataFileError as error:
        raise UserError(f"data.path: {error}") from None
    y = _labels(table.y, task)
    x = table.x.astype(np.float32)
    encoder = None
    if x.ndim == 2:  # a table: NaN cells follow data.missing, like a CSV's empty cells
        columns = [Column(name) for name in table.feature_names]
        encoder = ColumnEncoder(columns, "onehot", data.missing, f"{path}, array 'x'", "row")
        rows = np.arange(len(x))
        x = x.astype(np.float64)
        _check_finite(x, encoder, rows)
        keep = ~encoder.missing_rows(x, rows) if data.missing == "drop" else slice(None)
        x, y = x[keep], y[keep]
    return Source(
        x,
        y,
        task,
        class_names=list(table.class_names) if table.class_names else None,
        feature_names=list(table.feature_names),
        label_name=table.label_name,
        num_classes=_class_count(y, table.class_names, task),
        encoder=encoder,
    )


def _check_finite(x: np.ndarray, encoder: ColumnEncoder, rows: np.ndarray) -> None:
    """±inf and values beyond float32 are errors whatever data.missing says (NaN is missing)."""
    bad = np.isinf(x) | (np.abs(np.nan_to_num(x)) > np.finfo(np.float32).max)
    if bad.any():
        row, k = np.argwhere(bad)[0]
        encoder.fail(rows[row], encoder.columns[k], f"{x[row, k]!r} is not a finite float32")


def _csv(data: Any, task: str) -> Source:
    """A CSV through the engine's reader, its cells encoded by a ColumnEncoder."""
    from engine.data import DataFileError, read_csv
    from engine.data.tabular import parse_label_cells

    rows = read_csv(data.path, delimiter=data.delimiter)
    where = str(rows.path)
    label_col = rows.column(-1 if data.label is None else data.label)
    if data.features is None:
        feature_cols = [i for i in range(len(rows.names)) if i != label_col]
    else:
        feature_cols = [rows.column(spec) for spec in data.features]
    if label_col in feature_cols:
        raise UserError(f"data.label: column {rows.names[label_col]!r} is also a feature")
    names = [rows.names[i] for i in feature_cols]
    categorical = None
    if data.categorical is not None:
        try:
            categorical = [rows.names[rows.column(spec)] for spec in data.categorical]
        except DataFileError as error:
            raise UserError(f"data.categorical: {error}") from None
    cells = rows.cells[:, feature_cols]
    encoder = ColumnEncoder.fit(names, cells, categorical, data.encoding, data.missing, where)
    raw = encoder.raw(cells, rows.lines)
    label_cells = rows.cells[:, label_col]
    no_label = is_missing(label_cells)
    if no_label.any() and data.missing == "error":
        line = rows.lines[int(np.argmax(no_label))]
        raise UserError(f"{where}, line {line}, column {rows.names[label_col]!r}: missing label")
    holes = encoder.missing_rows(raw, rows.lines)
    keep = ~no_label & (~holes if data.missing == "drop" else True)
    if not keep.any():
        raise UserError(f"{where}: no rows left after dropping those with missing values")
    lines = rows.lines[keep]
    label_name = rows.names[label_col]

    def at(i: int) -> str:
        return f"{where}, line {lines[i]}, column {label_name!r}"

    y, class_names = parse_label_cells(label_cells[keep], at, task)
    y = _labels(y, task)
    return Source(
        raw[keep],
        y,
        task,
        class_names=class_names,
        feature_names=encoder.feature_names(),
        label_name=label_name,
        num_classes=_class_count(y, class_names, task),
        encoder=encoder,
    )


def _class_count(y: np.ndarray, class_names: list[str] | None, task: str) -> int | None:
    """How many classes a classification label column has (names, else the largest id + 1)."""
    if task != "classification":
        return None
    classes = len(class_names) if class_names else int(y.max()) + 1
    check_classes(y, classes, "data.path")
    return classes


def _labels(y: np.ndarray, task: str) -> np.ndarray:
    """Class indices as int32 for classification, float32 targets for regression."""
    return np.asarray(y).astype(np.int32 if task == "classification" else np.float32)


def check_classes(y: np.ndarray, classes: int, where: str) -> None:
    """Refuse labels a classifier cannot learn from: one class, or ids far beyond the rows.

    Class ids are 0..classes-1 and the model gets one output per id: an id of 2e9 in a file
    of 100 rows is a mistake that would allocate a 2e9-wide head.
    """
    present = np.unique(y)
    if len(present) < 2:
        raise UserError(
            f"{where}: every label is {present[0] if len(present) else '?'}; a classifier "
            "needs at least two classes",
            hint="check the label column (data.label), or use task: regression",
        )
    if classes > max(len(y), 2):
        raise UserError(
            f"{where}: class id {int(y.max())} is far beyond the {len(y)} rows (class ids are "
            f"0, 1, ..., one output each)",
            hint="number the classes 0..K-1, or give class names as text labels",
        )


def split_indices(
    n: int,
    val_split: float,
    seed: int,
    test_split: float = 0.0,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded (train, validation, test) index arrays, each sorted.

    A non-zero fraction keeps at least one row. With LABELS (stratified), each class is
    split on its own, so every split keeps the class shares.
    """
    rng = np.random.default_rng([seed, SPLIT_STREAM])
    if labels is None:
        order = rng.permutation(n)
        n_val, n_test = _split_sizes(n, val_split, test_split)
        val, test = order[:n_val], order[n_val : n_val + n_test]
    else:
        parts: list[list[np.ndarray]] = [[], []]
        for value in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == value))
            n_val = int(round(len(members) * val_split))
            n_test = int(round(len(members) * test_split))
            parts[0].append(members[:n_val])
            parts[1].append(members[n_val : n_val + n_test])
        val, test = (np.concatenate(p).astype(np.int64) for p in parts)
    held = np.zeros(n, bool)
    held[val] = held[test] = True
    return np.flatnonzero(~held), np.sort(val), np.sort(test)


def _split_sizes(n: int, val_split: float, test_split: float) -> tuple[int, int]:
    """Rows for validation and test; a non-zero fraction gets at least one, training too."""
    sizes = []
    for fraction in (val_split, test_split):
        size = int(round(n * fraction))
        sizes.append(max(size, 1) if fraction > 0 else 0)
    n_val, n_test = sizes
    while n_val + n_test > n - 1 and (n_val > 1 or n_test > 1):
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


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


def prepare(cfg: ExperimentConfig, layout: str) -> PreparedData:
    """Load the data, split it with cfg.seed, fill and encode, standardise on the training
    split, reshape."""
    source = load_source(cfg.data, cfg.task)
    check_layout(source, layout, cfg.model.type)
    data = cfg.data
    strata = source.y if data.stratify and source.task == "classification" else None
    train_idx, val_idx, test_idx = split_indices(
        len(source.x), data.val_split, cfg.seed, data.test_split, strata
    )
    x = source.x
    if source.encoder is not None:
        source.encoder.fit_fill(x[train_idx])  # fill values from the training rows alone
        x = source.encoder.encode(x)
    x = x.astype(np.float32)
    x_train, x_val, x_test = x[train_idx], x[val_idx], x[test_idx]
    standardizer = None
    if data.standardize:
        standardizer = Standardizer.fit(x_train)
        x_train, x_val = standardizer.apply(x_train), standardizer.apply(x_val)
        x_test = standardizer.apply(x_test)
    y = source.y
    target = None
    if data.standardize_target and source.task == "regression":
        target = Standardizer.fit(y[train_idx])
        y = target.apply(y)
    sample_shape = tuple(int(d) for d in x.shape[1:])
    image = sample_shape if len(sample_shape) == 3 else ()
    shape = InputShape(layout, int(np.prod(sample_shape)), image)
    return PreparedData(
        to_layout(x_train, layout),
        y[train_idx],
        to_layout(x_val, layout),
        y[val_idx],
        source.task,
        shape,
        sample_shape,
        num_classes=source.num_classes,
        class_names=source.class_names,
        feature_names=source.feature_names,
        label_name=source.label_name,
        standardizer=standardizer,
        generator_meta=source.generator_meta,
        x_test=to_layout(x_test, layout) if len(test_idx) else None,
        y_test=y[test_idx] if len(test_idx) else None,
        encoder=source.encoder,
        target=target,
    )
