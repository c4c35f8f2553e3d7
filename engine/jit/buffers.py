"""Buffer planning for a compiled replay: which operations may overwrite an operand.

Eagerly every primitive allocates its result. In a recorded graph all uses of every value
are known, so an elementwise operation whose operand is read by nobody else afterwards (not
a later operation, not a VJP, not an output) can write its result into that operand's
buffer: `relu(linear(x))` keeps one activation buffer instead of two, and a chain such as
`(a + b) * c - d` runs in one buffer, the fusion NumPy allows. Only buffers a primitive
allocated itself qualify (`Primitive.fresh`), never inputs, parameters, constants or
views; the primitives that are one ufunc say so (`Primitive.in_place`).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from .graph import OP, Apply, Assign, Backward, Graph, Guard, HostCall, SetGrad, param_vars

MIN_BYTES = 16384  # smaller results are allocated as they are eagerly


def use_counts(graph: Graph, outputs: list[int], inference: bool) -> Counter:
    """How many times each var is read by the replay (instructions, VJPs, outputs)."""
    uses: Counter = Counter(i for i in outputs if isinstance(i, int))
    for ins in graph.instrs:
        if isinstance(ins, (Apply, HostCall)):
            uses.update(x for x in ins.ins if isinstance(x, int))
            uses.update(param_vars(ins.params))
        elif isinstance(ins, (Assign, Guard)) or (isinstance(ins, SetGrad) and ins.var is not None):
            uses[ins.var] += 1
        elif isinstance(ins, Backward) and not inference:
            uses.update(y for _, y, _ in ins.roots)
            uses.update(d for _, _, d in ins.roots if isinstance(d, int))
            for step in ins.steps:
                if ins.probed and step.results is None:
                    continue  # a step the planned backward never runs
                apply = graph.instrs[step.apply_idx]
                reads = apply.prim.vjp_reads if ins.probed else {"inputs", "out", "res"}
                if "inputs" in reads:
                    uses.update(x for x in apply.ins if isinstance(x, int))
                if "out" in reads:
                    uses[apply.out] += 1
                if "res" in reads and isinstance(apply.res, int):
                    uses[apply.res] += 1
    return uses


def plan_in_place(graph: Graph, outputs: list[int], inference: bool) -> dict[int, int]:
    """{instruction position: operand index} for every Apply that may overwrite an operand."""
    uses = use_counts(graph, outputs, inference)
    fresh = {ins.out for ins in graph.instrs if isinstance(ins, Apply) and ins.prim.fresh}
    plan: dict[int, int] = {}
    for pos, ins in enumerate(graph.instrs):
        if not isinstance(ins, Apply) or ins.prim.in_place is None or ins.params:
            continue
        out = graph.vars[ins.out]
        for k in ins.prim.in_place.operands:
            if k < len(ins.ins) and _reusable(graph, ins.ins, k, out, fresh, uses):
                plan[pos] = k
                break
    return plan


def _reusable(graph: Graph, ins: list, k: int, out: Any, fresh: set, uses: Counter) -> bool:
    x = ins[k]
    if not isinstance(x, int) or x not in fresh or uses[x] != 1:
        return False  # not a buffer of this replay's own, or somebody reads it later
    var = graph.vars[x]
    if var.kind != OP or var.shape != out.shape or var.dtype != out.dtype:
        return False  # the result would not fit the buffer
    # small buffers come from NumPy's own cache, cheaper than parsing an `out=` argument;
    # 0-d results are never reused (NumPy may hand back a scalar there)
    return bool(var.shape) and math.prod(var.shape) * var.dtype.itemsize >= MIN_BYTES
