"""Recording a traced function's first call into a Graph, while it runs eagerly.

The recorder is installed as `TRACING.recorder`; every `apply()`, host_call, backward,
optimizer step, in-place assignment and host read of the call reports to it. Arrays are
identified by `id()` while the recording keeps them alive, so a tensor whose data is
replaced (`x += 1`) is followed to the instruction that produced its new value.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core.tape import RECORDING
from ..core.tracing import TRACING, TraceError
from ..tensor import Parameter, Tensor
from .graph import (
    CONST,
    EXTERNAL,
    GRAD,
    HOST,
    INPUT,
    OP,
    Apply,
    Assign,
    Backward,
    BackwardStep,
    Call,
    Graph,
    Guard,
    HostCall,
    Lit,
    ParamVar,
    SetGrad,
    Var,
)


def is_array(x: Any) -> bool:
    """Whether x is a device array (NumPy's, CuPy's, any backend's), not a number or None."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type)


class Recorder:
    """Builds a Graph from one eager run of the traced function."""

    def __init__(
        self,
        names: dict[int, str],
        capture_as_const: bool,
        symbolic: bool,
        without_host: bool = False,
    ) -> None:
        self.graph = Graph()
        self.without_host = without_host  # replays will not run the function's Python
        self.names = names  # id(tensor) -> a readable name (module parameter paths)
        self.capture_as_const = capture_as_const
        self.symbolic = symbolic
        self.by_array: dict[int, int] = {}  # id(array) -> var index
        self.keep: list[Any] = []  # arrays and tensors kept alive so their ids stay unique
        self.made: set[int] = set()  # ids of tensors created by this call's primitives
        self.node_apply: dict[int, int] = {}  # id(tape node) -> index of its Apply
        self.externals: dict[int, int] = {}  # id(tensor) -> its EXTERNAL var
        # id(tensor) -> (tensor, the var its .grad holds in the replay, or None) for every
        # tensor a recorded backward gave a gradient, and the ids of those grad tensors
        self.grads: dict[int, tuple[Tensor, int | None]] = {}
        self.grad_tensors: set[int] = set()
        self._scope: str | None = None
        self._count = 0
        self._settings = _optimizer_settings()

    # ---- vars --------------------------------------------------------------------------
    def new_var(self, kind: str, array: Any, device: Any, name: str = "", **kw: Any) -> int:
        """A new data node for `array` (mapped by id so later uses find it)."""
        idx = len(self.graph.vars)
        if not name:
            name = f"t{self._count}"
            self._count += 1
        if is_array(array):
            shape, dtype = tuple(array.shape), array.dtype
            self.by_array[id(array)] = idx
        else:  # a residual that is not one array (a tuple of them): an opaque value
            shape, dtype = (), np.dtype(object)
        self.graph.vars.append(Var(idx, kind, shape, dtype, name, device, **kw))
        self.keep.append(array)
        return idx

    def bind_input(self, tensor: Tensor, name: str) -> int:
        """Make an argument tensor an input of the graph."""
        idx = self.new_var(INPUT, tensor._data, tensor._device, name)
        self.keep.append(tensor)
        self.graph.inputs.append(idx)
        return idx

    def operand(self, x: Any, array: Any, device: Any) -> Any:
        """The var index (or Lit) for one input of an instruction."""
        if not is_array(array):
            return Lit(array)
        idx = self.by_array.get(id(array))
        if idx is not None:
            return idx
        if isinstance(x, Tensor):
            return self.external(x)
        # a bare array literal (an index array, say): a constant of the graph
        return self.new_var(CONST, array, device, f"c{len(self.graph.vars)}", value=array)

    def external(self, t: Tensor) -> int:
        """The var of a tensor that existed before the call (read live unless captured)."""
        name = self.names.get(id(t)) or f"c{len(self.graph.vars)}"
        if self.capture_as_const:
            value = t._data.copy()
            idx = self.new_var(CONST, t._data, t._device, name, value=value)
        else:
            idx = self.new_var(EXTERNAL, t._data, t._device, name, tensor=t)
        self.graph.vars[idx].is_param = isinstance(t, Parameter)
        self.externals[id(t)] = idx
        self.keep.append(t)
        return idx

    def params(self, params: dict) -> dict:
        """Params as recorded: an array this call computed or took as input (a tensor
        index) becomes a ParamVar, so replays index with their own array, not this one."""
        return {k: self._param(v) for k, v in params.items()}

    def _param(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(self._param(v) for v in value)
        if isinstance(value, list):
            return [self._param(v) for v in value]
        if is_array(value):
            idx = self.by_array.get(id(value))
            if idx is not None and self.graph.vars[idx].kind != CONST:
                return ParamVar(idx)
        return value

    # ---- hooks called by the engine ------------------------------------------------------
    def on_apply(
        self, prim: Any, inputs: Any, arrays: Any, params: dict, out: Any, res: Any, result: Tensor
    ) -> None:
        """apply() ran `prim`: record it."""
        device = result._device
        ins = [self.operand(x, a, device) for x, a in zip(inputs, arrays, strict=True)]
        out_idx = self.new_var(OP, out, device)
        res_idx = None
        if prim.residual:  # an array, a tuple of arrays, ...: a slot of its own either way
            res_idx = self.new_var(OP, res, device, f"{self.graph.vars[out_idx].name}_res")
        apply = Apply(prim, self.params(params), ins, out_idx, res_idx, device, self._scope)
        self.graph.instrs.append(apply)
        self.made.add(id(result))
        self.keep.append(result)
        node = result._node
        if node is not None:
            self.node_apply[id(node)] = len(self.graph.instrs) - 1

    def on_host_call(
        self, fn: Any, inputs: Any, arrays: Any, objects: tuple, params: dict, out: Any
    ) -> None:
        """host_call ran `fn`: record it so replays run it again."""
        device = next((x._device for x in inputs if isinstance(x, Tensor)), None)
        if device is None:
            from ..core.device import as_device

            device = as_device(None)
        ins = [self.operand(x, a, device) for x, a in zip(inputs, arrays, strict=True)]
        out_idx = self.new_var(HOST, out, device) if is_array(out) else None
        self.graph.instrs.append(HostCall(fn, ins, objects, self.params(params), out_idx, device))
        self.keep.extend(objects)

    def on_assign(self, tensor: Tensor) -> None:
        """A tensor's data was replaced in place (`x += 1`, `x[i] = v`)."""
        if id(tensor) in self.made:
            return  # a temporary of this call: nobody outside can see it
        if id(tensor) in self.grad_tensors:
            return  # a gradient: settle_grads() records what its parameter's .grad holds
        idx = self.operand(tensor, tensor._data, tensor._device)
        name = self.names.get(id(tensor)) or self.graph.vars[idx].name
        self.graph.instrs.append(Assign(tensor, idx, name))
        self.keep.append(tensor)

    def on_host_read(self, tensor: Tensor) -> None:
        """Python read a value: a replay must compute the same one, or the graph is stale."""
        if self.symbolic:
            raise TraceError(
                "trace error because a value was read on the host in symbolic tracing: "
                "return the tensor and read it outside the traced function"
            )
        idx = self.operand(tensor, tensor._data, tensor._device)
        if isinstance(idx, Lit) or self.graph.vars[idx].kind == CONST:
            return  # a constant never changes
        value = tensor._device.backend.to_host(tensor._data).copy()
        self.graph.instrs.append(Guard(idx, value))

    def on_call(self, obj: Any, fn: Any, label: str) -> Any:
        """A method with effects outside apply() (optimizer.step): record, then run it."""
        self.settle_grads()
        self.check_settings()
        self.graph.instrs.append(Call(fn, obj, label))
        self.keep.append(obj)
        result = self.suspended(fn, obj)
        self.settle_grads(record=False)  # what the call did to them, it does on replay too
        self._settings = _optimizer_settings()  # a scheduler's step() is replayed too
        return result

    def check_settings(self) -> None:
        """An optimizer setting (a hand-made lr warm-up) changed by Python since the last
        recorded call: a host-free replay would keep the recorded value, so refuse."""
        if not self.without_host:
            return  # the function runs again on every call: its Python changes them again
        for opt, before in self._settings.values():
            if not _same_settings(before, _settings_of(opt)):
                raise TraceError(
                    "trace error because an optimizer's settings (lr, momentum, ...) were "
                    "changed inside a traced function with without_host=True, whose replays "
                    "do not run Python: change them outside it, or step an lr_scheduler in it"
                )

    def settle_grads(self, record: bool = True) -> None:
        """Record a SetGrad for each gradient a backward wrote that Python has changed since
        (clip_grad_norm, `p.grad = p.grad * 2`, `p.grad = None`): the replay's gradients
        are those a later step() or the caller sees. record=False only takes note."""
        for key, (t, held) in list(self.grads.items()):
            grad = t.grad
            now = None if grad is None else self.operand(grad, grad._data, grad._device)
            if grad is not None:
                self.grad_tensors.add(id(grad))
                self.keep.append(grad)
            if now == held:
                continue
            if isinstance(now, Lit):  # a Python number as a gradient: no array to hold
                raise TraceError("trace error because a gradient was set to a non-array")
            if record:
                self.graph.instrs.append(SetGrad(t, now, _grad_owner_name(self, t)))
            self.grads[key] = (t, now)

    def on_backward(self, gm: Any, y: Any, dy: Any) -> None:
        """GradManager.backward inside the call: record its tape as replayable steps."""
        self.settle_grads()  # a backward adds to the gradients as they are now
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        dys = list(dy) if isinstance(dy, (list, tuple)) else [dy] * len(ys)
        tape = list(RECORDING.tape) if gm.is_recording else []
        position = {id(node): k for k, node in enumerate(tape)}
        steps = []
        leaves: list[Tensor] = []
        leaf_pos: dict[int, int] = {}
        for node in tape:
            apply_idx = self.node_apply.get(id(node))
            if apply_idx is None:
                raise TraceError(
                    "trace error because backward reaches an operation recorded outside the "
                    "traced function: put the forward pass inside it too"
                )
            targets = []
            for parent in node.parents:
                if parent is None:
                    targets.append(None)
                elif parent.leaf is not None:
                    t = parent.leaf.tensor
                    if id(t) not in leaf_pos:
                        leaf_pos[id(t)] = len(leaves)
                        leaves.append(t)
                    targets.append(("leaf", leaf_pos[id(t)]))
                else:
                    targets.append(("node", position[id(parent)]))
            shapes = [getattr(a, "shape", None) for a in node.inputs]
            steps.append(BackwardStep(apply_idx, targets, shapes))
        roots = []
        for yi, dyi in zip(ys, dys, strict=False):
            node = getattr(yi, "_node", None)
            k = position.get(id(node)) if node is not None else None
            y_idx = self.operand(yi, yi._data, yi._device)
            if dyi is None:
                dy_op: Any = None
            else:
                dy_op = self.operand(dyi, getattr(dyi, "_data", dyi), yi._device)
            roots.append((k, y_idx, dy_op))
        # store order: the manager's attach order, as the eager backward does
        order = {id(t): i for i, t in enumerate(gm.attached_tensors())}
        leaves_sorted = sorted(leaves, key=lambda t: order.get(id(t), len(order)))
        where = {id(t): i for i, t in enumerate(leaves_sorted)}
        remap = [where[id(t)] for t in leaves]
        for step in steps:
            step.targets = [
                ("leaf", remap[t[1]]) if t is not None and t[0] == "leaf" else t
                for t in step.targets
            ]
        instr = Backward(gm, roots, steps, leaves_sorted, [])
        self.graph.instrs.append(instr)
        self.keep.append(gm)
        instr.probed = self._probed_backward(gm, y, dy, steps, position)
        for t in leaves_sorted:
            if t.grad is not None:
                idx = self.new_var(
                    GRAD, t.grad._data, t._device, f"{_grad_owner_name(self, t)}.grad"
                )
                instr.grads.append((t, idx))
                self.grads[id(t)] = (t, idx)
                self.grad_tensors.add(id(t.grad))
                self.keep.append(t.grad)

    def _probed_backward(self, gm: Any, y: Any, dy: Any, steps: list, position: dict) -> bool:
        """Run the backward eagerly, noting what each VJP returned (shape, dtype and whether
        it is an array only the replay holds, or None), so the replay can drop every None
        check and decide each unbroadcast once. False when the walk ran on recorded Tensors
        (a higher-order backward): no static plan."""
        seen = [False]

        def probe(node: Any, g: Any, grads: Any) -> None:
            seen[0] = True
            k = position.get(id(node))
            if k is not None:
                steps[k].results = [
                    None if gx is None else (tuple(gx.shape), gx.dtype, _owned(gx, node, g, grads))
                    for gx in grads
                ]

        TRACING.vjp_probe = probe
        try:
            self.suspended(type(gm).backward, gm, y, dy)
        finally:
            TRACING.vjp_probe = None
        return seen[0]  # a recorded walk (on Tensors) never calls the probe

    def suspended(self, fn: Any, *args: Any) -> Any:
        """Run fn eagerly with recording off (its own effects are one instruction)."""
        TRACING.recorder = None
        try:
            return fn(*args)
        finally:
            TRACING.recorder = self

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Tag the primitives applied inside with `name` (the outermost scope wins)."""
        outer = self._scope
        self._scope = outer or name
        try:
            yield
        finally:
            self._scope = outer

    # ---- the end -----------------------------------------------------------------------
    def output(self, t: Tensor) -> tuple[str, Any]:
        """How a returned tensor is rebuilt on replay: ('var', idx) or ('object', t)."""
        idx = self.operand(t, t._data, t._device)
        self.graph.outputs.append(idx)
        if isinstance(idx, Lit) or (id(t) not in self.made and id(t) in self.externals):
            return ("object", t)  # a parameter returned as it is: the same object, as eagerly
        return ("var", idx)

    def rename(self, t: Tensor, name: str) -> None:
        """Give the node holding t's value a readable name (not parameters or inputs)."""
        idx = self.by_array.get(id(t._data))
        if idx is not None and self.graph.vars[idx].kind in (OP, HOST):
            self.graph.vars[idx].name = name

    def finish(self) -> Graph:
        """The recorded graph, with the arrays of the first call let go."""
        self.settle_grads()  # gradients changed after the last call are the caller's too
        self.check_settings()
        self.keep.clear()
        self.by_array.clear()
        return self.graph


def _optimizer_settings() -> dict[int, tuple[Any, list]]:
    """id -> (optimizer, its groups' settings) for every optimizer that exists now."""
    module = sys.modules.get("engine.optimizer.optimizer")  # none loaded: no optimizers
    if module is None:
        return {}
    return {id(o): (o, module.settings(o)) for o in module.live_optimizers()}


def _settings_of(opt: Any) -> list:
    return sys.modules["engine.optimizer.optimizer"].settings(opt)


def _same_settings(before: list, after: list) -> bool:
    try:
        return bool(before == after)
    except (TypeError, ValueError):  # a setting holds an array: compare values by identity
        return len(before) == len(after) and all(
            b.keys() == a.keys() and all(b[k] is a[k] for k in b)
            for b, a in zip(before, after, strict=True)
        )


def _grad_owner_name(rec: Recorder, t: Tensor) -> str:
    """The name of the tensor whose gradient this is (its graph name, else 'leaf')."""
    owner = rec.externals.get(id(t))
    return rec.graph.vars[owner].name if owner is not None else "leaf"


def _owned(gx: Any, node: Any, g: Any, grads: Any) -> bool:
    """Whether a VJP result is an array the VJP made and returned once: nothing else (its
    gradient, inputs, output, residuals, its other results) shares its memory, so a replay
    may overwrite it once the gradient is no longer read. VJPs keep no arrays of their own."""
    if not getattr(gx, "ndim", 0):
        return False  # 0-d results may be scalars, which have no in-place operations
    root = _root(gx)
    res = node.res if isinstance(node.res, (tuple, list)) else (node.res,)
    known = (g, node.out, *node.inputs, *res)
    if any(a is not None and _root(a) is root for a in known):
        return False
    return sum(1 for other in grads if other is not None and _root(other) is root) == 1


def _root(array: Any) -> Any:
    """The array that owns `array`'s memory (itself unless it is a view)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array
