"""A Graph as Graphviz DOT text: tensors as ellipses, operators as boxes, gradients dashed.

Data nodes show name, shape and dtype; parameters are bold and filled; with backward=True
each recorded backward adds one VJP node per differentiated operator and the gradient data
nodes it produces, joined by dashed red edges (the tutorial's backward pass over the graph).
"""

from __future__ import annotations

from typing import Any

from .graph import CONST, EXTERNAL, GRAD, INPUT, Apply, Backward, Graph, HostCall, Lit, Var


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def data_label(var: Var) -> str:
    """'w\\n(1,) float32' plus a 'parameter' mark: the text of a data node."""
    shape = "(" + ",".join(str(n) for n in var.shape) + ("," if len(var.shape) == 1 else "") + ")"
    mark = "\nparameter" if var.is_param else ""
    return f"{var.name}\n{shape} {var.dtype.name}{mark}"


def graph_to_dot(graph: Graph, backward: bool = False) -> str:
    """DOT text for `graph`; `backward` adds the gradient flow of recorded backwards."""
    used = _used_vars(graph, backward)
    lines = [
        "digraph computing_graph {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#444444"];',
    ]
    for var in graph.vars:
        if var.idx not in used:
            continue
        style = _data_style(var)
        lines.append(f"  v{var.idx} [label={_quote(data_label(var))}, {style}];")
    for k, ins in enumerate(graph.instrs):
        if isinstance(ins, (Apply, HostCall)):
            name = ins.prim.name if isinstance(ins, Apply) else getattr(ins.fn, "__name__", "host")
            lines.append(
                f'  op{k} [label={_quote(name)}, shape=box, style="rounded,filled", '
                'fillcolor="#dbe9f6"];'
            )
            for x in ins.ins:
                if not isinstance(x, Lit):
                    lines.append(f"  v{x} -> op{k};")
            if ins.out is not None:
                lines.append(f"  op{k} -> v{ins.out};")
        elif isinstance(ins, Backward) and backward:
            lines += _backward_lines(graph, k, ins)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _data_style(var: Var) -> str:
    if var.is_param:
        return 'shape=ellipse, style="filled,bold", fillcolor="#fde9b8", penwidth=2'
    if var.kind == INPUT:
        return 'shape=ellipse, style=filled, fillcolor="#e3f4e1"'
    if var.kind in (EXTERNAL, CONST):
        return 'shape=ellipse, style=filled, fillcolor="#eeeeee"'
    if var.kind == GRAD:
        return 'shape=ellipse, style="filled,dashed", fillcolor="#fbe3e3", color="#c0392b"'
    return "shape=ellipse"


def _used_vars(graph: Graph, backward: bool) -> set[int]:
    used: set[int] = set(graph.inputs) | {i for i in graph.outputs if isinstance(i, int)}
    for ins in graph.instrs:
        if isinstance(ins, (Apply, HostCall)):
            used.update(x for x in ins.ins if not isinstance(x, Lit))
            if ins.out is not None:
                used.add(ins.out)
    if not backward:
        used = {i for i in used if graph.vars[i].kind != GRAD}
    return used


def _backward_lines(graph: Graph, k: int, ins: Backward) -> list[str]:
    """VJP nodes and gradient nodes of one backward, with dashed red edges."""
    red = 'color="#c0392b", style=dashed'
    lines: list[str] = []
    vs = graph.vars
    grad_of_step: dict[int, str] = {}
    for pos, y, _ in ins.roots:
        if pos is None:
            continue
        node = f"g{k}_{pos}"
        label = f"d{vs[y].name}/d{vs[y].name} = 1\n{_shape(vs[y])}"
        lines.append(f"  {node} [label={_quote(label)}, shape=ellipse, {red}];")
        lines.append(f"  v{y} -> {node} [{red}];")
        grad_of_step[pos] = node
    root = vs[ins.roots[0][1]].name if ins.roots else "y"
    leaf_nodes: dict[int, str] = {}
    for pos in reversed(range(len(ins.steps))):
        step = ins.steps[pos]
        apply = graph.instrs[step.apply_idx]
        src = grad_of_step.get(pos)
        if src is None:
            continue
        vjp = f"vjp{k}_{pos}"
        lines.append(f"  {vjp} [label={_quote(apply.prim.name + ' vjp')}, shape=box, {red}];")
        lines.append(f"  {src} -> {vjp} [{red}];")
        for i, target in enumerate(step.targets):
            if target is None:
                continue
            x = apply.ins[i]
            name = vs[x].name if not isinstance(x, Lit) else "?"
            if target[0] == "leaf":
                dest = leaf_nodes.get(target[1])
                if dest is None:
                    dest = leaf_nodes[target[1]] = f"l{k}_{target[1]}"
                    label = f"{name}.grad\nd{root}/d{name}"
                    lines.append(f"  {dest} [label={_quote(label)}, shape=ellipse, {red}];")
            else:
                dest = grad_of_step.get(target[1])
                if dest is None:
                    dest = grad_of_step[target[1]] = f"g{k}_{target[1]}"
                    label = f"d{root}/d{name}"
                    lines.append(f"  {dest} [label={_quote(label)}, shape=ellipse, {red}];")
            lines.append(f"  {vjp} -> {dest} [{red}];")
    return lines


def _shape(var: Any) -> str:
    return var.type_str
