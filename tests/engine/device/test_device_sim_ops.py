"""Every primitive, forward and backward, on the simulated device `sim0` equals `cpu0`.

The simulated arrays refuse NumPy functions, host operands and silent downloads, so a
kernel that would break on CuPy (or stall it with a host copy) fails here without a GPU.
"""

from __future__ import annotations

import pytest

from engine.testing import simulated
from engine.testing.devcheck import compare_primitive, primitives_with_samples

simulated.install()  # at import: the parametrisation below names sim0


@pytest.mark.parametrize("name", primitives_with_samples())
def test_primitive_on_sim_matches_cpu(name: str, sim_device) -> None:
    assert compare_primitive(name, sim_device, rtol=1e-12, atol=1e-12) > 0
