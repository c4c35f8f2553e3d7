"""The trace hook: who is watching apply() right now, and host work a trace must repeat.

`engine.jit.trace` installs a recorder here while a traced function runs; `apply()` and
the few places that act outside it (GradManager.backward, optimizer steps, host reads,
host-side kernels such as batch-norm statistics) report to it. Eager code pays one
attribute check: `TRACING.recorder is None`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TraceError(Exception):
    """A traced function did something else than when it was recorded (MegEngine's kind).

    Messages start as MegEngine's do: 'trace error because operator mismatch', 'tensors not
    equals', 'too many instructions', 'mismature end' (sic), followed by what differed. It
    lives here, below everything, so code outside engine.jit (a scheduler) can raise it.
    """


class _Tracing:
    """Global trace state: the active recorder (None when nothing traces), and the probe a
    recording trace sets to learn, from the eager backward, what each VJP returned."""

    __slots__ = ("recorder", "vjp_probe")

    def __init__(self) -> None:
        self.recorder: Any = None
        self.vjp_probe: Any = None  # probe(node, g, grads) by the array backward


TRACING = _Tracing()


def host_call(fn: Callable[..., Any], *inputs: Any, objects: tuple = (), **params: Any) -> Any:
    """Run `fn(*arrays, *objects, **params)` and let a trace repeat it on every replay.

    For host-side work that is not a primitive (random masks, running statistics): a trace
    records the call and replays it with the arrays of that replay; `objects` (tensors whose
    data `fn` replaces, say) are passed through as they are.
    """
    arrays = [getattr(x, "_data", x) for x in inputs]
    out = fn(*arrays, *objects, **params)
    rec = TRACING.recorder
    if rec is not None:
        rec.on_host_call(fn, inputs, arrays, objects, params, out)
    return out


def scoped(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator naming the primitives a composite function applies (a loss, say) in graphs."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def scoped_fn(*args: Any, **kwargs: Any) -> Any:
            rec = TRACING.recorder
            if rec is None:
                return fn(*args, **kwargs)
            with rec.scope(name):
                return fn(*args, **kwargs)

        scoped_fn.__name__ = fn.__name__
        scoped_fn.__qualname__ = fn.__qualname__
        scoped_fn.__doc__ = fn.__doc__
        scoped_fn.__wrapped__ = fn  # type: ignore[attr-defined]
        return scoped_fn

    return wrap
