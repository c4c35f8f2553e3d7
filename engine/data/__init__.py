"""Datasets, samplers, data loaders, tabular file I/O and synthetic data generators."""

import importlib
from typing import Any

from engine.data.collator import Collator
from engine.data.dataloader import DataLoader
from engine.data.dataset import ArrayDataset, ConcatDataset, Dataset, StreamDataset
from engine.data.sampler import (
    Infinite,
    RandomSampler,
    ReplacementSampler,
    Sampler,
    SequentialSampler,
    StreamSampler,
)
from engine.data.workers import SampleError, WorkerInfo, get_worker_info

# Generators, the iris copy and CSV/NPZ reading load on first use: a DataLoader over arrays
# in memory needs none of them.
_LAZY = {
    "SyntheticData": "_common",
    "load_iris": "iris",
    "SHAPES": "shapes",
    "images": "shapes",
    **dict.fromkeys(
        ["GENERATORS", "GeneratorSpec", "blobs", "generate", "linear", "moons"]
        + ["polynomial", "spirals"],
        "synthetic",
    ),
    **dict.fromkeys(
        [
            "CsvRows",
            "DataFileError",
            "Table",
            "load_csv",
            "load_npz",
            "load_npz_features",
            "read_csv",
            "save_csv",
            "save_npz",
        ],
        "tabular",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "GENERATORS",
    "SHAPES",
    "ArrayDataset",
    "Collator",
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
