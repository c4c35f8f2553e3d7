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
    """(N, features) float32 from a CSV or NPZ file, as the model was trained on."""
    expected = int(meta["features"])
    if path.suffix.lower() == ".npz":
        x = _npz_features(path)
        columns = None
    else:
        x, columns = _csv_features(path, meta)
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


def _npz_features(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise UserError(f"{path}: no array named 'x' (arrays: {', '.join(archive.files)})")
            x = np.asarray(archive["x"])
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not a readable .npz file ({error})") from None
    if x.dtype.kind not in "biuf":
        raise UserError(f"{path}: array 'x' is not numeric (dtype {x.dtype})")
    return x.reshape(len(x), -1).astype(np.float32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_features(path: Path, meta: dict[str, Any]) -> tuple[np.ndarray, list[str] | None]:
    """Pick the training features by header name; else every column but a trailing label."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read: {error}") from None
    if not rows:
        raise UserError(f"{path}: no rows")
    header = rows[0] if not all(_is_number(cell) for cell in rows[0]) else None
    body = rows[1:] if header is not None else rows
    if not body:
        raise UserError(f"{path}: no data rows after the header")
    width = len(rows[0])
    for number, row in enumerate(body, 2 if header else 1):
        if len(row) != width:
            raise UserError(f"{path}, line {number}: has {len(row)} fields, expected {width}")
    wanted = list(meta["feature_names"])
    if header is not None and all(name in header for name in wanted):
        columns = [header.index(name) for name in wanted]
    elif header is not None and meta.get("label_name") in header:
        columns = [i for i, name in enumerate(header) if name != meta["label_name"]]
    elif width == int(meta["features"]) + 1:
        columns = list(range(width - 1))  # like training: the label is the last column
    else:
        columns = list(range(width))
    cells = np.array(body, dtype=str)[:, columns]
    try:
        x = cells.astype(np.float32)
    except ValueError:
        row, col = next(
            (r, c)
            for r in range(len(cells))
            for c in range(cells.shape[1])
            if not _is_number(cells[r, c])
        )
        line = row + (2 if header else 1)
        raise UserError(f"{path}, line {line}: {str(cells[row, col])!r} is not a number") from None
    names = [header[i] for i in columns] if header is not None else None
    return x, names


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
