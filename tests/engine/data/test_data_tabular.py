"""CSV/NPZ loading, saving and their error messages."""

from pathlib import Path

import numpy as np
import pytest

from engine.data import DataFileError, load_csv, load_npz, save_csv, save_npz


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ loading CSV


def test_header_auto_default_label_last(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b,target\n1,2,3.5\n4,5,6.25\n")
    x, y, names = load_csv(path)
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    assert x.dtype == np.float32 and x.ndim == 2
    np.testing.assert_array_equal(y, [3.5, 6.25])
    assert y.dtype == np.float32
    assert names == ["a", "b"]
    assert load_csv(path).label_name == "target"


def test_headerless_auto_and_index_selection(tmp_path: Path) -> None:
    path = _write(tmp_path, "1;2;3\n4;5;6\n7;8;9\n")
    table = load_csv(path, features=[2, 0], label=1, delimiter=";")
    np.testing.assert_array_equal(table.x, [[3, 1], [6, 4], [9, 7]])
    np.testing.assert_array_equal(table.y, [2, 5, 8])
    assert table.feature_names == ["col2", "col0"]
    assert table.label_name == "col1"


def test_select_by_name_and_negative_index(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,h,w,kind\n1,2.5,3,0\n2,4.5,5,1\n")
    x, y, names = load_csv(path, features=["w", "h"], label=-1, task="classification")
    np.testing.assert_array_equal(x, [[3, 2.5], [5, 4.5]])
    assert names == ["w", "h"]
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, [0, 1])


def test_label_dtype_rules(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,y\n1,0\n2,2\n3,1\n")
    assert load_csv(path).y.dtype == np.float32
    assert load_csv(path, task="regression").y.dtype == np.float32
    assert load_csv(path, task="classification").y.dtype == np.int32
    assert load_csv(path, label_dtype="int32").y.dtype == np.int32
    assert load_csv(path, task="classification", label_dtype="float32").y.dtype == np.float32


def test_non_integral_class_label_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,y\n1,0\n2,2.5\n")
    with pytest.raises(DataFileError, match=r"line 3, column 'y': 2\.5 is not an integer"):
        load_csv(path, task="classification")
    with pytest.raises(DataFileError, match="not an integer"):
        load_csv(path, label_dtype="int32")


def test_string_labels_become_sorted_codes(tmp_path: Path) -> None:
    path = _write(tmp_path, "f,kind\n1,dog\n2,cat\n3,emu\n4,cat\n")
    table = load_csv(path)
    assert table.class_names == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(table.y, [1, 0, 2, 0])
    assert table.y.dtype == np.int32


def test_string_labels_without_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "5.1,3.5,setosa\n7.0,3.2,versicolor\n")
    table = load_csv(path)
    assert table.feature_names == ["col0", "col1"]
    assert table.class_names == ["setosa", "versicolor"]
    np.testing.assert_array_equal(table.x, np.array([[5.1, 3.5], [7.0, 3.2]], np.float32))


def test_string_labels_refused_for_regression(tmp_path: Path) -> None:
    path = _write(tmp_path, "f,kind\n1,dog\n")
    with pytest.raises(DataFileError, match=r"line 2, column 'kind': 'dog' is not a number"):
        load_csv(path, header=True, task="regression")


def test_blank_lines_whitespace_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa, b\n 1 , 2\n\n3,4\n".encode())
    x, y, names = load_csv(path)
    assert names == ["a"]
    np.testing.assert_array_equal(x[:, 0], [1, 3])
    np.testing.assert_array_equal(y, [2, 4])


# ------------------------------------------------------------------ CSV errors


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataFileError, match=rf"^{path}: file not found$"):
        load_csv(path)


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n  \n")
    with pytest.raises(DataFileError, match=rf"^{path}: file is empty$"):
        load_csv(path)


