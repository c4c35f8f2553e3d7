"""The computing graph a trace records: data nodes (Var), operator nodes (instructions).

A Graph is plain data: the function's inputs, the tensors it read from outside (parameters,
buffers, constants), one instruction per primitive application or side effect, and the
outputs. `str(graph)` prints it like `jax.make_jaxpr`; `to_dot()` draws it for Graphviz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Var kinds: where a data node's value comes from on each replay
INPUT = "input"  # an argument of the traced function
EXTERNAL = "external"  # a tensor that existed before the call (a parameter, a buffer)
CONST = "const"  # a value fixed at trace time (capture_as_const, or an array literal)
OP = "op"  # the output of a primitive
HOST = "host"  # the result of a host_call (a dropout mask, say)
GRAD = "grad"  # a gradient stored by GradManager.backward


@dataclass(eq=False)
class Var:
    """A data node: one array-valued value of the graph, with its shape and dtype."""

    idx: int
    kind: str
    shape: tuple
    dtype: Any
    name: str = ""
    device: Any = None
    tensor: Any = None  # EXTERNAL: the Tensor read on every replay
    value: Any = None  # CONST: the array
    is_param: bool = False

    @property
    def type_str(self) -> str:
        """'f32[100,1]' style: dtype and shape, as jaxprs write them."""
        kind = {"f": "f", "i": "i", "u": "u", "b": "bool"}.get(self.dtype.kind, self.dtype.kind)
        bits = "" if kind == "bool" else str(self.dtype.itemsize * 8)
        return f"{kind}{bits}[{','.join(str(n) for n in self.shape)}]"


@dataclass(eq=False)
class Lit:
    """An operand that is not an array: a Python number, a NumPy scalar, None."""

    value: Any

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class ParamVar:
    """An array inside an instruction's params (a tensor used as an index) that each replay
    takes from var `idx`, not the array of the recording call."""

    idx: int


def param_vars(value: Any) -> list[int]:
    """The vars that params (or one param value) take arrays from, in order."""
    if isinstance(value, ParamVar):
        return [value.idx]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [i for v in value for i in param_vars(v)]
    return []


@dataclass(eq=False)
class Apply:
    """One primitive application: out (and residual) = prim(ins, **params)."""

    prim: Any
    params: dict
    ins: list  # Var indices or Lit
    out: int
    res: int | None = None
    device: Any = None
    scope: str | None = None


@dataclass(eq=False)
class HostCall:
    """A host_call: out = fn(*arrays, *objects, **params) (out may be None)."""

    fn: Any
    ins: list
    objects: tuple
    params: dict
    out: int | None
    device: Any = None


@dataclass(eq=False)
class BackwardStep:
    """One tape node of a recorded backward: which Apply it differentiates, and where to."""

    apply_idx: int  # index into Graph.instrs
    targets: list  # per input: ("node", k) | ("leaf", j) | None
    shapes: list  # per input: the input's shape (gradients are unbroadcast to it)
    # per input: (shape, dtype, owned) of what the VJP returned when recorded (owned: an
    # array of its own that nothing else holds), or None for no gradient; the whole list
    # is None when the recorded backward never reached this step
    results: list | None = None


@dataclass(eq=False)
class Backward:
    """GradManager.backward(ys, dys): reverse walk of its steps, gradients into `.grad`."""

    manager: Any
    roots: list  # (step position, y var, dy var | Lit | None)
    steps: list  # BackwardStep, in tape (execution) order
    leaves: list  # tensors receiving gradients, in attach order
    grads: list  # (tensor, GRAD var index) for gradients read later in the function
    probed: bool = False  # steps' `results` were seen in the eager backward: replay is static


@dataclass(eq=False)
class Call:
    """A method call replayed as it is (optimizer.step(), optimizer.clear_grad())."""

    fn: Any
    obj: Any
    label: str


@dataclass(eq=False)
class Assign:
    """A tensor that existed before the call now holds var `var` (x += 1 on a buffer)."""

    tensor: Any
    var: int
    name: str


@dataclass(eq=False)
class SetGrad:
    """A gradient the backward wrote was changed (clipped, scaled, replaced or set to None):
    from here on `tensor.grad` holds var `var` (None: no gradient)."""

    tensor: Any
    var: int | None
    name: str


@dataclass(eq=False)
class Guard:
    """Python read this value on the host; a replay that computes another one is an error."""

    var: int
    value: Any


@dataclass(eq=False)
class Graph:
    """A recorded computation: vars, instructions in execution order, inputs and outputs."""

    vars: list = field(default_factory=list)
    instrs: list = field(default_factory=list)
    inputs: list = field(default_factory=list)  # Var indices, in argument order
    outputs: list = field(default_factory=list)  # Var indices of the tensors returned

    # ---- text --------------------------------------------------------------------------
    def __str__(self) -> str:
        vs = self.vars
        consts = [v for v in vs if v.kind in (EXTERNAL, CONST)]
        head = " ".join(f"{v.name}:{v.type_str}" for v in consts)
        args = " ".join(f"{vs[i].name}:{vs[i].type_str}" for i in self.inputs)
        lines = [f"{{ lambda {head} ; {args}. let"]
        for ins in self.instrs:
            lines.append("    " + self._instr_text(ins))
        outs = ", ".join(vs[i].name for i in self.outputs)
        lines.append(f"  in ({outs}) }}")
        return "\n".join(lines)

    __repr__ = __str__

    def _operand(self, x: Any) -> str:
        return self.vars[x].name if isinstance(x, int) else str(x)

    def _param_text(self, value: Any) -> str:
        if isinstance(value, ParamVar):
            return self.vars[value.idx].name
        if isinstance(value, tuple):
            return "(" + ", ".join(self._param_text(v) for v in value) + ")"
        return repr(value)

    def _instr_text(self, ins: Any) -> str:
        vs = self.vars
        if isinstance(ins, Apply):
            outs = f"{vs[ins.out].name}:{vs[ins.out].type_str}"
            params = ""
            if ins.params:
                shown = " ".join(f"{k}={self._param_text(v)}" for k, v in ins.params.items())
                params = f"[{shown}]"
            args = " ".join(self._operand(x) for x in ins.ins)
            return f"{outs} = {ins.prim.name}{params} {args}"
        if isinstance(ins, HostCall):
            args = " ".join(self._operand(x) for x in ins.ins)
            target = f"{vs[ins.out].name}:{vs[ins.out].type_str} = " if ins.out is not None else ""
            return f"{target}host[{getattr(ins.fn, '__name__', 'fn')}] {args}"
        if isinstance(ins, Backward):
            ys = " ".join(vs[y].name for _, y, _ in ins.roots)
            names = " ".join(_tensor_name(self, t) for t in ins.leaves)
            return f"backward {ys} -> grad({names})"
        if isinstance(ins, Call):
            return ins.label
        if isinstance(ins, Assign):
            return f"{ins.name} := {vs[ins.var].name}"
        if isinstance(ins, SetGrad):
            value = "None" if ins.var is None else vs[ins.var].name
            return f"{ins.name}.grad := {value}"
        if isinstance(ins, Guard):
            return f"guard {vs[ins.var].name} == {ins.value!r}"
        return repr(ins)

    # ---- structure ---------------------------------------------------------------------
    def rename_tensors(self, named: Any) -> Graph:
        """Name the data nodes of outside tensors, e.g. from `model.named_parameters()`."""
        names = {id(t): name for name, t in named}
        for var in self.vars:
            if var.tensor is not None and id(var.tensor) in names:
                var.name = names[id(var.tensor)]
        return self

    def applies(self) -> list[Apply]:
        """The primitive applications, in order."""
        return [i for i in self.instrs if isinstance(i, Apply)]

    def to_dot(self, backward: bool = False) -> str:
        """Graphviz DOT text: data nodes as ellipses, operators as boxes, parameters bold."""
        from .drawing import graph_to_dot

        return graph_to_dot(self, backward=backward)


def _tensor_name(graph: Graph, tensor: Any) -> str:
    for v in graph.vars:
        if v.tensor is tensor:
            return v.name
    return "?"
