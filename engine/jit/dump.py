"""trace.dump / jit.load: an inference graph and its weights in the engine's own safe format.

The file is an `engine.save` checkpoint (a zip of .npy arrays and a JSON manifest, never
pickle) holding the forward instructions needed for the outputs: primitive names from the
registry, their parameters, constants (the captured weights), inputs and outputs. Loading
rebuilds the Graph and compiles it; the Python function that was traced is not needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.device import as_device
from ..core.op import REGISTRY
from ..tensor import Tensor
from .graph import CONST, EXTERNAL, INPUT, OP, Apply, Graph, HostCall, Lit, ParamVar, Var
from .program import Program

FORMAT = "engine-graph"
VERSION = 1


def needed_applies(graph: Graph) -> list[Apply]:
    """The Apply instructions the outputs depend on, in execution order."""
    producer = {}
    for ins in graph.instrs:
        if isinstance(ins, HostCall):
            name = getattr(ins.fn, "__name__", "a host step")
            raise ValueError(
                f"dump: the graph calls {name} on the host (dropout or batch-norm statistics "
                "in training mode); call model.eval() before tracing it for dump"
            )
        if isinstance(ins, (Apply, HostCall)) and ins.out is not None:
            producer[ins.out] = ins
            if isinstance(ins, Apply) and isinstance(ins.res, int):
                producer[ins.res] = ins
    needed: set[int] = set()
    stack = [i for i in graph.outputs if isinstance(i, int)]
    while stack:
        ins = producer.get(stack.pop())
        if ins is None or id(ins) in needed:
            continue
        needed.add(id(ins))
        stack += [x for x in ins.ins if isinstance(x, int)]
    return [i for i in graph.instrs if id(i) in needed]


def dump_graph(graph: Graph, path: Any) -> None:
    """Write the inference part of `graph` to `path` (weights must be captured constants)."""
    from ..serialization import save

    applies = needed_applies(graph)
    used = set(graph.inputs) | {i for i in graph.outputs if isinstance(i, int)}
    for ins in applies:
        used.update(x for x in ins.ins if isinstance(x, int))
        used.add(ins.out)
        if isinstance(ins.res, int):
            used.add(ins.res)
    order = sorted(used)
    renum = {old: new for new, old in enumerate(order)}
    vars_, consts = [], {}
    for old in order:
        var = graph.vars[old]
        if var.kind == EXTERNAL:
            raise ValueError("you must specify capture_as_const=True at __init__ to use dump")
        vars_.append(
            {
                "name": var.name,
                "kind": var.kind,
                "shape": list(var.shape),
                "dtype": var.dtype.str,
                "param": var.is_param,
            }
        )
        if var.kind == CONST:
            consts[str(renum[old])] = np.asarray(var.device.backend.to_host(var.value))
    ops = []
    for ins in applies:
        where = f"operator {ins.prim.name}"
        ops.append(
            {
                "prim": ins.prim.name,
                "params": {k: _encode(v, where) for k, v in ins.params.items()},
                "ins": [
                    renum[x] if isinstance(x, int) else {"lit": _encode(x.value, where)}
                    for x in ins.ins
                ],
                "out": renum[ins.out],
                "res": renum[ins.res] if isinstance(ins.res, int) else None,
            }
        )
    save(
        {
            "format": FORMAT,
            "version": VERSION,
            "vars": vars_,
            "consts": consts,
            "ops": ops,
            "inputs": [renum[i] for i in graph.inputs],
            "outputs": [renum[i] for i in graph.outputs if isinstance(i, int)],
        },
        path,
    )


class GraphFunction:
    """A loaded graph: call it with input tensors (or arrays) to run the inference graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._program = Program(graph, graph.outputs, inference=True)

    def __call__(self, *inputs: Any) -> Any:
        """Run the graph; one output comes back as a Tensor, several as a tuple."""
        if len(inputs) != len(self.graph.inputs):
            raise TypeError(f"the graph takes {len(self.graph.inputs)} inputs, got {len(inputs)}")
        arrays = []
        for x, idx in zip(inputs, self.graph.inputs, strict=True):
            var = self.graph.vars[idx]
            t = x if isinstance(x, Tensor) else Tensor(x, dtype=var.dtype, device=var.device)
            if tuple(t.shape) != var.shape:
                raise ValueError(f"input {var.name}: expected shape {var.shape}, got {t.shape}")
            arrays.append(t._data)
        outs = self._program.run(arrays)
        tensors = tuple(
            Tensor._wrap(a, self.graph.vars[i].device)
            for a, i in zip(outs, self.graph.outputs, strict=True)
        )
        return tensors[0] if len(tensors) == 1 else tensors


def load_graph(path: Any, device: Any = None) -> GraphFunction:
    """Read a file written by trace.dump and compile it for `device` (default: the default)."""
    from ..serialization import load

    data = load(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a graph written by trace.dump")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: graph format version {data.get('version')} is not {VERSION}")
    dev = as_device(device)
    graph = Graph()
    for i, v in enumerate(data["vars"]):
        value = None
        if v["kind"] == CONST:
            value = dev.backend.from_host(np.asarray(data["consts"][str(i)], dtype=v["dtype"]))
        kind = v["kind"] if v["kind"] in (INPUT, CONST) else OP
        graph.vars.append(
            Var(
                i,
                kind,
                tuple(v["shape"]),
                np.dtype(v["dtype"]),
                v["name"],
                dev,
                value=value,
                is_param=bool(v["param"]),
            )
        )
    for op in data["ops"]:
        prim = REGISTRY.get(op["prim"])
        if prim is None:
            raise ValueError(f"{path}: operator {op['prim']!r} is not a primitive of this engine")
        ins = [x if isinstance(x, int) else Lit(_decode(x["lit"])) for x in op["ins"]]
        params = {k: _decode(v) for k, v in op["params"].items()}
        graph.instrs.append(Apply(prim, params, ins, op["out"], op["res"], dev))
    graph.inputs = list(data["inputs"])
    graph.outputs = list(data["outputs"])
    return GraphFunction(graph)


def _encode(value: Any, where: str) -> Any:
    """A parameter value as something engine.save stores (tuples, numbers, arrays, ...)."""
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return value
    if isinstance(value, ParamVar):
        raise ValueError(
            f"dump: {where} is indexed with a tensor the graph computes or takes as input; "
            "the graph format stores constant indices only"
        )
    if isinstance(value, np.dtype):
        return {"dtype": value.str}
    if isinstance(value, slice):
        return {"slice": [value.start, value.stop, value.step]}
    if isinstance(value, (tuple, list)):
        items = [_encode(v, where) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if hasattr(value, "__cuda_array_interface__"):
        return value.get()
    raise ValueError(
        f"dump: {where} has a parameter of type {type(value).__name__} "
        "that the graph format cannot store"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dtype"}:
        return np.dtype(value["dtype"])
    if isinstance(value, dict) and set(value) == {"slice"}:
        return slice(*value["slice"])
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
