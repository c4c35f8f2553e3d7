"""The .npz file handed to workers: shared inputs, initial weights and NumPy reference values."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks import impl_numpy
from benchmarks.case import Values
from benchmarks.spec import data_prefix

REF = "ref."


def reference_values(workload: str, data: dict[str, np.ndarray]) -> Values:
    """What the NumPy reference's probe gives for `workload` (losses, outputs, gradients)."""
    return impl_numpy.build(workload, data).probe()


def write_bundle(path: Path, data: dict[str, np.ndarray], workloads: list[str]) -> None:
    """Save `data` plus the reference values of each workload to `path`."""
    arrays = dict(data)
    for workload in workloads:
        for key, value in reference_values(workload, data).items():
            arrays[f"{REF}{workload}.{key}"] = value
    np.savez(path, **arrays)


def load_bundle(path: Path, workload: str) -> tuple[dict[str, np.ndarray], Values]:
    """The data of `workload` and its reference values (only those: peak RSS stays honest)."""
    prefix, ref_prefix = data_prefix(workload), f"{REF}{workload}."
    with np.load(path) as npz:
        data = {name: npz[name] for name in npz.files if name.startswith(prefix)}
        ref = {
            name[len(ref_prefix) :]: npz[name] for name in npz.files if name.startswith(ref_prefix)
        }
    return data, ref
