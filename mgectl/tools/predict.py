"""Run a trained model from a run directory or checkpoint on the features in a CSV/NPZ file."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import engine as mge
from mgectl.errors import UserError

MAX_ROWS = 50  # rows the table shows; --out writes them all
CHUNK = 512


@dataclass
class Predictions:
    """What a model predicted for each input row."""

    task: str
    values: np.ndarray  # class indices (classification) or predicted values (regression)
    names: list[str] | None = None  # the predicted class names
    probabilities: np.ndarray | None = None  # (N, classes)
    class_names: list[str] | None = None
    kept: dict[str, np.ndarray] = field(default_factory=dict)  # the input's other columns
    metrics: dict[str, Any] | None = None  # when the input had labels


def load_model(saved: dict[str, Any]) -> Any:
    """Rebuild the network from a checkpoint's config and load its weights (eval mode)."""
    from pydantic import TypeAdapter, ValidationError

    from mgectl.build.builder import build_model
    from mgectl.build.models import InputShape
    from mgectl.config.sections import ModelConfig

    meta = saved["data"]
    try:
        model_cfg = TypeAdapter(ModelConfig).validate_python(saved["config"]["model"])
    except (ValidationError, KeyError, TypeError) as error:
        raise UserError(f"the checkpoint's model config is not valid: {error}") from None
    sample = tuple(meta["sample_shape"])
    shape = InputShape(meta["layout"], int(meta["features"]), sample if len(sample) == 3 else ())
    model = build_model(model_cfg, shape, int(saved["outputs"]))
    try:
        model.load_state_dict(saved["model"])
    except (KeyError, ValueError) as error:
        raise UserError(f"the checkpoint's weights do not fit its model: {error}") from None
    model.eval()
    return model


@dataclass
class Inputs:
    """A prediction file's rows: the model's features, the other columns, and any labels."""

    x: np.ndarray  # (N, features) float32, encoded as training encoded them
    kept: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. an id column, as text
    labels: np.ndarray | None = None  # the label column's cells, when the file has one
    lines: np.ndarray | None = None  # each row's line in the file (CSV)


def read_inputs(path: Path, meta: dict[str, Any]) -> Inputs:
    """The rows of a CSV or NPZ file, read by engine.data as training read them."""
    from engine.data import DataFileError, load_npz_features

    try:
        if path.suffix.lower() == ".npz":
            x = load_npz_features(path).astype(np.float32)
            inputs = Inputs(x.reshape(len(x), -1))
        elif meta.get("encoder") is not None:
            inputs = _encoded_csv(path, meta)
        else:
            inputs = _csv_inputs(path, meta)
    except DataFileError as error:
        raise UserError(str(error)) from None
    _check_width(inputs.x, path, meta, list(inputs.kept))
    return inputs


def read_features(path: Path, meta: dict[str, Any]) -> np.ndarray:
    """(N, features) float32 from a CSV or NPZ file, read by engine.data as training reads it."""
    return read_inputs(path, meta).x


def _check_width(x: np.ndarray, path: Path, meta: dict[str, Any], found: list[str]) -> None:
    expected = int(meta["features"])
    if x.shape[1] != expected:
        names = ", ".join(meta["feature_names"][:8])
        more = ", ..." if len(meta["feature_names"]) > 8 else ""
        raise UserError(
            f"{path}: has {x.shape[1]} feature column(s), but the model was trained on "
            f"{expected} ({names}{more})",
            hint="give the same feature columns the training data had"
            + (f"; found {', '.join(found[:8])}" if found else ""),
        )


def _encoded_csv(path: Path, meta: dict[str, Any]) -> Inputs:
    """A CSV whose columns the training's ColumnEncoder names: categories and fills as then."""
    from engine.data import read_csv
    from mgectl.build.columns import ColumnEncoder

    rows = read_csv(path, delimiter=None)
    encoder = ColumnEncoder.from_state(meta["encoder"], str(path))
    wanted = [column.name for column in encoder.columns]
    label = meta.get("label_name")
    # by the training's column names, else by position as training would have taken them
    names = rows.names if rows.header else None
    columns = feature_columns(names, len(rows.names), {**meta, "feature_names": wanted})
    if len(columns) != len(wanted):
        found = [rows.names[i] for i in columns] if names is not None else []
        _check_width(np.zeros((0, len(columns))), path, {**meta, "features": len(wanted),
                     "feature_names": wanted}, found)  # fmt: skip
    raw = encoder.raw(rows.cells[:, columns], rows.lines)
    if encoder.missing in ("error", "drop"):
        # a prediction is owed for every row: a hole cannot be dropped here
        encoder.missing = "error"
        encoder.missing_rows(raw, rows.lines)
    x = encoder.encode(raw)
    labels = None
    if names is not None and label in names and names.index(label) not in columns:
        labels = rows.cells[:, names.index(label)]
    kept = {
        name: rows.cells[:, i]
        for i, name in enumerate(rows.names)
        if i not in columns and name != label
    }
    return Inputs(x, kept, labels, rows.lines)


