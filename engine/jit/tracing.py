"""engine.jit.trace: record a function's computing graph once, then replay it.

As MegEngine's `megengine.jit.trace`: the first call (per input signature) runs the function
eagerly and records every primitive, backward and optimizer step. Later calls either

* run the Python function again and check each operation against the recording, raising
  TraceError when the control flow took another path (`without_host=False`, the default,
  as in MegEngine), or
* skip Python and replay the compiled graph on raw arrays (`without_host=True`): no Tensor
  objects for intermediates, no per-op dispatch, no tape. Values the function read on the
  host (`.item()`, `bool(t)`) are guarded: a replay computing another value raises
  TraceError instead of following a stale path. A new input shape or dtype records again.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from ..core.tape import RECORDING
from ..core.tracing import TRACING, TraceError
from ..tensor import Tensor
from .checker import Checker
from .graph import Graph
from .program import Program
from .recorder import Recorder


class _Entry:
    """One recorded signature: its graph, compiled replay and how to rebuild the outputs."""

    __slots__ = ("graph", "program", "out_spec", "out_tree", "outputs", "single")

    def __init__(self, graph: Graph, out_spec: list, out_tree: Any) -> None:
        self.graph = graph
        self.out_spec = out_spec  # per output leaf: ('var', idx) | ('object', t) | ('py', v)
        self.out_tree = out_tree
        self.outputs = [s[1] for s in out_spec if s[0] == "var"]
        self.program: Program | None = None
        one = out_tree is None and len(out_spec) == 1 and out_spec[0][0] == "var"
        self.single = graph.vars[out_spec[0][1]].device if one else None  # its device

    def compiled(self) -> Program:
        """The replay function, compiled on first use."""
        if self.program is None:
            self.program = Program(self.graph, self.outputs)
        return self.program

    def rebuild(self, arrays: tuple) -> Any:
        """The function's return value from a replay's output arrays."""
        if self.single is not None:  # one tensor returned: the common case, made cheap
            return Tensor._wrap(arrays[0], self.single)
        leaves = []
        k = 0
        for kind, value in self.out_spec:
            if kind == "var":
                leaves.append(Tensor._wrap(arrays[k], self.graph.vars[value].device))
                k += 1
            else:
                leaves.append(value)
        return unflatten(self.out_tree, leaves)


class trace:  # noqa: N801 - MegEngine's name
    """Wrap a function so its computing graph is recorded once and replayed after.

    >>> @trace(without_host=True)
    ... def step(x): ...
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if not args:
            return functools.partial(cls, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        function: Any,
        symbolic: bool = False,
        capture_as_const: bool = False,
        without_host: bool = False,
    ) -> None:
        self.__wrapped__ = function
        functools.update_wrapper(self, function)
        self.symbolic = symbolic
        self.capture_as_const = capture_as_const
        self.without_host = without_host
        self._cache: dict[Any, _Entry] = {}
        self._last: _Entry | None = None

    # ---- the graph ---------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The graph of the most recent recording (print it, or call .to_dot())."""
        if self._last is None:
            raise RuntimeError("the function has not been traced yet: call it once first")
        return self._last.graph

    @property
    def replay_source(self) -> str:
        """The Python the most recent recording compiles to for `without_host=True` replays."""
        if self._last is None:
            raise RuntimeError("the function has not been traced yet: call it once first")
        return self._last.compiled().source

    # ---- calling -----------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if TRACING.recorder is not None or RECORDING.active:
            # inside another trace (it records these ops itself) or under an outer recording
            # GradManager (its tape needs the ops): run eagerly
            return self.__wrapped__(*args, **kwargs)
        if kwargs or (args and any(isinstance(a, _CONTAINERS) for a in args)):
            leaves = flatten((args, kwargs))[0]
        else:
            leaves = args  # what flatten gives for flat positional arguments, faster
        key = signature(leaves) if leaves else ()
        entry = self._cache.get(key)
        if entry is None:
            return self._record(args, kwargs, list(leaves), key)
        self._last = entry
        if self.without_host:
            arrays = [x._data for x in leaves if isinstance(x, Tensor)] if leaves else []
            program = entry.program or entry.compiled()
            return entry.rebuild(program.run(arrays))
        return self._check(entry, args, kwargs, leaves)

    def _record(self, args: tuple, kwargs: dict, leaves: list, key: Any) -> Any:
        names = _parameter_names(self.__wrapped__, leaves)
        rec = Recorder(names, self.capture_as_const, self.symbolic, self.without_host)
        for path, t in _tensor_paths(self.__wrapped__, args, kwargs):
            rec.bind_input(t, path)
        TRACING.recorder = rec
        try:
            out = self.__wrapped__(*args, **kwargs)
        finally:
            TRACING.recorder = None
        out_leaves, out_tree = flatten(out)
        spec = [rec.output(x) if isinstance(x, Tensor) else ("py", x) for x in out_leaves]
        if isinstance(out, dict):  # {"loss": loss, ...}: the keys name the output nodes
            for key, value in out.items():
                if isinstance(value, Tensor):
                    rec.rename(value, str(key))
        entry = _Entry(rec.finish(), spec, out_tree)
        self._cache[key] = self._last = entry
        return out

    def _check(self, entry: _Entry, args: tuple, kwargs: dict, leaves: list) -> Any:
        checker = Checker(entry.graph)
        for t in (x for x in leaves if isinstance(x, Tensor)):
            checker.bind_input(t)
        TRACING.recorder = checker
        try:
            out = self.__wrapped__(*args, **kwargs)
        finally:
            TRACING.recorder = None
        checker.finish()
        return out

    # ---- dumping -----------------------------------------------------------------------
    def dump(self, path: Any) -> None:
        """Write the inference graph and its weights (needs capture_as_const=True)."""
        if not self.capture_as_const:
            raise ValueError("you must specify capture_as_const=True at __init__ to use dump")
        from .dump import dump_graph

        dump_graph(self.graph, path)


