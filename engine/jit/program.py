"""Compiling a Graph into one straight-line Python function over raw arrays.

Replay then costs one call per kernel: no Tensor objects for intermediates, no dtype or
broadcast decisions (they were made while recording), no tape. The backward of a recorded
GradManager becomes the reverse sequence of VJP calls with gradient sums in locals, the
optimizer's update and other effects are called as recorded. `source` keeps the generated
text so a replay can be read (and profiled) line by line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.tape import Node, unbroadcast, unbroadcast_plan
from ..core.tracing import TraceError
from ..ops.elementwise import dot_scale_grad
from ..tensor import Tensor
from .buffers import MIN_BYTES, plan_in_place
from .graph import (
    CONST,
    EXTERNAL,
    Apply,
    Assign,
    Backward,
    Call,
    Graph,
    Guard,
    HostCall,
    Lit,
    ParamVar,
    SetGrad,
    param_vars,
)

_TRACKED = True  # a VJP only asks whether a parent is None


class Program:
    """A graph compiled to Python: `run(input_arrays) -> output arrays`."""

    def __init__(self, graph: Graph, live_outputs: list[int], inference: bool = False) -> None:
        self.graph = graph
        self.ns: dict[str, Any] = {
            "_unbroadcast": unbroadcast,
            "_guard_failed": _guard_failed,
            "_equal": _equal,
            "_wrap": Tensor._wrap,
        }
        self.lines: list[str] = []
        self._loaded: set[int] = set()
        self._owned_grads: list[str] = []  # the last backward's gradients only it holds
        self._read = _read_vars(graph, live_outputs)
        self._in_place = plan_in_place(graph, live_outputs, inference)
        self._emit(graph, live_outputs, inference)
        self.source = "\n".join(self.lines)
        code = compile(self.source, "<engine.jit replay>", "exec")
        exec(code, self.ns)  # noqa: S102 - our own generated text, built from the graph only
        self.run = self.ns["replay"]

    # ---- helpers -----------------------------------------------------------------------
    def _const(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = value
        return name

    def _ref(self, x: Any, body: list[str]) -> str:
        """The expression for an operand, loading externals at their first use."""
        if isinstance(x, Lit):
            v = x.value
            if v is None or isinstance(v, (bool, int, float, str)):
                return (
                    repr(v)
                    if not (isinstance(v, float) and not np.isfinite(v))
                    else (self._const("L", v))
                )
            return self._const("L", v)
        var = self.graph.vars[x]
        if var.kind == EXTERNAL and x not in self._loaded:
            tensor = self._const("T", var.tensor)
            body.append(f"    v{x} = {tensor}._data")
            self._loaded.add(x)
        return f"v{x}"

    def _param(self, value: Any, body: list[str]) -> str:
        """The expression for a param: a constant, or rebuilt around this replay's arrays."""
        if not param_vars(value):
            return self._const("P", value)
        if isinstance(value, ParamVar):
            return self._ref(value.idx, body)
        items = [self._param(v, body) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(items)}]"
        return f"({', '.join(items)},)"

    # ---- code generation ---------------------------------------------------------------
    def _emit(self, graph: Graph, live_outputs: list[int], inference: bool) -> None:
        body: list[str] = []
        for var in graph.vars:
            if var.kind == CONST:
                body.append(f"    v{var.idx} = {self._const('C', var.value)}")
        for k, idx in enumerate(graph.inputs):
            body.append(f"    v{idx} = inputs[{k}]")
        fused = -1  # a clear_grad() already emitted with the step() before it
        for pos, ins in enumerate(graph.instrs):
            if isinstance(ins, Apply):
                self._emit_apply(ins, body, self._in_place.get(pos))
            elif isinstance(ins, HostCall):
                fn = self._const("H", ins.fn)
                args = [self._ref(x, body) for x in ins.ins]
                args += [self._const("O", o) for o in ins.objects]
                args += [f"{k}={self._param(v, body)}" for k, v in ins.params.items()]
                target = f"v{ins.out} = " if ins.out is not None else ""
                body.append(f"    {target}{fn}({', '.join(args)})")
                self._owned_grads = []  # it might keep a gradient: none is scratch now
            elif isinstance(ins, Backward):
                if not inference:
                    self._emit_backward(ins, body)
            elif isinstance(ins, Call):
                if pos == fused or inference:
                    continue
                if _step_then_clear(ins, graph.instrs[pos + 1 :]):
                    # step() then clear_grad(), one call: nobody sees the gradients the
                    # backward just made again, so the update may use them as scratch space
                    fn = self._const("F", ins.obj._step_then_clear)
                    if self._owned_grads:
                        ids = ", ".join(f"id({name})" for name in self._owned_grads)
                        note = "step(), clear_grad(): grads as scratch"
                        body.append(f"    {fn}({{{ids}}})  # {note}")
                    else:
                        body.append(f"    {fn}(())  # step(), clear_grad()")
                    fused = pos + 1
                    self._owned_grads = []
                    continue
                body.append(f"    {self._const('F', ins.fn)}({self._const('O', ins.obj)})")
                self._owned_grads = []
            elif isinstance(ins, Assign):
                if not inference:
                    ref = self._ref(ins.var, body)
                    body.append(f"    {self._const('T', ins.tensor)}._data = {ref}")
            elif isinstance(ins, SetGrad):
                if not inference:
                    self._emit_set_grad(ins, body)
            elif isinstance(ins, Guard):
                value = self._const("G", ins.value)
                ref = self._ref(ins.var, body)
                body.append(f"    if not _equal({ref}, {value}):")
                body.append(f"        _guard_failed({graph.vars[ins.var].name!r}, {value}, {ref})")
        outs = [self._ref(i, body) for i in live_outputs]
        body.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        self.lines = ["def replay(inputs):", *body]

    def _emit_set_grad(self, ins: SetGrad, body: list[str]) -> None:
        """The gradient as Python left it: into the grad tensor's data, as clip_grad_* does."""
        tn = self._const("T", ins.tensor)
        if ins.var is None:
            body.append(f"    {tn}.grad = None")
            return
        ref = self._ref(ins.var, body)
        body.append(f"    if {tn}.grad is None:")
        body.append(f"        {tn}.grad = _wrap({ref}, {self._const('DEV', ins.tensor._device)})")
        body.append("    else:")
        body.append(f"        {tn}.grad._data = {ref}")

    def _emit_apply(self, ins: Apply, body: list[str], reuse: int | None = None) -> None:
        if reuse is not None:  # the operand dies here: write the result into its buffer
            in_place = ins.prim.in_place
            args = [self._ref(x, body) for x in ins.ins] + [repr(c) for c in in_place.constants]
            args.insert(0, args.pop(reuse))  # commutative ops put the reused buffer first
            ufunc = f"{self._const('xp', ins.device.xp)}.{in_place.ufunc}"
            body.append(f"    v{ins.out} = {ufunc}({', '.join(args)}, out={args[0]})")
            return
        inline = INLINE_FORWARDS.get(ins.prim.name)
        if inline is not None and not ins.params:  # the kernel's one operator, written out
            body.append(f"    v{ins.out} = {inline.format(*(self._ref(x, body) for x in ins.ins))}")
            return
        fn = self._const("f", ins.prim.forward)
        xp = self._const("xp", ins.device.xp)
        args = [xp] + [self._ref(x, body) for x in ins.ins]
        args += [f"{k}={self._param(v, body)}" for k, v in ins.params.items()]
        target = f"v{ins.out}"
        if ins.prim.residual:
            res = f"v{ins.res}" if isinstance(ins.res, int) else "_"
            target = f"{target}, {res}"
        body.append(f"    {target} = {fn}({', '.join(args)})")

    def _emit_backward(self, ins: Backward, body: list[str]) -> None:
        self._owned_grads = []
        if ins.probed:
            self._emit_static_backward(ins, body)
        else:
            self._emit_generic_backward(ins, body)
        self._emit_grad_reads(ins, body)

    def _emit_static_backward(self, ins: Backward, body: list[str]) -> None:
        """The backward as straight-line code: which gradients exist, their shapes, sums
        and dtype casts were all seen once while recording, so no check is left to run."""
        tag = id(ins) % 99991
        g = [f"g{tag}_{k}" for k in range(len(ins.steps))]
        leaf = [f"l{tag}_{j}" for j in range(len(ins.leaves))]
        dtypes: dict[str, list] = {}  # gradient name -> dtypes of what was summed into it
        owned: set[str] = set()  # gradient names holding an array nothing else holds

        def accumulate(dest: str, expr: str, dtype: Any, shape: tuple, fresh: bool) -> None:
            if dest in dtypes:
                body.append(f"    {dest} = {dest} + {expr}")
                dtypes[dest].append(dtype)
                fresh = True  # a sum is a new array
            else:
                body.append(f"    {dest} = {expr}")
                dtypes[dest] = [dtype]
            if fresh and shape:  # 0-d sums may be NumPy scalars
                owned.add(dest)
            else:
                owned.discard(dest)

        for k, y, dy in ins.roots:
            if k is None:
                continue  # y does not depend on an attached tensor
            var = self.graph.vars[y]
            if dy is None:  # the seed of a loss: ones, made once
                seed = var.device.xp.ones(var.shape, dtype=var.dtype)
                if isinstance(seed, np.ndarray):  # CuPy arrays have no read-only flag
                    seed.flags.writeable = False  # shared by every replay: nobody may change it
                if not var.shape:
                    seed = seed[()]  # a scalar loss: NumPy's scalar arithmetic is far cheaper
                expr = self._const("S", seed)
            else:
                xp = self._const("xp", var.device.xp)
                d, yv = self._ref(dy, body), self._ref(y, body)
                expr = f"{xp}.broadcast_to({xp}.asarray({d}, dtype={yv}.dtype), {yv}.shape)"
            accumulate(g[k], expr, var.dtype, var.shape, False)
        for k in reversed(range(len(ins.steps))):
            step = ins.steps[k]
            if step.results is None or g[k] not in dtypes:
                continue  # the recorded backward never reached this step: no gradient flows
            apply = self.graph.instrs[step.apply_idx]
            inline = INLINE_VJPS.get(apply.prim.name)
            nn = None
            if inline is None:
                nn, call = self._vjp_call(apply, step, g[k], body, "    ")
                body.append(f"    _gs = {call}")
            else:  # operands as the inlined expressions see them
                site = VjpSite(
                    refs=[self._ref(x, body) for x in apply.ins],
                    shapes=[
                        None if isinstance(x, Lit) else step.shapes[j]
                        for j, x in enumerate(apply.ins)
                    ],
                    g=g[k],
                    g_shape=self.graph.vars[apply.out].shape,
                    xp=self._const("xp", apply.device.xp),
                    out=f"v{apply.out}",
                    g_owned=g[k] in owned
                    and _nbytes(self.graph.vars[apply.out].shape, dtypes[g[k]]) >= MIN_BYTES,
                )
            for i, target in enumerate(step.targets):
                result = step.results[i]
                if target is None or result is None:
                    continue
                dest = g[target[1]] if target[0] == "node" else leaf[target[1]]
                if inline is None:
                    expr, fresh = f"_gs[{i}]", result[2]
                else:
                    expr, fresh = inline(i, site)
                expr, summed = _reduced(expr, result[0], step.shapes[i], apply.prim.name)
                accumulate(dest, expr, result[1], step.shapes[i], fresh or summed)
            if nn is not None:
                body.append(f"    {nn}.inputs = {nn}.out = {nn}.res = None")
            body.append(f"    {g[k]} = None")
        stores = []
        for j, t in enumerate(ins.leaves):
            if leaf[j] in dtypes:
                cast = np.result_type(*dtypes[leaf[j]]) != t.dtype
                stores.append((t, leaf[j], cast, f"{leaf[j]}.astype({self._const('D', t.dtype)})"))
                if cast and t.shape:
                    owned.add(leaf[j])  # astype makes a new array
        self._emit_stores(ins, stores, body, checked=False)
        read = {id(t) for t, idx in ins.grads if idx in self._read}
        # small gradients come from NumPy's cache: cheaper than parsing an `out=` argument
        self._owned_grads = [
            leaf[j]
            for j, t in enumerate(ins.leaves)
            if leaf[j] in owned
            and id(t) not in read
            and t._data.nbytes >= MIN_BYTES
            and not self._callbacks(ins)
        ]

    def _vjp_call(
        self, apply: Apply, step: Any, g: str, body: list[str], indent: str
    ) -> tuple[str, str]:
        """Fill a reusable node with this replay's arrays; (node name, the VJP call)."""
        parents = tuple(None if t is None else _TRACKED for t in step.targets)
        node = Node(apply.prim, parents, None, None, None, apply.params, 0, None, apply.device.xp)
        nn = self._const("N", node)
        if param_vars(apply.params):  # an index this replay computed: the VJP needs it too
            items = ", ".join(f"{k!r}: {self._param(v, body)}" for k, v in apply.params.items())
            body.append(f"{indent}{nn}.params = {{{items}}}")
        reads = apply.prim.vjp_reads if step.results is not None else {"inputs", "out", "res"}
        refs = [self._ref(x, body) for x in apply.ins]
        if "inputs" in reads:  # a VJP sees only what it declared it reads (buffers reused)
            tup = f"({', '.join(refs)}{',' if len(refs) == 1 else ''})"
        else:
            tup = f"({', '.join('None' for _ in refs)}{',' if len(refs) == 1 else ''})"
        body.append(f"{indent}{nn}.inputs = {tup}")
        if "out" in reads:
            body.append(f"{indent}{nn}.out = v{apply.out}")
        if apply.prim.residual and "res" in reads:
            res = f"v{apply.res}" if isinstance(apply.res, int) else self._ref(apply.res, body)
            body.append(f"{indent}{nn}.res = {res}")
        return nn, f"{self._const('V', apply.prim.vjp)}({nn}, {g})"

    def _emit_generic_backward(self, ins: Backward, body: list[str]) -> None:
        """The backward with its checks kept: which gradients exist is decided per replay."""
        tag = id(ins) % 99991
        g = [f"g{tag}_{k}" for k in range(len(ins.steps))]
        leaf = [f"l{tag}_{j}" for j in range(len(ins.leaves))]
        for name in g + leaf:
            body.append(f"    {name} = None")
        for k, y, dy in ins.roots:
            if k is None:
                continue  # y does not depend on an attached tensor
            yv = self._ref(y, body)
            xp = self._const("xp", self.graph.vars[y].device.xp)
            if dy is None:
                seed = f"{xp}.ones({yv}.shape, dtype={yv}.dtype)"
            else:
                d = self._ref(dy, body)
                seed = f"{xp}.broadcast_to({xp}.asarray({d}, dtype={yv}.dtype), {yv}.shape)"
            body.append(f"    {g[k]} = {seed} if {g[k]} is None else {g[k]} + {seed}")
        for k in reversed(range(len(ins.steps))):
            step = ins.steps[k]
            apply = self.graph.instrs[step.apply_idx]
            body.append(f"    if {g[k]} is not None:")
            nn, call = self._vjp_call(apply, step, g[k], body, "        ")
            body.append(f"        _gs = {call}")
            for i, target in enumerate(step.targets):
                if target is None:
                    continue
                dest = g[target[1]] if target[0] == "node" else leaf[target[1]]
                shape = step.shapes[i]
                body.append(f"        _gx = _gs[{i}]")
                body.append("        if _gx is not None:")
                body.append(f"            if _gx.shape != {shape!r}:")
                body.append(
                    f"                _gx = _unbroadcast(_gx, {shape!r}, {apply.prim.name!r})"
                )
                body.append(f"            {dest} = _gx if {dest} is None else {dest} + _gx")
            body.append(f"        {nn}.inputs = {nn}.out = {nn}.res = None")
            body.append(f"        {g[k]} = None")
        stores = []
        for j, t in enumerate(ins.leaves):
            cast = f"{leaf[j]}.astype({self._const('D', t.dtype)})"
            stores.append((t, leaf[j], f"{leaf[j]}.dtype != {self._const('D', t.dtype)}", cast))
        self._emit_stores(ins, stores, body, checked=True)

    def _emit_stores(self, ins: Backward, stores: list, body: list[str], checked: bool) -> None:
        """Each leaf's gradient into its `.grad`: GradManager._store, inlined unless attach
        callbacks (a distributed all-reduce) must see it, as they do eagerly."""
        gm = self._const("GM", ins.manager)
        callbacks = self._callbacks(ins)
        if callbacks:
            body.append(f"    {gm}.record()")  # callbacks look at the recording state
        for t, grad, needs_cast, cast in stores:
            tn = self._const("T", t)
            ind = "    "
            if checked:
                body.append(f"    if {grad} is not None:")
                ind = "        "
            if callbacks:
                body.append(f"{ind}{gm}._store({tn}, {grad})")
                continue
            if needs_cast is True:
                body.append(f"{ind}{grad} = {cast}")
            elif needs_cast:
                body.append(f"{ind}if {needs_cast}:")
                body.append(f"{ind}    {grad} = {cast}")
            body.append(f"{ind}if {tn}.grad is None:")
            body.append(f"{ind}    {tn}.grad = _wrap({grad}, {self._const('DEV', t._device)})")
            body.append(f"{ind}else:")
            body.append(f"{ind}    {tn}.grad._data = {tn}.grad._data + {grad}")
        if callbacks:
            body.append(f"    {gm}.release()")

    @staticmethod
    def _callbacks(ins: Backward) -> bool:
        """Whether attach callbacks (a distributed all-reduce) see this backward's gradients."""
        return any(cbs for _, cbs in ins.manager._attached.values())

    def _emit_grad_reads(self, ins: Backward, body: list[str]) -> None:
        """Gradients the function reads after its backward, as vars."""
        for t, idx in ins.grads:
            if idx not in self._read:
                continue  # nothing after the backward reads this gradient
            tn = self._const("T", t)
            body.append(f"    v{idx} = None if {tn}.grad is None else {tn}.grad._data")


