"""Pictures of a computing graph: Graphviz when its `dot` program is installed, else matplotlib."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from engine.jit.drawing import elements, graph_to_dot
from mgectl.errors import UserError

FORMATS = ("png", "svg", "dot")
_FILL = {
    "param": "#fde9b8",
    "input": "#e3f4e1",
    "const": "#eeeeee",
    "data": "#ffffff",
    "op": "#dbe9f6",
    "grad": "#fbe3e3",
    "vjp": "#ffffff",
}
_RED = "#c0392b"


def picture_format(out: Path) -> str:
    """'png', 'svg' or 'dot' from OUT's suffix; anything else is a user error."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserError(
            f"--out {out}: unknown picture format {out.suffix or '(none)'!r}",
            hint="use a .png, .svg or .dot file name",
        )
    return fmt


def write_graph(graph: Any, out: Path, backward: bool, use_graphviz: bool = True) -> str:
    """Write GRAPH to OUT (.png, .svg or .dot); return what drew it: dot, graphviz or matplotlib."""
    fmt = picture_format(out)
    dot_text = graph_to_dot(graph, backward=backward)
    if fmt == "dot":
        out.write_text(dot_text, encoding="utf-8")
        return "dot"
    program = shutil.which("dot") if use_graphviz else None
    if program is not None:
        subprocess.run([program, f"-T{fmt}", "-o", str(out)], input=dot_text, text=True, check=True)
        return "graphviz"
    draw_with_matplotlib(graph, out, backward)
    return "matplotlib"


def layers(nodes: list, edges: list) -> dict[str, int]:
    """Longest-path layering: every node one row below the lowest of its predecessors."""
    preds: dict[str, list[str]] = {n.id: [] for n in nodes}
    for e in edges:
        preds[e.dst].append(e.src)
    depth: dict[str, int] = {}

    def visit(node: str) -> int:
        if node not in depth:
            depth[node] = 0  # a cycle guard; graphs from traces have no cycles
            depth[node] = max((visit(p) + 1 for p in preds[node]), default=0)
        return depth[node]

    for n in nodes:
        visit(n.id)
    return depth


def draw_with_matplotlib(graph: Any, out: Path, backward: bool) -> None:
    """A layered drawing: rows by depth, ellipses for tensors, boxes for operators."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes, edges = elements(graph, backward)
    depth = layers(nodes, edges)
    rows: dict[int, list] = {}
    for n in nodes:
        rows.setdefault(depth[n.id], []).append(n)
    width = max(len(r) for r in rows.values())
    pos = {}
    for d, row in rows.items():
        for i, n in enumerate(row):
            pos[n.id] = ((i + 0.5) * width / len(row) * 2.2, -d * 1.2)
    fig, ax = plt.subplots(figsize=(max(4.0, 2.2 * width), max(3.0, 1.2 * (len(rows) + 1))))
    for e in edges:
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        color = _RED if e.gradient else "#444444"
        style = "--" if e.gradient else "-"
        ax.annotate(
            "",
            xy=(x1, y1 + 0.28),
            xytext=(x0, y0 - 0.28),
            arrowprops={"arrowstyle": "->", "color": color, "linestyle": style, "lw": 1.2},
        )
    for n in nodes:
        x, y = pos[n.id]
        box = "round,pad=0.3" if n.kind in ("op", "vjp") else "circle,pad=0.2"
        if n.kind not in ("op", "vjp"):
            box = "round4,pad=0.3"
        ax.text(
            x,
            y,
            n.label,
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold" if n.kind == "param" else "normal",
            bbox={
                "boxstyle": box,
                "facecolor": _FILL[n.kind],
                "edgecolor": _RED if n.kind in ("grad", "vjp") else "#333333",
                "linestyle": "--" if n.kind in ("grad", "vjp") else "-",
                "linewidth": 2 if n.kind == "param" else 1,
            },
        )
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
