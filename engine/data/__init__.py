"""Datasets, samplers, data loaders, tabular file I/O and synthetic data generators."""

from engine.data._common import SyntheticData
from engine.data.dataloader import DataLoader, collate
from engine.data.dataset import ArrayDataset, Dataset
from engine.data.iris import load_iris
from engine.data.sampler import RandomSampler, Sampler, SequentialSampler
from engine.data.shapes import SHAPES, images
from engine.data.synthetic import (
    GENERATORS,
    GeneratorSpec,
    blobs,
    generate,
    linear,
    moons,
    polynomial,
    spirals,
)
from engine.data.tabular import (
    CsvRows,
    DataFileError,
    Table,
    load_csv,
    load_npz,
    load_npz_features,
    read_csv,
    save_csv,
    save_npz,
)

__all__ = [
    "GENERATORS",
    "SHAPES",
    "ArrayDataset",
    "CsvRows",
    "DataFileError",
    "DataLoader",
    "Dataset",
    "GeneratorSpec",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SyntheticData",
    "Table",
    "blobs",
    "collate",
    "generate",
    "images",
    "linear",
    "load_csv",
    "load_iris",
    "load_npz",
    "load_npz_features",
    "moons",
    "polynomial",
    "read_csv",
    "save_csv",
    "save_npz",
    "spirals",
]