def feature_columns(names: list[str] | None, width: int, meta: dict[str, Any]) -> list[int]:
    """Which columns hold the model's features: the training names, else all but the label.

    Without the training names in the header, the label is dropped by name, or as the trailing
    extra column training assumes.
    """
    wanted = list(meta["feature_names"])
    if names is not None and all(name in names for name in wanted):
        return [names.index(name) for name in wanted]
    if names is not None and meta.get("label_name") in names:
        return [i for i, name in enumerate(names) if name != meta["label_name"]]
    if width == len(wanted) + 1:
        return list(range(width - 1))  # like training: the label is the last column
    return list(range(width))


def _csv_inputs(path: Path, meta: dict[str, Any]) -> Inputs:
    """The model's feature columns of a CSV file (a model trained on generated data)."""
    from engine.data import read_csv

    rows = read_csv(path)
    names = rows.names if rows.header else None
    columns = feature_columns(names, len(rows.names), meta)
    x = rows.numbers(columns).astype(np.float32)
    label = meta.get("label_name")
    labels = None
    if names is not None and label in names and names.index(label) not in columns:
        labels = rows.cells[:, names.index(label)]
    kept = {}
    if names is not None:
        kept = {n: rows.cells[:, i] for i, n in enumerate(names) if i not in columns and n != label}
    return Inputs(x, kept, labels, rows.lines)


def model_inputs(x: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """Reshape to a training sample's shape, standardise with the stored stats, lay out."""
    from mgectl.build.data import Standardizer, to_layout

    x = x.reshape(len(x), *meta["sample_shape"])
    if meta.get("mean") is not None:
        x = Standardizer(meta["mean"], meta["std"]).apply(x)
    return to_layout(x.astype(np.float32), meta["layout"])


def run_model(model: Any, x: np.ndarray) -> np.ndarray:
    """The model's raw outputs for X, computed in chunks."""
    outputs = [model(mge.tensor(x[i : i + CHUNK])).numpy() for i in range(0, len(x), CHUNK)]
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)


def interpret(outputs: np.ndarray, saved: dict[str, Any]) -> Predictions:
    """Turn raw outputs into classes with probabilities, or regression values."""
    from mgectl.build.losses import class_probabilities, predicted_classes

    meta = saved["data"]
    if meta["task"] != "classification":
        values = outputs.reshape(-1).astype(np.float64)
        if meta.get("target_mean") is not None:  # trained on standardised targets
            values = values * float(meta["target_std"]) + float(meta["target_mean"])
        return Predictions("regression", values)
    loss_type = saved["config"]["loss"]["type"]
    classes = predicted_classes(outputs, loss_type)
    probabilities = class_probabilities(outputs, loss_type)
    count = probabilities.shape[1]
    class_names = list(meta.get("class_names") or [str(i) for i in range(count)])
    names = [class_names[c] for c in classes]
    return Predictions("classification", classes, names, probabilities, class_names)


def score(result: Predictions, inputs: Inputs, meta: dict[str, Any], path: Path) -> dict | None:
    """Metrics of the predictions against the file's label column, when it has one."""
    from engine.data.tabular import parse_label_cells
    from mgectl.build.columns import is_missing
    from mgectl.train.evaluate import (
        classification_metrics,
        confusion_matrix,
        per_class,
        regression_metrics,
    )

    if inputs.labels is None:
        return None
    labelled = ~is_missing(inputs.labels)
    if not labelled.any():
        return None
    cells, label = inputs.labels[labelled], meta["label_name"]

    def where(i: int) -> str:
        line = inputs.lines[np.flatnonzero(labelled)[i]] if inputs.lines is not None else i
        return f"{path}, line {line}, column {label!r}"

    if result.task == "regression":
        truth, _ = parse_label_cells(cells, where, "regression")
        found: dict[str, Any] = regression_metrics(result.values[labelled], truth)
    else:
        names = result.class_names or []
        if meta.get("class_names"):
            lookup = {name: i for i, name in enumerate(names)}
            unknown = [i for i, cell in enumerate(cells) if cell not in lookup]
            if unknown:
                bad = str(cells[unknown[0]])
                raise UserError(f"{where(unknown[0])}: unknown class {bad!r}")
            truth = np.array([lookup[cell] for cell in cells])
        else:
            truth, _ = parse_label_cells(cells, where, "classification")
        matrix = confusion_matrix(truth, result.values[labelled], len(names))
        found = classification_metrics(matrix)
        found["confusion"] = matrix.tolist()
        found["per_class"] = {k: v.tolist() for k, v in per_class(matrix).items()}
        found["classes"] = names
    found["rows"] = int(labelled.sum())
    return found


