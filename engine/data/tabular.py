"""Load and save tabular datasets (CSV and NPZ) as float32 feature matrices plus labels.

Label dtype rules (``label_dtype``):

* ``"float32"``: numeric labels as float32 (regression targets).
* ``"int32"``: numeric labels must be integral; returned as int32 class indices.
* ``"auto"`` (default): int32 when ``task="classification"`` (every label must then be
  integral), otherwise float32. NPZ arrays that already hold integers stay int32.

Non-numeric labels (class names such as Iris species) are mapped to int32 codes in sorted
name order and the names are returned in ``Table.class_names``; they are refused when the
caller asked for ``task="regression"`` or ``label_dtype="float32"``.

All file problems raise ``DataFileError`` (a ``ValueError``) with a one-line message naming
the file and, where it applies, the line number and column.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

PathType = str | PathLike[str]
Column = str | int
Task = Literal["regression", "classification"] | None
LabelDtype = Literal["auto", "float32", "int32"]

_TASKS = (None, "regression", "classification")
_LABEL_DTYPES = ("auto", "float32", "int32")


class DataFileError(ValueError):
    """A data file is missing, empty or malformed; the message names file, line and column."""


@dataclass(frozen=True, eq=False)
class Table:
    """A loaded table; unpacks as ``x, y, feature_names = table``."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    label_name: str
    class_names: list[str] | None = None

    def __iter__(self) -> Any:
        """Iterate over ``(x, y, feature_names)`` so the table unpacks like a 3-tuple."""
        return iter((self.x, self.y, self.feature_names))

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.x)


# ----------------------------------------------------------------------------- helpers


def _check_options(task: Task, label_dtype: LabelDtype) -> None:
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}")
    if label_dtype not in _LABEL_DTYPES:
        raise ValueError(f"label_dtype must be one of {_LABEL_DTYPES}, got {label_dtype!r}")


def is_number(text: str) -> bool:
    """Whether a CSV cell reads as a number (the one rule for train and predict)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number_mask(cells: np.ndarray) -> np.ndarray:
    """Boolean mask of the cells that parse as numbers (only used on the slow path)."""
    return np.fromiter((is_number(c) for c in cells.ravel()), bool, cells.size).reshape(cells.shape)


def _describe(cell: str) -> str:
    return f"{str(cell)!r} is not a number" if cell else "empty cell is not a number"


def _convert_labels(
    raw: np.ndarray,
    where: Callable[[int], str],
    task: Task,
    label_dtype: LabelDtype,
    integer_storage: bool = False,
) -> tuple[np.ndarray, list[str] | None]:
    """Turn raw label values (numbers or class-name strings) into y and optional class names."""
    if raw.dtype.kind in "US":
        if task == "regression" or label_dtype == "float32":
            raise DataFileError(
                f"{where(0)}: {str(raw[0])!r} is not a number "
                "(class-name labels need task='classification' or label_dtype='int32')"
            )
        names, codes = np.unique(raw.astype(str), return_inverse=True)
        return codes.astype(np.int32).reshape(-1), [str(n) for n in names]
    values = raw.astype(np.float64)
    want_int = label_dtype == "int32" or (
        label_dtype == "auto" and (task == "classification" or integer_storage)
    )
    if not want_int:
        bad = first_unusable(values)
        if bad is not None:
            i = bad[0]
            raise DataFileError(f"{where(i)}: {float(values[i])!r} is not a finite float32 number")
        return values.astype(np.float32), None
    bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > 2**31 - 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFileError(f"{where(i)}: {float(values[i])!r} is not an integer class label")
    if (values < 0).any():
        i = int(np.argmax(values < 0))
        raise DataFileError(
            f"{where(i)}: {int(values[i])} is a negative class label (classes are 0, 1, ...)"
        )
    return values.astype(np.int32), None


def _resolve_column(spec: Column, names: list[str], where: str) -> int:
    if isinstance(spec, str):
        if spec in names:
            return names.index(spec)
        raise DataFileError(f"{where}: unknown column {spec!r} (available: {', '.join(names)})")
    if isinstance(spec, bool) or not isinstance(spec, int | np.integer):
        raise TypeError(f"columns are selected by name or int index, got {type(spec).__name__}")
    if -len(names) <= spec < len(names):
        return int(spec) % len(names)
    raise DataFileError(
        f"{where}: column index {spec} is out of range for {len(names)} columns "
        f"(available: {', '.join(names)})"
    )


def _select_columns(
    features: Column | Sequence[Column] | None, label: Column | None, names: list[str], where: str
) -> tuple[list[int], int]:
    label_col = _resolve_column(-1 if label is None else label, names, where)
    if features is None:
        feature_cols = [i for i in range(len(names)) if i != label_col]
    else:
        specs = [features] if isinstance(features, str | int) else list(features)
        feature_cols = [_resolve_column(s, names, where) for s in specs]
    if not feature_cols:
        raise DataFileError(f"{where}: no feature columns selected")
    if label_col in feature_cols:
        raise DataFileError(f"{where}: label column {names[label_col]!r} is also a feature")
    return feature_cols, label_col


# ----------------------------------------------------------------------------- CSV


DELIMITERS = ",;\t|"  # what delimiter=None chooses among


def detect_delimiter(text: str) -> str:
    """The delimiter of CSV TEXT among DELIMITERS: the one that splits the first lines alike."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or nothing consistent: the standard comma


