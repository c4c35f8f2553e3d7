"""Checking a rerun of a traced function against its recording (MegEngine's default mode).

The function runs eagerly again; every primitive, host call, backward and optimizer call it
makes must be the next one of the recording, with the same parameters and operands coming
from the same places. Anything else means Python took another path, and the recorded graph
would be stale: TraceError, with MegEngine's wording.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core.tracing import TRACING, TraceError
from ..tensor import Tensor
from .graph import (
    CONST,
    EXTERNAL,
    Apply,
    Backward,
    Call,
    Graph,
    HostCall,
    Lit,
    ParamVar,
    param_vars,
)
from .recorder import is_array

_CHECKED = (Apply, HostCall, Backward, Call)


class Checker:
    """Walks the recorded instructions while the function runs again."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.events = [i for i in graph.instrs if isinstance(i, _CHECKED)]
        self.pos = 0
        self.by_array: dict[int, int] = {}
        self.keep: list[Any] = []
        self._inputs = iter(graph.inputs)

    def bind_input(self, t: Tensor) -> None:
        """The next argument tensor feeds the next input of the graph."""
        self._map(t._data, next(self._inputs))

    def _map(self, array: Any, idx: int) -> None:
        self.by_array[id(array)] = idx
        self.keep.append(array)

    def _next(self, kind: type, what: str) -> Any:
        if self.pos >= len(self.events):
            raise TraceError(f"trace error because too many instructions: {what} is new")
        ins = self.events[self.pos]
        self.pos += 1
        if not isinstance(ins, kind):
            raise TraceError(
                f"trace error because operator mismatch: instruction {self.pos} was "
                f"{_describe(ins)} when recorded, now it is {what}"
            )
        return ins

    def _operands(self, ins: Any, inputs: Any, arrays: Any, what: str) -> None:
        if len(ins.ins) != len(arrays):
            raise TraceError(f"trace error because operator mismatch: {what} has other inputs")
        for x, a, expected in zip(inputs, arrays, ins.ins, strict=True):
            if not self._same_operand(x, a, expected):
                raise TraceError(
                    f"trace error because tensors not equals: an input of {what} is not the "
                    "tensor it was when recorded"
                )

    def _same_operand(self, x: Any, a: Any, expected: Any) -> bool:
        if isinstance(expected, Lit):
            return _same_value(a, expected.value)
        if not is_array(a):
            return False
        idx = self.by_array.get(id(a))
        if idx is not None:
            return idx == expected
        var = self.graph.vars[expected]
        if var.kind == EXTERNAL and x is var.tensor:
            return True
        if var.kind in (EXTERNAL, CONST) and var.shape == tuple(a.shape):
            # a tensor made inside the function (a constant): its value must not change
            value = var.value if var.kind == CONST else var.tensor._data
            return _same_value(a, value)
        return False

    def _same_params(self, recorded: dict, params: dict) -> bool:
        if recorded.keys() != params.keys():
            return False
        return all(self._same_param(recorded[k], params[k]) for k in recorded)

    def _same_param(self, recorded: Any, value: Any) -> bool:
        """Equal values, or for a ParamVar the array this run computed for that var."""
        if isinstance(recorded, ParamVar):
            return is_array(value) and self.by_array.get(id(value)) == recorded.idx
        if isinstance(recorded, (tuple, list)) and param_vars(recorded):
            return (
                type(value) is type(recorded)
                and len(value) == len(recorded)
                and all(self._same_param(r, v) for r, v in zip(recorded, value, strict=True))
            )
        return _same_value(recorded, value)

    # ---- hooks ---------------------------------------------------------------------------
    def on_apply(
        self, prim: Any, inputs: Any, arrays: Any, params: dict, out: Any, res: Any, result: Tensor
    ) -> None:
        """apply() ran `prim`: it must be the next recorded primitive."""
        ins = self._next(Apply, prim.name)
        if ins.prim is not prim or not self._same_params(ins.params, params):
            raise TraceError(
                f"trace error because operator mismatch: instruction {self.pos} was "
                f"{_describe(ins)} when recorded, now it is {prim.name}{params or ''}"
            )
        self._operands(ins, inputs, arrays, prim.name)
        self._map(out, ins.out)
        if isinstance(ins.res, int):
            self._map(res, ins.res)

    def on_host_call(
        self, fn: Any, inputs: Any, arrays: Any, objects: tuple, params: dict, out: Any
    ) -> None:
        """A host_call: must be the next recorded one."""
        name = getattr(fn, "__name__", "host call")
        ins = self._next(HostCall, name)
        if ins.fn is not fn or not self._same_params(ins.params, params):
            raise TraceError(f"trace error because operator mismatch: {name} differs")
        self._operands(ins, inputs, arrays, name)
        if ins.out is not None and is_array(out):
            self._map(out, ins.out)

    def on_backward(self, gm: Any, y: Any, dy: Any) -> None:
        """GradManager.backward: must come where it came when recorded."""
        ins = self._next(Backward, "backward")
        if ins.manager is not gm:
            raise TraceError("trace error because operator mismatch: another GradManager")
        self.suspended(type(gm).backward, gm, y, dy)
        for t, idx in ins.grads:
            if t.grad is not None:
                self._map(t.grad._data, idx)

    def on_call(self, obj: Any, fn: Any, label: str) -> Any:
        """optimizer.step()/clear_grad(): must be the next recorded call."""
        ins = self._next(Call, label)
        if ins.fn is not fn or ins.obj is not obj:
            raise TraceError(f"trace error because operator mismatch: {label} differs")
        return self.suspended(fn, obj)

    def on_assign(self, tensor: Tensor) -> None:
        """In-place updates run eagerly here; nothing to check."""

    def on_host_read(self, tensor: Tensor) -> None:
        """Host reads are free: the Python code runs, so its branches are checked."""

    def suspended(self, fn: Any, *args: Any) -> Any:
        """Run fn with checking off (its effects are one checked instruction)."""
        TRACING.recorder = None
        try:
            return fn(*args)
        finally:
            TRACING.recorder = self

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Scopes only name things in graphs."""
        yield

    def finish(self) -> None:
        """The function returned: it must have done everything the recording did."""
        self.keep.clear()
        if self.pos < len(self.events):
            raise TraceError(
                f"trace error because mismature end: the function returned after "
                f"{self.pos} of {len(self.events)} recorded instructions "
                f"(next was {_describe(self.events[self.pos])})"
            )


def _describe(ins: Any) -> str:
    if isinstance(ins, Apply):
        return ins.prim.name
    if isinstance(ins, HostCall):
        return getattr(ins.fn, "__name__", "host call")
    if isinstance(ins, Backward):
        return "backward"
    if isinstance(ins, Call):
        return ins.label
    return type(ins).__name__


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if is_array(a) or is_array(b):
        try:
            return bool(np.array_equal(_host(a), _host(b)))
        except (TypeError, ValueError):
            return False
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return False


def _host(x: Any) -> Any:
    return x.get() if hasattr(x, "__cuda_array_interface__") else np.asarray(x)