# Forward kernels that are one Python operator (engine/ops/elementwise.py), inlined
INLINE_FORWARDS = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}"}


@dataclass
class VjpSite:
    """What an inlined VJP sees: operand expressions and shapes (None: a number), the
    gradient's name and shape, the namespace's name, the output's name, and whether the
    gradient is an array only this backward holds (so it may be overwritten)."""

    refs: list
    shapes: list
    g: str
    g_shape: tuple
    xp: str
    out: str
    g_owned: bool = False


def _add_vjp(i: int, site: VjpSite) -> tuple[str, bool]:
    return site.g, False


def _sub_vjp(i: int, site: VjpSite) -> tuple[str, bool]:
    return (site.g, False) if i == 0 else (f"(-{site.g})", True)


def _mul_vjp(i: int, site: VjpSite) -> tuple[str, bool]:
    g, other = site.g, site.refs[1 - i]
    if dot_scale_grad(site.shapes[i], site.shapes[1 - i], site.g_shape):  # the rule's choice
        flat = g if len(site.g_shape) == 1 else f"{g}.reshape(-1)"
        dot = f"{site.xp}.dot({other}.reshape(1, -1), {flat})"
        return (dot if site.shapes[i] == (1,) else f"{dot}.reshape({site.shapes[i]!r})"), True
    return f"({g} * {other})", True