def _read_rows(path: Path, delimiter: str | None) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    if not text.strip():
        raise DataFileError(f"{path}: file is empty")
    if delimiter is None:
        delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DataFileError(f"{path}, line {reader.line_num}: {exc}") from None
    return rows


def _has_header(rows: list[tuple[int, list[str]]]) -> bool:
    """Guess: a header has a text cell where the next row holds a number (or is the only row)."""
    first = rows[0][1]
    if all(is_number(c) for c in first):
        return False
    if len(rows) == 1:
        return True
    second = rows[1][1]
    return any(not is_number(a) and is_number(b) for a, b in zip(first, second, strict=False))


FLOAT32_MAX = float(np.finfo(np.float32).max)


def first_unusable(values: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN, inf or float32-overflowing value of VALUES, else None.

    Training data must be finite float32: a NaN row would only surface later as a NaN loss.
    """
    if values.dtype.kind not in "fc":
        return None
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None


def _parse_features(
    cells: np.ndarray, lines: np.ndarray, names: list[str], cols: list[int], path: Path
) -> np.ndarray:
    block = cells[:, cols]
    try:
        values = block.astype(np.float64)
    except ValueError:
        ok = _number_mask(block)
        row, k = np.argwhere(~ok)[0]
        raise DataFileError(
            f"{path}, line {lines[row]}, column {names[cols[k]]!r}: {_describe(block[row, k])}"
        ) from None
    bad = first_unusable(values)
    if bad is not None:
        row, k = bad
        raise DataFileError(
            f"{path}, line {lines[row]}, column {names[cols[k]]!r}: {block[row, k]!r} is not "
            "a finite float32 number"
        )
    return values


@dataclass(frozen=True, eq=False)
class CsvRows:
    """A CSV file's data rows after the one header rule: column names, text cells, line numbers."""

    path: Path
    names: list[str]  # the header's names, or col0, col1, ... without one
    header: bool  # whether the first row was taken as a header
    cells: np.ndarray  # (rows, columns) str, stripped
    lines: np.ndarray  # each row's line number in the file

    def column(self, spec: Column) -> int:
        """The index of a column given by header name or int index (negative allowed)."""
        return _resolve_column(spec, self.names, str(self.path))

    def numbers(self, columns: Sequence[int]) -> np.ndarray:
        """The chosen columns as float64; a non-number names its line and column."""
        return _parse_features(self.cells, self.lines, self.names, list(columns), self.path)


def read_csv(
    path: PathType, header: bool | Literal["auto"] = "auto", delimiter: str | None = ","
) -> CsvRows:
    """Read a CSV file's cells: the one reader behind `load_csv` and `mgectl predict`.

    Blank rows are skipped, cells stripped, a UTF-8 BOM ignored. ``header="auto"`` treats the
    first row as a header when it has a text cell above a number (or is the only row).
    ``delimiter=None`` detects it among ``, ; tab |``.
    Raises DataFileError for a missing, empty, ragged or header-only file.
    """
    path = Path(path)
    rows = _read_rows(path, delimiter)
    use_header = _has_header(rows) if header == "auto" else bool(header)
    width = len(rows[0][1])
    if use_header:
        header_line = rows[0][0]
        names = [c or f"col{i}" for i, c in enumerate(rows[0][1])]
        rows = rows[1:]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DataFileError(
                f"{path}, line {header_line}: duplicate column name {duplicates[0]!r}"
            )
    else:
        names = [f"col{i}" for i in range(width)]
    if not rows:
        raise DataFileError(f"{path}: no data rows after the header")
    for line, cells in rows:
        if len(cells) != width:
            raise DataFileError(f"{path}, line {line}: has {len(cells)} fields, expected {width}")
    cells = np.array([cells for _, cells in rows], dtype=str)
    lines = np.array([line for line, _ in rows])
    if not cells[:, -1].any() and (not use_header or names[-1] == f"col{width - 1}"):
        raise DataFileError(
            f"{path}: the last column ({width}) has no name and is empty in every row "
            "(a trailing comma?)"
        )
    return CsvRows(path, names, use_header, cells, lines)


def load_csv(
    path: PathType,
    features: Column | Sequence[Column] | None = None,
    label: Column | None = None,
    header: bool | Literal["auto"] = "auto",
    delimiter: str | None = ",",
    task: Task = None,
    label_dtype: LabelDtype = "auto",
) -> Table:
    """Load a CSV file into ``Table(x float32 (n, k), y, feature_names, label_name, class_names)``.

    ``features``/``label`` select columns by header name or integer index (negative allowed);
    the label defaults to the last column and the features to every other column.
    The header rule is `read_csv`'s.
    """
    _check_options(task, label_dtype)
    rows = read_csv(path, header, delimiter)
    path, names = rows.path, rows.names
    feature_cols, label_col = _select_columns(features, label, names, str(path))
    x = rows.numbers(feature_cols)
    label_name = names[label_col]

    def where(i: int) -> str:
        return f"{path}, line {rows.lines[i]}, column {label_name!r}"

    y, class_names = parse_label_cells(rows.cells[:, label_col], where, task, label_dtype)
    return Table(x.astype(np.float32), y, [names[c] for c in feature_cols], label_name, class_names)


def parse_label_cells(
    cells: np.ndarray,
    where: Callable[[int], str],
    task: Task = None,
    label_dtype: LabelDtype = "auto",
) -> tuple[np.ndarray, list[str] | None]:
    """A label column's text cells -> (y, class names or None), by the rules above.

    WHERE(i) names row i for messages (file, line, column).
    """
    try:
        raw_values: np.ndarray = cells.astype(np.float64)
    except ValueError:
        numeric = _number_mask(cells)
        if numeric.any():
            i = int(np.argmin(numeric))
            raise DataFileError(
                f"{where(i)}: {_describe(cells[i])} (column mixes numbers and text)"
            ) from None
        raw_values = cells
    return _convert_labels(raw_values, where, task, label_dtype)


def _prepare(
    x: ArrayLike, y: ArrayLike, feature_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    x = np.asarray(x)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise ValueError(f"x must be 1-D or 2-D, got shape {x.shape}")
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)} values")
    names = [f"x{i}" for i in range(x.shape[1])] if feature_names is None else list(feature_names)
    if len(names) != x.shape[1]:
        raise ValueError(f"got {len(names)} feature names for {x.shape[1]} feature columns")
    return x, y, names


