"""The bundled Iris dataset."""

import numpy as np

from engine.data import load_iris


def test_iris_counts_and_means() -> None:
    table = load_iris()
    assert table.x.shape == (150, 4) and table.x.dtype == np.float32
    assert table.y.shape == (150,) and table.y.dtype == np.int32
    assert table.class_names == ["setosa", "versicolor", "virginica"]
    assert np.bincount(table.y).tolist() == [50, 50, 50]
    np.testing.assert_allclose(table.x.mean(axis=0), [5.8433, 3.0573, 3.7580, 1.1993], atol=5e-4)
    assert table.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert table.label_name == "species"


def test_iris_known_rows() -> None:
    x, y, _ = load_iris()
    np.testing.assert_array_equal(x[0], np.array([5.1, 3.5, 1.4, 0.2], np.float32))
    np.testing.assert_array_equal(x[-1], np.array([5.9, 3.0, 5.1, 1.8], np.float32))
    np.testing.assert_array_equal(x[34], np.array([4.9, 3.1, 1.5, 0.2], np.float32))
    assert y[0] == 0 and y[-1] == 2
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 50))


def test_iris_class_means_separate() -> None:
    x, y, _ = load_iris()
    petal_length = [x[y == k, 2].mean() for k in range(3)]
    np.testing.assert_allclose(petal_length, [1.462, 4.26, 5.552], atol=1e-3)
