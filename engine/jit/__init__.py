"""engine.jit: the computing graph made explicit: trace, replay, dump, draw (MegEngine's jit)."""

from ..core.tracing import TraceError
from .graph import Graph
from .tracing import trace

__all__ = ["Graph", "TraceError", "load", "trace"]


def load(path: str):  # noqa: ANN201 - returns a GraphFunction (imported lazily)
    """Load a graph written by `trace.dump` as a callable (no Python function needed)."""
    from .dump import load_graph

    return load_graph(path)