def _label_text(y: np.ndarray, class_names: Sequence[str] | None) -> np.ndarray:
    if class_names is None:
        return y.astype(str)
    names = np.asarray(list(class_names), dtype=str)
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= len(names))):
        raise ValueError(f"y must hold integer codes in [0, {len(names)}) to use class_names")
    return names[y]


def save_csv(
    path: PathType,
    x: ArrayLike,
    y: ArrayLike,
    feature_names: Sequence[str] | None = None,
    label_name: str = "y",
    class_names: Sequence[str] | None = None,
    delimiter: str = ",",
) -> None:
    """Write ``x`` and ``y`` as CSV with a header; values use the shortest exact text form."""
    x, y, names = _prepare(x, y, feature_names)
    body = np.concatenate([x.astype(str), _label_text(y, class_names)[:, None]], axis=1)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow([*names, label_name])
        writer.writerows(body.tolist())


# ----------------------------------------------------------------------------- NPZ


def save_npz(
    path: PathType,
    x: ArrayLike,
    y: ArrayLike,
    feature_names: Sequence[str] | None = None,
    label_name: str = "y",
    class_names: Sequence[str] | None = None,
) -> None:
    """Write ``x``/``y`` (plus names) to an uncompressed ``.npz`` readable by ``load_npz``."""
    x, y, names = _prepare(x, y, feature_names)
    arrays: dict[str, np.ndarray] = {
        "x": x,
        "y": y,
        "feature_names": np.asarray(names, dtype=str),
        "label_name": np.asarray(label_name, dtype=str),
    }
    if class_names is not None:
        arrays["class_names"] = np.asarray(list(class_names), dtype=str)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_npz(
    path: PathType,
    features: str = "x",
    label: str = "y",
    task: Task = None,
    label_dtype: LabelDtype = "auto",
) -> Table:
    """Load arrays ``features`` and ``label`` from an ``.npz`` file into a ``Table``.

    A 1-D feature array becomes one column. Optional arrays ``feature_names``, ``label_name``
    and ``class_names`` (as written by ``save_npz``) supply the names.
    """
    _check_options(task, label_dtype)
    path = Path(path)
    arrays = _read_npz(path, (features, label), ("feature_names", "label_name", "class_names"))
    x, raw = _numeric(arrays[features], path, features), arrays[label]
    stored = {k: v for k, v in arrays.items() if k not in (features, label)}
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise DataFileError(f"{path}: array {features!r} must be 1-D or 2-D, got shape {x.shape}")
    if len(x) == 0:
        raise DataFileError(f"{path}: array {features!r} is empty (0 rows)")
    bad = first_unusable(x)
    if bad is not None:
        raise DataFileError(
            f"{path}, array {features!r}, row {bad[0]}, column {bad[1]}: {x[bad]!r} is not a "
            "finite float32 number"
        )
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw.reshape(-1)
    if raw.ndim != 1 or len(raw) != len(x):
        raise DataFileError(
            f"{path}: array {features!r} has {len(x)} rows but {label!r} has shape {raw.shape}"
        )
    if raw.dtype.kind not in "biufUS":
        raise DataFileError(f"{path}: array {label!r} has unsupported dtype {raw.dtype}")

    def where(i: int) -> str:
        return f"{path}, array {label!r}, row {i}"

    y, class_names = _convert_labels(
        raw, where, task, label_dtype, integer_storage=raw.dtype.kind in "biu"
    )
    names = [f"x{i}" for i in range(x.shape[1])]
    if "feature_names" in stored and stored["feature_names"].shape == (x.shape[1],):
        names = [str(n) for n in stored["feature_names"]]
    label_name = str(stored["label_name"]) if "label_name" in stored else label
    if class_names is None and "class_names" in stored and y.dtype == np.int32:
        class_names = [str(n) for n in stored["class_names"]]
    return Table(x.astype(np.float32), y, names, label_name, class_names)


