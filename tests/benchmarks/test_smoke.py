"""Smoke tests of the benchmark suite: correctness checks in-process, and one tiny CLI run."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from benchmarks import run
from benchmarks.bundle import reference_values
from benchmarks.case import UnavailableError, compare
from benchmarks.report import paired_ratio
from benchmarks.spec import SMALL, TIMED_WORKLOADS, make_data

DATA = make_data(SMALL)


def _impl(framework: str) -> ModuleType:
    """benchmarks.impl_<framework>, or skip the test when it cannot load here."""
    try:
        return importlib.import_module(f"benchmarks.impl_{framework}")
    except UnavailableError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("framework", ["numpy", "engine", "engine_trace", "torch"])
@pytest.mark.parametrize("workload", TIMED_WORKLOADS)
def test_matches_numpy_reference(workload: str, framework: str) -> None:
    """Three steps (or one forward/backward) agree with the NumPy reference."""
    impl = _impl(framework)
    if framework == "engine_trace" and workload not in impl.TRACED:
        with pytest.raises(UnavailableError, match="no traced variant"):
            impl.build(workload, DATA, "cpu0", quick=True)
        return
    ref = reference_values(workload, DATA)
    got = impl.build(workload, DATA, "cpu0", quick=True).probe()
    assert compare(got, ref) is None


def test_reference_losses_move() -> None:
    """The reference trajectories are finite and change from step to step (the updates act)."""
    for workload in ("W1", "W3", "W5"):
        losses = reference_values(workload, DATA)["loss"]
        assert np.all(np.isfinite(losses)) and len(set(losses.tolist())) == len(losses)


def test_compare_flags_mismatch() -> None:
    """A trajectory off by more than rtol is reported, a close one is not."""
    ref = {"loss": np.array([2.30, 2.25, 2.20])}
    assert compare({"loss": ref["loss"] * (1 + 1e-6)}, ref) is None
    assert "loss" in (compare({"loss": ref["loss"] * 1.01}, ref) or "")
    assert compare({"other": ref["loss"]}, ref) is not None


def test_paired_ratio_uses_same_round() -> None:
    """Ratios are taken round by round, then their median."""
    ours = [{"round": r, "status": "ok", "median": m} for r, m in enumerate([2.0, 6.0, 3.0])]
    ref = [{"round": r, "status": "ok", "median": m} for r, m in enumerate([1.0, 2.0, 3.0])]
    assert paired_ratio(ours, ref) == 2.0


def test_cli_quick_numpy(tmp_path: Path) -> None:
    """A tiny end-to-end run writes both reports with a numpy row."""
    argv = ["--quick", "--small", "--frameworks", "numpy", "--workloads", "W1", "--rounds", "2"]
    assert run.main([*argv, "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    (row,) = doc["rows"]
    assert row["status"] == "ok" and row["ratio_numpy"] == 1.0 and row["median"] > 0
    assert len(doc["runs"]) == 2
    assert "| W1 | numpy |" in (tmp_path / "results.md").read_text()
