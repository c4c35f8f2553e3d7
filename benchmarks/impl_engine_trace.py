"""The engine's W1, W3 and W5 with the whole training step under engine.jit.trace.

The step (forward, GradManager backward, optimizer.step().clear_grad()) is recorded on its
first call and replayed host-free after (`without_host=True`): the numbers show what the
replay saves over eager dispatch. W2 and W4 time single ops or a bare matmul: not traced.
"""

from __future__ import annotations

from typing import Any

from benchmarks import impl_engine as eager
from benchmarks.case import Case, UnavailableError

TRACED = ("W1", "W3", "W5")
version = eager.version


def build(workload: str, data: Any, device: str = "cpu0", quick: bool = False) -> Case:
    """The engine's Case of `workload` with its step traced."""
    if workload not in TRACED:
        raise UnavailableError(f"{workload} has no traced variant (only {', '.join(TRACED)})")
    from engine.jit import trace

    return eager.build(workload, data, device, quick, wrap=lambda f: trace(f, without_host=True))