def _read_npz(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> dict:
    """The REQUIRED arrays (and those OPTIONAL ones present) of an .npz file."""
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: file is empty")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{path}: not a valid .npz file ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFileError(f"{path}: not an .npz archive (a single .npy array?)")
    with archive:
        keys = list(archive.files)
        for key in required:
            if key not in keys:
                raise DataFileError(f"{path}: no array named {key!r} (keys: {', '.join(keys)})")
        try:
            return {k: archive[k] for k in [*required, *optional] if k in keys}
        except ValueError as exc:
            raise DataFileError(f"{path}: cannot read array ({exc})") from None


def _numeric(x: np.ndarray, path: Path, name: str) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DataFileError(f"{path}: array {name!r} is not numeric (dtype {x.dtype})")
    return x


def load_npz_features(path: PathType, features: str = "x") -> np.ndarray:
    """The numeric array ``features`` of an .npz file, any shape, no label needed (prediction)."""
    path = Path(path)
    x = _numeric(_read_npz(path, (features,))[features], path, features)
    bad = first_unusable(x)
    if bad is not None:
        where = ", ".join(str(i) for i in bad)
        raise DataFileError(
            f"{path}, array {features!r}, row {bad[0]} (index {where}): {x[bad]!r} is not a "
            "finite float32 number"
        )
    return x