# ---- pytrees ---------------------------------------------------------------------------


_CONTAINERS = (tuple, list, dict)


def flatten(obj: Any) -> tuple[list, Any]:
    """Leaves (tensors and other values) of nested tuples/lists/dicts, and the structure."""
    leaves: list = []
    return leaves, _flatten(obj, leaves)


def _flatten(obj: Any, leaves: list) -> Any:
    if isinstance(obj, (tuple, list)):
        return (type(obj), [_flatten(x, leaves) for x in obj])
    if isinstance(obj, dict):
        return (dict, [(k, _flatten(v, leaves)) for k, v in obj.items()])
    leaves.append(obj)
    return None


def unflatten(tree: Any, leaves: list) -> Any:
    """Rebuild what flatten() took apart from new leaves."""
    it = iter(leaves)
    return _unflatten(tree, it)


def _unflatten(tree: Any, it: Any) -> Any:
    if tree is None:
        return next(it)
    kind, items = tree
    if kind is dict:
        return {k: _unflatten(v, it) for k, v in items}
    values = [_unflatten(v, it) for v in items]
    return tuple(values) if kind is tuple else kind(values)


def signature(leaves: list) -> tuple:
    """The cache key of a call: tensors by shape, dtype and device; other values by value."""
    key = []
    for x in leaves:
        if isinstance(x, Tensor):
            key.append((x._data.shape, x._data.dtype, x._device))
        elif hasattr(x, "__array_interface__") and hasattr(x, "tobytes"):
            key.append(("A", x.shape, x.dtype.str, x.tobytes()))
        else:
            try:
                hash(x)
                key.append(("V", type(x).__name__, x))
            except TypeError:
                key.append(("I", id(x)))
    return tuple(key)


def _tensor_paths(fn: Any, args: tuple, kwargs: dict) -> list[tuple[str, Tensor]]:
    """(readable name, tensor) for every tensor argument, in flatten order."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    out: list[tuple[str, Tensor]] = []
    for i, value in enumerate(args):
        named = i < len(params) and params[i].kind in positional
        _paths(params[i].name if named else f"arg{i}", value, out)
    for name, value in kwargs.items():
        _paths(name, value, out)
    return out


def _paths(name: str, value: Any, out: list) -> None:
    if isinstance(value, Tensor):
        out.append((name, value))
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            _paths(f"{name}[{i}]", v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _paths(f"{name}[{k!r}]", v, out)


def _parameter_names(fn: Any, leaves: list) -> dict[int, str]:
    """id(tensor) -> a readable name: module paths ('fc1.weight') or the variable's name."""
    from ..module import Module

    found: list[tuple[str, Any]] = [("", x) for x in leaves if isinstance(x, Module)]
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        found.append(("", owner))
    code = getattr(fn, "__code__", None)
    if code is not None:
        cells = getattr(fn, "__closure__", None) or ()
        for name, cell in zip(code.co_freevars, cells, strict=False):
            try:
                found.append((name, cell.cell_contents))
            except ValueError:
                continue
        globs = getattr(fn, "__globals__", {})
        found += [(name, globs[name]) for name in code.co_names if name in globs]
    names: dict[int, str] = {}
    for name, value in found:
        if isinstance(value, Tensor):
            names.setdefault(id(value), name)
        elif isinstance(value, Module):
            for path, t in value.named_tensors():
                names.setdefault(id(t), path)
    return names


__all__ = ["TraceError", "trace"]
