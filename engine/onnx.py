"""engine.onnx.export: a module or traced function as an ONNX model (needs the onnx extra).

The function is traced on the example inputs (a module in eval mode), and each recorded
primitive becomes ONNX nodes; weights become initializers. The first dimension of every input
and output is the batch (named "batch"), so the model runs on any batch size. A primitive
without an ONNX counterpart here is a ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .jit.graph import CONST, EXTERNAL, Apply, Graph, Lit
from .jit.tracing import trace
from .tensor import Tensor

OPSET = 17
_UNARY = {
    "neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "tanh": "Tanh",
    "sigmoid": "Sigmoid", "relu": "Relu", "sin": "Sin", "cos": "Cos", "floor": "Floor",
    "ceil": "Ceil", "erf": "Erf", "sign": "Sign", "softplus": "Softplus", "copy": "Identity",
    "logical_not": "Not", "round": "Round", "sinh": "Sinh", "cosh": "Cosh", "asinh": "Asinh",
    "acosh": "Acosh", "atanh": "Atanh",
}  # fmt: skip
_BINARY = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
    "minimum": "Min", "equal": "Equal", "less": "Less", "greater": "Greater",
    "less_equal": "LessOrEqual", "greater_equal": "GreaterOrEqual", "matmul": "MatMul",
    "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor",
}  # fmt: skip
_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin"}


def export(
    model_or_fn: Any,
    example_inputs: Any,
    path: Any,
    *,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
) -> None:
    """Trace `model_or_fn` on `example_inputs` and write it to `path` as ONNX (opset 17)."""
    import onnx

    inputs = list(example_inputs) if isinstance(example_inputs, (list, tuple)) else [example_inputs]
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    graph = _trace(model_or_fn, tensors)
    model = to_onnx(graph, input_names, output_names)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _trace(model_or_fn: Any, tensors: list[Tensor]) -> Graph:
    """The graph of one call on `tensors`; a module is traced in eval mode (then restored)."""
    from .module import Module

    if isinstance(model_or_fn, trace):
        model_or_fn(*tensors)
        return model_or_fn.graph
    if isinstance(model_or_fn, Module):
        module = model_or_fn
        training = module.training
        module.eval()
        try:
            traced = trace(lambda *xs: module(*xs))
            traced(*tensors)
        finally:
            module.train(training)
        return traced.graph.rename_tensors(module.named_tensors())
    if callable(model_or_fn):
        traced = trace(model_or_fn)
        traced(*tensors)
        return traced.graph
    raise TypeError(f"export needs a Module or a function, got {type(model_or_fn).__name__}")


def to_onnx(graph: Graph, input_names: list[str] | None, output_names: list[str] | None) -> Any:
    """An onnx.ModelProto computing `graph`'s outputs from its inputs."""
    from onnx import helper

    from .jit.dump import needed_applies

    conv = _Converter(graph)
    for ins in needed_applies(graph):
        conv.apply(ins)
    ins_names = input_names or [graph.vars[i].name for i in graph.inputs]
    outs = [i for i in graph.outputs if isinstance(i, int)]
    out_names = output_names or [
        f"output{k}" if len(outs) > 1 else "output" for k in range(len(outs))
    ]
    for i, name in zip(graph.inputs, ins_names, strict=True):
        conv.nodes.insert(0, helper.make_node("Identity", [name], [conv.name(i)]))
    for i, name in zip(outs, out_names, strict=True):
        conv.nodes.append(helper.make_node("Identity", [conv.name(i)], [name]))
    value_info = [
        _value(name, graph.vars[i])
        for names, idxs in ((ins_names, graph.inputs), (out_names, outs))
        for name, i in zip(names, idxs, strict=True)
    ]
    onnx_graph = helper.make_graph(
        conv.nodes,
        "engine",
        value_info[: len(ins_names)],
        value_info[len(ins_names) :],
        initializer=conv.initializers,
    )
    return helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="engine",
    )


def _value(name: str, var: Any) -> Any:
    from onnx import helper

    shape: list[Any] = list(var.shape)
    if shape:
        shape[0] = "batch"
    return helper.make_tensor_value_info(name, _onnx_type(var.dtype), shape)


