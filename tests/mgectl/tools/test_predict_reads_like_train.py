"""`train` (engine.data.load_csv) and `predict` (read_features) read one CSV file identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data import load_csv
from mgectl.errors import UserError
from mgectl.tools.predict import read_features

# (file text, load_csv's feature/label selection, the feature matrix both must read)
CASES = {
    "header": ("a,b,y\n1,2,0\n3,4,1\n", {}, [[1, 2], [3, 4]]),
    "no header": ("1,2,0\n3,4,1\n", {}, [[1, 2], [3, 4]]),
    "quoted cells": ('"a","b","y"\n"1.5"," 2",0\n"-3","4e1",1\n', {}, [[1.5, 2], [-3, 40]]),
    "named columns, reordered": (
        "y,a,b,c\n0,1,2,9\n1,3,4,9\n",
        {"features": ["b", "a"], "label": "y"},
        [[2, 1], [4, 3]],
    ),
    "label in the middle": ("a,y,b\n1,0,2\n3,1,4\n", {"label": "y"}, [[1, 2], [3, 4]]),
    # a text label in the first row is not a header: old predict dropped this row
    "no header, class names": ("1,2,cat\n3,4,dog\n", {}, [[1, 2], [3, 4]]),
    "bom, blank lines, spaces": ("\ufeffa, b ,y\n\n 1,2,0\n\n3, 4 ,1\n", {}, [[1, 2], [3, 4]]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_train_and_predict_read_the_same_features(case: str, tmp_path: Path) -> None:
    text, selection, expected = CASES[case]
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    table = load_csv(path, task="classification", **selection)
    meta = {
        "features": len(table.feature_names),
        "feature_names": table.feature_names,
        "label_name": table.label_name,
    }
    np.testing.assert_array_equal(table.x, np.array(expected, np.float32))
    np.testing.assert_array_equal(read_features(path, meta), table.x)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,y\n1,x,0\n", r"line 2, column 'b': 'x' is not a number"),
        ("a,b,y\n1,2\n", r"line 2: has 2 fields, expected 3"),
        ("a,b,y\n", r"no data rows after the header"),
        ("", r"file is empty"),
    ],
)
def test_both_refuse_a_bad_file_with_the_same_message(
    text: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    meta = {"features": 2, "feature_names": ["a", "b"], "label_name": "y"}
    with pytest.raises(ValueError, match=message):
        load_csv(path)
    with pytest.raises(UserError, match=message):
        read_features(path, meta)