def check_out(out: Path, data: Path, checkpoint: Path) -> None:
    """Refuse an --out that would overwrite the input data or the checkpoint, or is a folder."""
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory; give a file name such as predictions.csv")
    for other, what in ((data, "--data file"), (checkpoint, "checkpoint")):
        same = out.exists() and other.exists() and os.path.samefile(out, other)
        if same or out.resolve() == other.resolve():
            raise UserError(
                f"--out {out}: is the {what}; writing predictions would overwrite it",
                hint="write them to another file, e.g. --out predictions.csv",
            )


def write_csv(result: Predictions, out: Path) -> None:
    """Predictions as CSV: the input's other columns, prediction[,probability,p_<class>...]."""
    header = [*result.kept, "prediction"]
    if result.probabilities is not None:
        header += ["probability"] + [f"p_{name}" for name in result.class_names or []]
    try:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            for i, value in enumerate(result.values):
                kept = [column[i] for column in result.kept.values()]
                if result.probabilities is None:
                    writer.writerow([*kept, repr(float(value))])
                    continue
                probs = result.probabilities[i]
                cells = [f"{p:.6f}" for p in probs]
                writer.writerow([*kept, result.names[i], f"{probs[value]:.6f}", *cells])
    except OSError as error:
        raise UserError(f"--out {out}: cannot write: {error.strerror or error}") from None


def show_table(result: Predictions, console: Any, source: Path) -> None:
    """A rich table of the first MAX_ROWS predictions."""
    from rich.table import Table

    console.print(f"model: {source}", soft_wrap=True, highlight=False)
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("prediction", justify="right" if result.names is None else "left")
    if result.probabilities is not None:
        table.add_column("probability", justify="right")
    for i in range(min(len(result.values), MAX_ROWS)):
        if result.names is None:
            table.add_row(str(i), f"{result.values[i]:.4f}")
        else:
            p = result.probabilities[i, result.values[i]]
            table.add_row(str(i), result.names[i], f"{p:.3f}")
    if len(result.values) > MAX_ROWS:
        table.caption = f"first {MAX_ROWS} of {len(result.values)} rows; --out FILE writes all"
    console.print(table)


def predict(
    source: Path, *, data: Path, out: Path | None = None, console: Any = None
) -> Predictions:
    """Predict with the run's best (else last) checkpoint on DATA; print or write --out CSV."""
    from rich.console import Console

    from mgectl.train.checkpoint import load_checkpoint
    from mgectl.train.rundir import find_checkpoint

    console = console or Console(highlight=False)
    checkpoint = find_checkpoint(Path(source), ("best", "last"))
    if out is not None:
        check_out(Path(out), Path(data), checkpoint)
    saved = load_checkpoint(checkpoint)
    model = load_model(saved)
    inputs = read_inputs(Path(data), saved["data"])
    with np.errstate(all="ignore"):  # a non-finite output is reported below, by row
        outputs = run_model(model, model_inputs(inputs.x, saved["data"]))
    finite = np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        raise UserError(
            f"--data {data}: row {row + 1}: the model's output is not finite (a value is "
            "missing, infinite or far outside what the model was trained on)"
        )
    result = interpret(outputs, saved)
    result.kept = inputs.kept
    result.metrics = score(result, inputs, saved["data"], Path(data))
    if out is not None:
        write_csv(result, Path(out))
        console.print(f"wrote {len(result.values)} predictions to {out}", soft_wrap=True)
    else:
        show_table(result, console, checkpoint)
    if result.metrics is not None:
        show_metrics(result.metrics, console, None if out is None else Path(out))
    return result


def show_metrics(metrics: dict[str, Any], console: Any, out: Path | None) -> None:
    """One line of metrics against the file's labels; saved beside --out as JSON."""
    import json

    shown = [
        f"{key} {100 * value:.2f}%" if key == "accuracy" else f"{key} {value:.4g}"
        for key, value in metrics.items()
        if key in ("accuracy", "f1", "mse", "rmse", "mae", "r2")
    ]
    line = f"evaluated on {metrics['rows']} labelled rows: {', '.join(shown)}"
    if out is not None:
        target = out.with_suffix(".metrics.json")
        try:
            target.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        except OSError as error:
            raise UserError(f"--out {target}: cannot write: {error.strerror or error}") from None
        line += f" (saved to {target})"
    console.print(line, soft_wrap=True, highlight=False)
