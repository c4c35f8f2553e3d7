"""A Graph as a picture: nodes and edges to draw, and Graphviz DOT text made from them.

Data nodes (tensors) show name, shape and dtype; parameters are marked; operators are boxes.
With backward=True each recorded backward adds one VJP node per differentiated operator and
the gradient data nodes it produces, joined by gradient edges (the tutorial's backward pass).
`elements()` is what any renderer draws (DOT here, matplotlib in mgectl's report layer).
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import CONST, EXTERNAL, GRAD, INPUT, Apply, Backward, Graph, HostCall, Lit, Var


@dataclass(frozen=True)
class DrawNode:
    """One node of a drawing: kind is data|param|input|op|grad|vjp."""

    id: str
    label: str
    kind: str


@dataclass(frozen=True)
class DrawEdge:
    """One edge; gradient edges belong to the backward pass."""

    src: str
    dst: str
    gradient: bool = False


def data_label(var: Var) -> str:
    """'w\\n(1,) float32\\nparameter': the text of a data node."""
    shape = "(" + ",".join(str(n) for n in var.shape) + ("," if len(var.shape) == 1 else "") + ")"
    mark = "\nparameter" if var.is_param else ""
    return f"{var.name}\n{shape} {var.dtype.name}{mark}"


def elements(graph: Graph, backward: bool = False) -> tuple[list[DrawNode], list[DrawEdge]]:
    """The nodes and edges of `graph` (forward; plus the gradient flow when `backward`)."""
    nodes: list[DrawNode] = []
    edges: list[DrawEdge] = []
    used = _used_vars(graph)
    for var in graph.vars:
        if var.idx in used:
            nodes.append(DrawNode(f"v{var.idx}", data_label(var), _data_kind(var)))
    for k, ins in enumerate(graph.instrs):
        if isinstance(ins, (Apply, HostCall)):
            name = ins.prim.name if isinstance(ins, Apply) else getattr(ins.fn, "__name__", "host")
            nodes.append(DrawNode(f"op{k}", name, "op"))
            edges += [DrawEdge(f"v{x}", f"op{k}") for x in ins.ins if not isinstance(x, Lit)]
            if ins.out is not None:
                edges.append(DrawEdge(f"op{k}", f"v{ins.out}"))
        elif isinstance(ins, Backward) and backward:
            _backward(graph, k, ins, nodes, edges)
    return nodes, edges


_DOT_STYLE = {
    "param": 'shape=ellipse, style="filled,bold", fillcolor="#fde9b8", penwidth=2',
    "input": 'shape=ellipse, style=filled, fillcolor="#e3f4e1"',
    "const": 'shape=ellipse, style=filled, fillcolor="#eeeeee"',
    "data": "shape=ellipse",
    "op": 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"',
    "grad": 'shape=ellipse, style="filled,dashed", fillcolor="#fbe3e3", color="#c0392b"',
    "vjp": 'shape=box, style="rounded,dashed", color="#c0392b"',
}


def graph_to_dot(graph: Graph, backward: bool = False) -> str:
    """DOT text for `graph`; gradient edges are dashed red."""
    nodes, edges = elements(graph, backward)
    lines = [
        "digraph computing_graph {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#444444"];',
    ]
    lines += [f"  {n.id} [label={_quote(n.label)}, {_DOT_STYLE[n.kind]}];" for n in nodes]
    for e in edges:
        style = ' [color="#c0392b", style=dashed]' if e.gradient else ""
        lines.append(f"  {e.src} -> {e.dst}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _data_kind(var: Var) -> str:
    if var.is_param:
        return "param"
    if var.kind == INPUT:
        return "input"
    if var.kind in (EXTERNAL, CONST):
        return "const"
    if var.kind == GRAD:
        return "grad"
    return "data"


def _used_vars(graph: Graph) -> set[int]:
    used: set[int] = set(graph.inputs) | {i for i in graph.outputs if isinstance(i, int)}
    for ins in graph.instrs:
        if isinstance(ins, (Apply, HostCall)):
            used.update(x for x in ins.ins if not isinstance(x, Lit))
            if ins.out is not None:
                used.add(ins.out)
    return {i for i in used if graph.vars[i].kind != GRAD}


def _backward(graph: Graph, k: int, ins: Backward, nodes: list, edges: list) -> None:
    """VJP nodes and gradient nodes of one backward, joined by gradient edges."""
    vs = graph.vars
    grad_of_step: dict[int, str] = {}
    root = vs[ins.roots[0][1]].name if ins.roots else "y"
    for pos, y, _ in ins.roots:
        if pos is None:
            continue
        node = f"g{k}_{pos}"
        nodes.append(DrawNode(node, f"d{root}/d{vs[y].name} = 1", "grad"))
        edges.append(DrawEdge(f"v{y}", node, gradient=True))
        grad_of_step[pos] = node
    leaf_nodes: dict[int, str] = {}
    for pos in reversed(range(len(ins.steps))):
        step = ins.steps[pos]
        apply = graph.instrs[step.apply_idx]
        src = grad_of_step.get(pos)
        if src is None:
            continue
        vjp = f"vjp{k}_{pos}"
        nodes.append(DrawNode(vjp, f"{apply.prim.name} vjp", "vjp"))
        edges.append(DrawEdge(src, vjp, gradient=True))
        for i, target in enumerate(step.targets):
            if target is None:
                continue
            x = apply.ins[i]
            name = vs[x].name if not isinstance(x, Lit) else "?"
            table = leaf_nodes if target[0] == "leaf" else grad_of_step
            dest = table.get(target[1])
            if dest is None:
                dest = table[target[1]] = f"{'l' if target[0] == 'leaf' else 'g'}{k}_{target[1]}"
                label = f"{name}.grad" if target[0] == "leaf" else f"d{root}/d{name}"
                nodes.append(DrawNode(dest, label, "grad"))
            edges.append(DrawEdge(vjp, dest, gradient=True))
