"""The Iris dataset (Fisher, 1936) shipped with the package."""

from __future__ import annotations

from importlib import resources

from engine.data.tabular import Table, load_csv

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def load_iris() -> Table:
    """Load Iris: x float32 (150, 4), y int32 codes for setosa/versicolor/virginica."""
    resource = resources.files("engine.data").joinpath("datasets").joinpath("iris.csv")
    with resources.as_file(resource) as path:
        return load_csv(path, label="species", header=True, task="classification")
