"""Datasets, samplers, data loaders, tabular file I/O and synthetic data generators."""

from engine.data._common import SyntheticData
from engine.data.dataloader import DataLoader, collate
from engine.data.dataset import ArrayDataset, ConcatDataset, Dataset, StreamDataset
from engine.data.iris import load_iris
from engine.data.sampler import (
    Infinite,
    RandomSampler,
    ReplacementSampler,
    Sampler,
    SequentialSampler,
    StreamSampler,
)
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
from engine.data.workers import SampleError, WorkerInfo, get_worker_info

__all__ = [
    "GENERATORS",
    "SHAPES",
    "ArrayDataset",
    "ConcatDataset",
    "CsvRows",
    "DataFileError",
    "DataLoader",
    "Dataset",
    "GeneratorSpec",
    "Infinite",
    "RandomSampler",
    "SampleError",
    "ReplacementSampler",
    "Sampler",
    "SequentialSampler",
    "StreamDataset",
    "StreamSampler",
    "SyntheticData",
    "Table",
    "WorkerInfo",
    "blobs",
    "collate",
    "generate",
    "get_worker_info",
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