def _onnx_type(dtype: Any) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class _Converter:
    """Turns Apply instructions into ONNX nodes, constants into initializers."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0
        self._done: set[int] = set()

    def name(self, idx: int) -> str:
        """The ONNX value name of var idx (weights become initializers on first use)."""
        var = self.graph.vars[idx]
        name = f"v{idx}_{var.name}".replace(".", "_")
        if var.kind in (CONST, EXTERNAL) and idx not in self._done:
            self._done.add(idx)
            value = var.value if var.kind == CONST else var.tensor._data
            self.const(np.asarray(var.device.backend.to_host(value)), name)
        return name

    def const(self, value: Any, name: str | None = None) -> str:
        """An initializer holding `value`."""
        from onnx import numpy_helper

        if name is None:
            name = f"c{self._count}"
            self._count += 1
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def operand(self, x: Any, like: Any) -> str:
        """A var's name, or a literal as a constant of the dtype of `like`."""
        if isinstance(x, Lit):
            return self.const(np.asarray(x.value, dtype=like))
        return self.name(x)

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        """Append an ONNX node; returns its output name."""
        from onnx import helper

        if out is None:
            out = f"n{self._count}"
            self._count += 1
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def apply(self, ins: Apply) -> None:
        """Convert one primitive application."""
        name = ins.prim.name
        handler: Callable[..., Any] | None = getattr(self, f"_op_{name}", None)
        dtype = self.graph.vars[ins.out].dtype
        out = self.name(ins.out)
        if name in _UNARY:
            self.node(_UNARY[name], [self.operand(ins.ins[0], dtype)], out)
        elif name in _BINARY:
            like = next((self.graph.vars[x].dtype for x in ins.ins if isinstance(x, int)), dtype)
            args = [self.operand(x, like) for x in ins.ins]
            self.node(_BINARY[name], args, out)
        elif name in _REDUCE:
            self._reduce(ins, out)
        elif handler is not None:
            handler(ins, out)
        else:
            producer = self.graph.vars[ins.out].name
            raise ValueError(
                f"ONNX export: operator {name!r} (making {producer}) has no ONNX counterpart in "
                "engine.onnx"
            )

    def _reduce(self, ins: Apply, out: str) -> None:
        x = self.name(ins.ins[0])
        axis = ins.params.get("axis")
        keep = int(bool(ins.params.get("keepdims", False)))
        op = _REDUCE[ins.prim.name]
        if axis is None:
            axes = list(range(len(self.graph.vars[ins.ins[0]].shape)))
        else:
            axes = [axis] if isinstance(axis, int) else list(axis)
        if op == "ReduceSum":  # opset 13+: axes is an input
            self.node(op, [x, self.const(np.array(axes, dtype=np.int64))], out, keepdims=keep)
        else:
            self.node(op, [x], out, axes=axes, keepdims=keep)

    # ---- primitives with their own mapping ----------------------------------------------------
    def _op_square(self, ins: Apply, out: str) -> None:
        x = self.name(ins.ins[0])
        self.node("Mul", [x, x], out)

    def _op_leaky_relu(self, ins: Apply, out: str) -> None:
        alpha = float(ins.params.get("negative_slope", 0.01))
        self.node("LeakyRelu", [self.name(ins.ins[0])], out, alpha=alpha)

    def _op_gelu(self, ins: Apply, out: str) -> None:
        x = self.name(ins.ins[0])
        dtype = self.graph.vars[ins.out].dtype
        scaled = self.node("Mul", [x, self.const(np.asarray(np.sqrt(0.5), dtype=dtype))])
        plus = self.node("Add", [self.node("Erf", [scaled]), self.const(np.ones((), dtype))])
        half = self.node("Mul", [x, self.const(np.asarray(0.5, dtype=dtype))])
        self.node("Mul", [half, plus], out)

    def _op_silu(self, ins: Apply, out: str) -> None:
        x = self.name(ins.ins[0])
        self.node("Mul", [x, self.node("Sigmoid", [x])], out)

    def _op_clip(self, ins: Apply, out: str) -> None:
        dtype = self.graph.vars[ins.out].dtype
        lo, hi = ins.params.get("lower"), ins.params.get("upper")
        args = [self.name(ins.ins[0])]
        args.append(self.const(np.asarray(lo, dtype)) if lo is not None else "")
        args.append(self.const(np.asarray(hi, dtype)) if hi is not None else "")
        self.node("Clip", args, out)

    def _op_softmax(self, ins: Apply, out: str) -> None:
        self.node("Softmax", [self.name(ins.ins[0])], out, axis=int(ins.params["axis"]))

    def _op_logsoftmax(self, ins: Apply, out: str) -> None:
        self.node("LogSoftmax", [self.name(ins.ins[0])], out, axis=int(ins.params["axis"]))

    def _op_astype(self, ins: Apply, out: str) -> None:
        self.node("Cast", [self.name(ins.ins[0])], out, to=_onnx_type(ins.params["dtype"]))

    def _op_where(self, ins: Apply, out: str) -> None:
        dtype = self.graph.vars[ins.out].dtype
        self.node("Where", [self.operand(x, dtype) for x in ins.ins], out)

    def _op_reshape(self, ins: Apply, out: str) -> None:
        src = self.graph.vars[ins.ins[0]]
        shape = list(self.graph.vars[ins.out].shape)
        if shape and src.shape and shape[0] == src.shape[0]:
            shape[0] = 0  # ONNX: copy the (batch) dimension from the input
        self.node("Reshape", [self.name(ins.ins[0]), self.const(np.array(shape, np.int64))], out)

    def _op_transpose(self, ins: Apply, out: str) -> None:
        axes = ins.params.get("axes")
        ndim = len(self.graph.vars[ins.ins[0]].shape)
        perm = list(axes) if axes is not None else list(range(ndim))[::-1]
        self.node("Transpose", [self.name(ins.ins[0])], out, perm=perm)

    def _op_concat(self, ins: Apply, out: str) -> None:
        self.node("Concat", [self.name(x) for x in ins.ins], out, axis=int(ins.params["axis"]))

    def _op_linear(self, ins: Apply, out: str) -> None:
        x, w = self.name(ins.ins[0]), self.name(ins.ins[1])
        has_bias = len(ins.ins) > 2 and not isinstance(ins.ins[2], Lit)
        if len(self.graph.vars[ins.ins[0]].shape) == 2:
            args = [x, w] + ([self.name(ins.ins[2])] if has_bias else [])
            self.node("Gemm", args, out, transB=1)
            return
        product = self.node("MatMul", [x, self.node("Transpose", [w], perm=[1, 0])])
        if has_bias:
            self.node("Add", [product, self.name(ins.ins[2])], out)
        else:
            self.node("Identity", [product], out)

    def _op_conv2d(self, ins: Apply, out: str) -> None:
        p = ins.params
        args = [self.name(ins.ins[0]), self.name(ins.ins[1])]
        if len(ins.ins) > 2 and not isinstance(ins.ins[2], Lit):
            minus_one = self.const(np.array([-1], np.int64))
            args.append(self.node("Reshape", [self.name(ins.ins[2]), minus_one]))  # (1,C,1,1)->(C,)
        ph, pw = p["padding"]
        self.node(
            "Conv", args, out, strides=list(p["stride"]), pads=[ph, pw, ph, pw],
            dilations=list(p["dilation"]), group=int(p["groups"]),
        )  # fmt: skip

    def _op_max_pool2d(self, ins: Apply, out: str) -> None:
        p = ins.params
        ph, pw = p["padding"]
        self.node(
            "MaxPool", [self.name(ins.ins[0])], out, kernel_shape=list(p["kernel_size"]),
            strides=list(p["stride"]), pads=[ph, pw, ph, pw],
        )  # fmt: skip

    def _op_avg_pool2d(self, ins: Apply, out: str) -> None:
        p = ins.params
        ph, pw = p["padding"]
        self.node(
            "AveragePool", [self.name(ins.ins[0])], out, kernel_shape=list(p["kernel_size"]),
            strides=list(p["stride"]), pads=[ph, pw, ph, pw],
            count_include_pad=int(p["mode"] == "average"),
        )  # fmt: skip
