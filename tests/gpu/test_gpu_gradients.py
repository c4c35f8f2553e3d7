"""Finite-difference gradient checks in float64, run on gpu0."""

from __future__ import annotations

import pytest

import engine  # noqa: F401  (fills the registry)
from engine.autodiff import check_primitive
from engine.autodiff.check import primitive_rng
from engine.core.device import default_device
from engine.core.op import REGISTRY

DIFFERENTIABLE = sorted(n for n, p in REGISTRY.items() if p.differentiable)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_primitive_gradient_float64_on_gpu(name: str, gpu: str) -> None:
    with default_device(gpu):
        result = check_primitive(REGISTRY[name], primitive_rng(name, 0))
    detail = [r.to_dict() for r in result.inputs if not r.passed]
    assert result.status == "pass", (result.problems, detail)
    assert all(r.max_abs < 1e-5 for r in result.inputs)
