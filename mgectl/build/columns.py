"""How a CSV's text cells become model inputs: numbers, categories and missing values.

One `ColumnEncoder` is fitted on the training file and stored in the checkpoint, so predict
encodes new rows exactly as training did: the same category lists (an unseen category is an
error naming its row and column), the same one-hot or index layout, the same fill values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.data.tabular import is_number
from mgectl.errors import UserError

# Cells that mean "no value" (compared case-insensitively, after stripping).
MISSING_WORDS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_missing(cells: np.ndarray) -> np.ndarray:
    """Boolean mask of the cells that hold no value."""
    lowered = np.char.lower(cells.astype(str))
    return np.isin(lowered, list(MISSING_WORDS))


def _as_numbers(cells: np.ndarray) -> np.ndarray | None:
    """The cells as float64 (missing cells NaN), or None when some cell is text."""
    values = np.full(cells.shape, np.nan)
    present = ~is_missing(cells)
    try:
        values[present] = cells[present].astype(np.float64)
    except ValueError:
        return None
    return values


@dataclass
class Column:
    """One feature column: numeric, or categorical with its category list."""

    name: str
    categories: list[str] | None = None  # None: a numeric column
    fill: float | None = None  # the value missing cells get (mean/median policies)

    @property
    def categorical(self) -> bool:
        """Whether the column holds categories."""
        return self.categories is not None


@dataclass
class ColumnEncoder:
    """Text cells -> float32 features: numbers as they are, categories one-hot or as indices."""

    columns: list[Column]
    encoding: str = "onehot"  # or "index" (for embedding layers)
    missing: str = "error"  # error | drop | mean | median
    source: str = field(default="", compare=False)  # the file, for messages
    unit: str = field(default="line", compare=False)  # how messages count rows: line or row

    @classmethod
    def fit(
        cls,
        names: list[str],
        cells: np.ndarray,
        categorical: list[str] | None,
        encoding: str,
        missing: str,
        source: str,
    ) -> ColumnEncoder:
        """Decide each column's kind (text columns, or those named, are categorical)."""
        columns = []
        for k, name in enumerate(names):
            values = _as_numbers(cells[:, k])
            wanted = categorical is not None and name in categorical
            if values is None or wanted:
                present = cells[~is_missing(cells[:, k]), k]
                columns.append(Column(name, sorted(set(present.tolist()))))
            else:
                columns.append(Column(name))
        return cls(columns, encoding, missing, source)

    @property
    def categorical(self) -> bool:
        """Whether any column holds categories."""
        return any(column.categorical for column in self.columns)

    def feature_names(self) -> list[str]:
        """The model's input names: one per number, one per category (one-hot) or per index."""
        names: list[str] = []
        for column in self.columns:
            if column.categorical and self.encoding == "onehot":
                names += [f"{column.name}={value}" for value in column.categories or []]
            else:
                names.append(column.name)
        return names

    def raw(self, cells: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """(rows, columns) float64: numbers, category indices, NaN where a cell is missing.

        Text in a numeric column, an unseen category, or a non-finite number is an error
        naming the line and column.
        """
        out = np.empty(cells.shape, np.float64)
        for k, column in enumerate(self.columns):
            col = cells[:, k]
            missing = is_missing(col)
            if column.categorical:
                out[:, k] = self._indices(col, missing, column, lines)
                continue
            values = _as_numbers(col)
            if values is None:
                row = next(i for i, c in enumerate(col) if not missing[i] and not is_number(c))
                self.fail(lines[row], column, f"{str(col[row])!r} is not a number")
            bad = ~missing & (~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX))
            if bad.any():
                row = int(np.argmax(bad))
                self.fail(lines[row], column, f"{str(col[row])!r} is not a finite float32 number")
            out[:, k] = values
        return out

    def _indices(
        self, col: np.ndarray, missing: np.ndarray, column: Column, lines: np.ndarray
    ) -> np.ndarray:
        lookup = {value: i for i, value in enumerate(column.categories or [])}
        indices = np.full(len(col), np.nan)
        for row, value in enumerate(col):
            if missing[row]:
                continue
            if value not in lookup:
                known = ", ".join(repr(c) for c in (column.categories or [])[:8])
                self.fail(lines[row], column, f"unseen category {str(value)!r} (known: {known})")
            indices[row] = lookup[value]
        return indices

    def fail(self, line: int, column: Column, reason: str) -> None:
        """Raise a UserError naming the source, the line (or row) and the column."""
        raise UserError(f"{self.source}, {self.unit} {line}, column {column.name!r}: {reason}")

    def fit_fill(self, raw: np.ndarray) -> None:
        """Fill values from the training rows: mean or median of a number, a category's mode."""
        if self.missing not in ("mean", "median"):
            return
        for k, column in enumerate(self.columns):
            present = raw[~np.isnan(raw[:, k]), k]
            if not len(present):
                column.fill = 0.0
            elif column.categorical:
                column.fill = float(np.bincount(present.astype(np.int64)).argmax())
            else:
                statistic = np.mean if self.missing == "mean" else np.median
                column.fill = float(statistic(present))

    def missing_rows(self, raw: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """Rows with a missing cell; with the error policy, the first one is an error."""
        holes = np.isnan(raw)
        if holes.any() and self.missing == "error":
            row, k = np.argwhere(holes)[0]
            hint = "set data.missing: drop, mean or median to train anyway"
            try:
                self.fail(lines[row], self.columns[k], "missing value")
            except UserError as error:
                error.hint = hint
                raise
        return holes.any(axis=1)

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """float32 model inputs from raw(): fills applied, categories one-hot or indices."""
        parts = []
        for k, column in enumerate(self.columns):
            values = raw[:, k]
            if column.fill is not None:
                values = np.where(np.isnan(values), column.fill, values)
            if column.categorical and self.encoding == "onehot":
                width = len(column.categories or [])
                onehot = np.zeros((len(values), width), np.float32)
                onehot[np.arange(len(values)), values.astype(np.int64)] = 1.0
                parts.append(onehot)
            else:
                parts.append(values.astype(np.float32).reshape(-1, 1))
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(raw), 0), np.float32)

    def state(self) -> dict[str, Any]:
        """Plain values for a checkpoint."""
        return {
            "encoding": self.encoding,
            "missing": self.missing,
            "columns": [
                {"name": c.name, "categories": c.categories, "fill": c.fill} for c in self.columns
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], source: str) -> ColumnEncoder:
        """The encoder state() described, for rows of SOURCE."""
        columns = [Column(c["name"], c["categories"], c["fill"]) for c in state["columns"]]
        return cls(columns, state["encoding"], state["missing"], source)
