"""Every primitive forward and backward on gpu0 equals cpu0 (float32 and float64 samples)."""

from __future__ import annotations

import pytest

from engine.testing.devcheck import compare_primitive, primitives_with_samples


@pytest.mark.parametrize("name", primitives_with_samples())
def test_primitive_float32_on_gpu_matches_cpu(name: str, gpu: str) -> None:
    assert compare_primitive(name, gpu, rtol=2e-5, atol=2e-6, dtype="float32") > 0


@pytest.mark.parametrize("name", primitives_with_samples())
def test_primitive_float64_on_gpu_matches_cpu(name: str, gpu: str) -> None:
    assert compare_primitive(name, gpu, rtol=1e-9, atol=1e-12) > 0