def test_header_only(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b\n")
    with pytest.raises(DataFileError, match="no data rows"):
        load_csv(path)


def test_ragged_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(DataFileError, match=rf"^{path}, line 4: has 2 fields, expected 3$"):
        load_csv(path)


def test_non_numeric_cell(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b,c\n1,2,3\n4,abc,6\n")
    message = rf"^{path}, line 3, column 'b': 'abc' is not a number$"
    with pytest.raises(DataFileError, match=message):
        load_csv(path)


def test_empty_cell(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b,c\n1,,3\n")
    with pytest.raises(DataFileError, match="line 2, column 'b': empty cell is not a number"):
        load_csv(path)


def test_mixed_label_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,y\n1,2\n2,3\n3,oops\n")
    with pytest.raises(DataFileError, match=r"line 4, column 'y': 'oops' is not a number"):
        load_csv(path)


def test_unknown_column_lists_available(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b,c\n1,2,3\n")
    message = rf"^{path}: unknown column 'z' \(available: a, b, c\)$"
    with pytest.raises(DataFileError, match=message):
        load_csv(path, label="z")
    with pytest.raises(DataFileError, match="unknown column 'q'"):
        load_csv(path, features=["a", "q"])


def test_column_index_out_of_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,2,3\n")
    with pytest.raises(DataFileError, match="column index 5 is out of range for 3 columns"):
        load_csv(path, label=5)


def test_label_also_feature(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataFileError, match="label column 'b' is also a feature"):
        load_csv(path, features=["a", "b"], label="b")


def test_duplicate_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,a,b\n1,2,3\n")
    with pytest.raises(DataFileError, match="line 1: duplicate column name 'a'"):
        load_csv(path)


def test_bad_options(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,2\n")
    with pytest.raises(ValueError, match="label_dtype"):
        load_csv(path, label_dtype="int8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="task"):
        load_csv(path, task="clustering")  # type: ignore[arg-type]


def test_error_is_a_value_error() -> None:
    assert issubclass(DataFileError, ValueError)


# ------------------------------------------------------------------ round trips


def test_csv_round_trip_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 3)).astype(np.float32)
    y = rng.normal(size=25).astype(np.float32)
    path = tmp_path / "reg.csv"
    save_csv(path, x, y, ["alpha", "beta", "gamma"], "target")
    table = load_csv(path, label="target")
    np.testing.assert_array_equal(table.x, x)
    np.testing.assert_array_equal(table.y, y)
    assert table.feature_names == ["alpha", "beta", "gamma"]
    assert table.label_name == "target"


def test_csv_round_trip_float64_input_is_exact_in_float32(tmp_path: Path) -> None:
    x = np.array([[0.1, 1 / 3], [1e-8, 123456.789]])
    path = tmp_path / "f64.csv"
    save_csv(path, x, [0.5, -2.0], label_name="y")
    table = load_csv(path)
    np.testing.assert_array_equal(table.x, x.astype(np.float32))
    assert table.feature_names == ["x0", "x1"]


def test_csv_round_trip_class_names(tmp_path: Path) -> None:
    x = np.array([[1.5, 2.0], [3.0, 4.25], [5.0, 6.0]], np.float32)
    y = np.array([2, 0, 1], np.int32)
    path = tmp_path / "cls.csv"
    save_csv(path, x, y, ["p, q", 'say "hi"'], "kind", class_names=["ant", "bee", "cow"])
    table = load_csv(path, label="kind")
    np.testing.assert_array_equal(table.x, x)
    np.testing.assert_array_equal(table.y, y)
    assert table.class_names == ["ant", "bee", "cow"]
    assert table.feature_names == ["p, q", 'say "hi"']


def test_csv_round_trip_int_labels(tmp_path: Path) -> None:
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    y = np.array([3, 1, 2], np.int32)
    path = tmp_path / "ints.csv"
    save_csv(path, x, y)
    table = load_csv(path, task="classification")
    np.testing.assert_array_equal(table.y, y)
    assert table.y.dtype == np.int32


def test_save_csv_validates_shapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="x has 2 rows but y has 3"):
        save_csv(tmp_path / "a.csv", np.zeros((2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="feature names"):
        save_csv(tmp_path / "a.csv", np.zeros((2, 2)), np.zeros(2), ["only-one"])
    with pytest.raises(ValueError, match="integer codes"):
        save_csv(tmp_path / "a.csv", np.zeros((1, 1)), [5], class_names=["a", "b"])


def test_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 4)).astype(np.float32)
    y = rng.integers(0, 3, 12).astype(np.int32)
    path = tmp_path / "data.bin"
    save_npz(path, x, y, ["a", "b", "c", "d"], "label", class_names=["r", "g", "b"])
    assert path.exists()
    table = load_npz(path)
    np.testing.assert_array_equal(table.x, x)
    np.testing.assert_array_equal(table.y, y)
    assert table.y.dtype == np.int32
    assert table.feature_names == ["a", "b", "c", "d"]
    assert table.label_name == "label"
    assert table.class_names == ["r", "g", "b"]


def test_npz_round_trip_regression_and_1d_x(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 9)
    y = (3 * x).astype(np.float32)
    path = tmp_path / "line.npz"
    save_npz(path, x, y)
    xs, ys, names = load_npz(path)
    assert xs.shape == (9, 1) and xs.dtype == np.float32
    np.testing.assert_array_equal(xs[:, 0], x.astype(np.float32))
    np.testing.assert_array_equal(ys, y)
    assert ys.dtype == np.float32
    assert names == ["x0"]


def test_npz_custom_keys_and_string_labels(tmp_path: Path) -> None:
    path = tmp_path / "custom.npz"
    np.savez(path, feats=np.ones((3, 2)), species=np.array(["b", "a", "b"]))
    table = load_npz(path, features="feats", label="species")
    np.testing.assert_array_equal(table.y, [1, 0, 1])
    assert table.class_names == ["a", "b"]
    assert table.label_name == "species"


def test_npz_missing_key_lists_keys(tmp_path: Path) -> None:
    path = tmp_path / "k.npz"
    np.savez(path, inputs=np.zeros((2, 2)), y=np.zeros(2))
    with pytest.raises(DataFileError, match=rf"^{path}: no array named 'x' \(keys: inputs, y\)$"):
        load_npz(path)


def test_npz_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        load_npz(tmp_path / "none.npz")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match="file is empty"):
        load_npz(empty)
    junk = _write(tmp_path, "not a zip", "junk.npz")
    with pytest.raises(DataFileError, match="not a valid .npz file"):
        load_npz(junk)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(DataFileError, match="has 3 rows but 'y' has shape"):
        load_npz(bad)