def _relu_vjp(i: int, site: VjpSite) -> tuple[str, bool]:
    if site.g_owned:  # the gradient dies here: mask it where it is
        return f"{site.xp}.multiply({site.g}, {site.out} > 0, out={site.g})", True
    return f"({site.g} * ({site.out} > 0))", True


# The VJPs of the commonest elementwise primitives, written straight into the replay as
# expressions over its arrays: (input index, site) -> (an expression giving exactly what
# the primitive's own VJP returns (tests compare them), whether its value is a new array
# nothing else holds). Every other primitive's VJP is called as it is.
INLINE_VJPS = {"add": _add_vjp, "sub": _sub_vjp, "mul": _mul_vjp, "relu": _relu_vjp}


def _reduced(expr: str, got: tuple, shape: tuple, name: str) -> tuple[str, bool]:
    """`expr` (a gradient of shape `got`) summed to an input's `shape`, as unbroadcast
    would; and whether that sum made a new array."""
    if got == shape:
        return expr, False
    axes, reshape = unbroadcast_plan(got, shape, name)
    summed = axes is None or bool(axes)
    if axes is None:
        expr = f"{expr}.sum(keepdims=True)"
    elif axes:
        expr = f"{expr}.sum(axis={axes!r}, keepdims=True)"
    return (f"{expr}.reshape({shape!r})" if reshape else expr), summed


