"""Run a trained model from a run directory or checkpoint on the features in a CSV/NPZ file."""

from __future__ import annotations

import csv
from dataclasses import dataclass
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


def read_features(path: Path, meta: dict[str, Any]) -> np.ndarray:
    """(N, features) float32 from a CSV or NPZ file, read by engine.data as training reads it."""
    from engine.data import DataFileError, load_npz_features

    expected = int(meta["features"])
    try:
        if path.suffix.lower() == ".npz":
            x, columns = load_npz_features(path).astype(np.float32), None
            x = x.reshape(len(x), -1)
        else:
            x, columns = _csv_features(path, meta)
    except DataFileError as error:
        raise UserError(str(error)) from None
    if x.shape[1] != expected:
        names = ", ".join(meta["feature_names"][:8])
        more = ", ..." if len(meta["feature_names"]) > 8 else ""
        raise UserError(
            f"{path}: has {x.shape[1]} feature column(s), but the model was trained on "
            f"{expected} ({names}{more})",
            hint="give the same feature columns the training data had"
            + (f"; found {', '.join(columns[:8])}" if columns else ""),
        )
    return x


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
    if width == int(meta["features"]) + 1:
        return list(range(width - 1))  # like training: the label is the last column
    return list(range(width))


def _csv_features(path: Path, meta: dict[str, Any]) -> tuple[np.ndarray, list[str] | None]:
    """The model's feature columns of a CSV file, and their header names (None without one)."""
    from engine.data import read_csv

    rows = read_csv(path)
    names = rows.names if rows.header else None
    columns = feature_columns(names, len(rows.names), meta)
    x = rows.numbers(columns).astype(np.float32)
    return x, [names[i] for i in columns] if names is not None else None


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
        return Predictions("regression", outputs.reshape(-1).astype(np.float64))
    loss_type = saved["config"]["loss"]["type"]
    classes = predicted_classes(outputs, loss_type)
    probabilities = class_probabilities(outputs, loss_type)
    count = probabilities.shape[1]
    class_names = list(meta.get("class_names") or [str(i) for i in range(count)])
    names = [class_names[c] for c in classes]
    return Predictions("classification", classes, names, probabilities, class_names)


def write_csv(result: Predictions, out: Path) -> None:
    """Predictions as CSV: prediction[,probability,p_<class>...]."""
    header = ["prediction"]
    if result.probabilities is not None:
        header += ["probability"] + [f"p_{name}" for name in result.class_names or []]
    try:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            for i, value in enumerate(result.values):
                if result.probabilities is None:
                    writer.writerow([repr(float(value))])
                    continue
                probs = result.probabilities[i]
                cells = [f"{p:.6f}" for p in probs]
                writer.writerow([result.names[i], f"{probs[value]:.6f}", *cells])
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
    saved = load_checkpoint(checkpoint)
    model = load_model(saved)
    x = model_inputs(read_features(Path(data), saved["data"]), saved["data"])
    result = interpret(run_model(model, x), saved)
    if out is not None:
        write_csv(result, Path(out))
        console.print(f"wrote {len(result.values)} predictions to {out}", soft_wrap=True)
    else:
        show_table(result, console, checkpoint)
    return result
