"""`Function`: a user-defined operation with its own backward, MegEngine's custom gradient.

    class StraightThroughRound(Function):
        def forward(self, x):
            return F.round(x)

        def backward(self, dy):
            return dy  # pretend round was the identity

    y = StraightThroughRound()(x)

A call records one tape node, like a primitive: its VJP calls `backward` with one
gradient per output (None for an output nothing depended on) and checks that it returns
one gradient (or None) per input, each shaped like its input. `backward` is engine code,
so when an outer GradManager records the backward pass it is recorded too, and the
gradient it returns can be differentiated again.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.op import Primitive, RecordingNamespace
from ..core.tape import RECORDING, Node
from ..tensor import Tensor
from .grad_manager import _RECORDERS
from .recorded import BackwardError


class Function:
    """Subclass with `forward(self, *inputs)` and `backward(self, *output_grads)`; call it."""

    def forward(self, *inputs: Tensor) -> Any:
        """The outputs: a Tensor or a tuple of Tensors. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, *inputs)")

    def backward(self, *output_grads: Tensor | None) -> Any:
        """One gradient per input (a Tensor or None), or a single one. Override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must define backward(self, *output_grads)"
        )

    def __call__(self, *inputs: Tensor) -> Any:
        name = type(self).__name__
        for i, x in enumerate(inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: input {i} must be a Tensor, got {type(x).__name__}")
        nested = _an_outer_manager_could_record()
        if nested:
            # an outer manager may differentiate backward, which may read what forward
            # saved on self: keep forward's history for it
            outputs = self.forward(*inputs)
        else:
            active, RECORDING.active = RECORDING.active, 0  # forward is one step of the graph
            try:
                outputs = self.forward(*inputs)
            finally:
                RECORDING.active = active
        single = isinstance(outputs, Tensor)
        outs = (outputs,) if single else outputs
        if not isinstance(outs, (tuple, list)) or not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"{name}.forward must return a Tensor or a tuple of Tensors")
        outs = tuple(Tensor._wrap(o._data, o._device) for o in outs)  # fresh, un-recorded
        _record(self, inputs, outs)
        return outs[0] if single else outs


def _an_outer_manager_could_record() -> bool:
    return len({m._start for m in _RECORDERS}) > 1


def _record(fn: Function, inputs: tuple, outs: tuple) -> None:
    """Push the node that runs fn.backward, when a manager records and an input is tracked."""
    if not RECORDING.active:
        return
    epoch = RECORDING.epoch
    parents = []
    for x in inputs:
        node = x._node
        parents.append(node if node is not None and node.epoch == epoch else None)
    if all(p is None for p in parents):
        return
    device = inputs[0]._device
    prim = _FunctionPrimitive(fn, [o.shape for o in outs])
    params = {"device": device}
    arrays = [x._data for x in inputs]
    node = Node(prim, parents, arrays, None, None, params, epoch, None, device.xp)
    RECORDING.tape.append(node)
    if len(outs) == 1:
        outs[0]._node = node
        return
    # Several outputs: the node's gradient is one flat vector of all of them, and output
    # k's own node adds its gradient into k's stretch of it (index_add, so recordable too).
    flat = _FlatOutputs(sum(o.size for o in outs))
    start = 0
    for k, o in enumerate(outs):
        stretch = slice(start, start + o.size)
        pick = Node(
            _PICK,
            [node],
            [flat],
            None,
            None,
            {"index": stretch, "prim": prim, "k": k},
            epoch,
            None,
            device.xp,
        )
        RECORDING.tape.append(pick)
        o._node = pick
        start += o.size


class _FunctionPrimitive(Primitive):
    """The registry-less primitive of one Function call: its VJP is the user's backward."""

    def __init__(self, fn: Function, out_shapes: list) -> None:
        super().__init__(type(fn).__name__, _no_forward, vjp=self._vjp)
        self.fn = fn
        self.out_shapes = out_shapes
        self.reached: set[int] = set()  # outputs whose gradient arrived (several outputs)

    def _vjp(self, node: Any, g: Any) -> tuple:
        recorded = isinstance(node.xp, RecordingNamespace)
        device = node.params["device"]
        if len(self.out_shapes) == 1:
            grads = [g]
        else:  # cut the flat gradient back into one per output; None where none arrived
            grads, start = [], 0
            for k, shape in enumerate(self.out_shapes):
                size = math.prod(shape)
                part = g[start : start + size].reshape(shape) if k in self.reached else None
                grads.append(part)
                start += size
            self.reached = set()
        tensors = [
            g if g is None or isinstance(g, Tensor) else Tensor._wrap(g, device) for g in grads
        ]
        if recorded:
            result = self.fn.backward(*tensors)
        else:
            active, RECORDING.active = RECORDING.active, 0  # a plain backward records nothing
            try:
                result = self.fn.backward(*tensors)
            finally:
                RECORDING.active = active
        return self._check(node, result, recorded)

    def _check(self, node: Any, result: Any, recorded: bool) -> tuple:
        name, count = self.name, len(node.inputs)
        grads = (result,) if result is None or isinstance(result, Tensor) else result
        if not isinstance(grads, (tuple, list)):
            raise BackwardError(
                f"{name}.backward must return Tensors (or None), got {type(result).__name__}"
            )
        if len(grads) != count:
            raise BackwardError(
                f"{name}.backward returned {len(grads)} gradient(s) for {count} input(s)"
            )
        out = []
        for i, (gx, x) in enumerate(zip(grads, node.inputs, strict=True)):
            if gx is None:
                out.append(None)
                continue
            if not isinstance(gx, Tensor):
                raise BackwardError(
                    f"{name}.backward: gradient {i} is a {type(gx).__name__}, not a Tensor"
                )
            if tuple(gx.shape) != tuple(x.shape):
                raise BackwardError(
                    f"{name}.backward: gradient {i} has shape {tuple(gx.shape)} but input {i} "
                    f"has shape {tuple(x.shape)}"
                )
            out.append(gx if recorded else gx._data)
        return tuple(out)


def _no_forward(xp: Any, *args: Any) -> Any:
    raise RuntimeError("a Function's node is never run forward again")


class _FlatOutputs:
    """Stands in for a several-output Function's outputs, as one flat vector, in its picks."""

    __slots__ = ("shape",)

    def __init__(self, size: int) -> None:
        self.shape = (size,)


def _pick_vjp(node: Any, g: Any) -> tuple:
    """Output k's gradient placed in its stretch of the flat gradient of all outputs."""
    from ..ops.shape import index_add

    params = node.params
    params["prim"].reached.add(params["k"])
    flat = node.inputs[0].shape
    return (index_add(node.xp, g.reshape(-1), index=params["index"], shape=flat),)


_PICK = Primitive("function output", _no_forward, vjp=_pick_vjp)