def _nbytes(shape: tuple, dtypes: list) -> int:
    """Size of a gradient of `shape` summed from arrays of `dtypes`."""
    return math.prod(shape) * np.result_type(*dtypes).itemsize


def _step_then_clear(step: Call, after: list) -> bool:
    """Whether `step` is optimizer.step() directly followed by the same optimizer's
    clear_grad(), and the optimizer can run both as one call."""
    if not after or not isinstance(after[0], Call) or after[0].obj is not step.obj:
        return False
    names = (getattr(step.fn, "__name__", ""), getattr(after[0].fn, "__name__", ""))
    return names == ("step", "clear_grad") and hasattr(step.obj, "_step_then_clear")


def _read_vars(graph: Graph, outputs: list[int]) -> set[int]:
    """Every var some instruction or output reads."""
    read = {i for i in outputs if isinstance(i, int)}
    for ins in graph.instrs:
        if isinstance(ins, (Apply, HostCall)):
            read.update(x for x in ins.ins if isinstance(x, int))
            read.update(param_vars(ins.params))
        elif isinstance(ins, (Assign, Guard)) or (isinstance(ins, SetGrad) and ins.var is not None):
            read.add(ins.var)
        elif isinstance(ins, Backward):
            read.update(y for _, y, _ in ins.roots)
            read.update(d for _, _, d in ins.roots if isinstance(d, int))
    return read


def _equal(a: Any, b: Any) -> bool:
    try:
        host = a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a
        return bool(np.array_equal(np.asarray(host), b))
    except (TypeError, ValueError):
        return False


def _guard_failed(name: str, expected: Any, got: Any) -> None:
    raise TraceError(
        f"trace error because tensors not equals: the traced function read {name} on the "
        f"host (item/numpy/bool) when recorded ({expected!r}) and it is now {got!r}; Python "
        "may take another path, so the recorded graph would be stale. Return the tensor and "
        "read it outside the traced function"
    )
