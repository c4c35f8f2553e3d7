"""``mgectl graph``: draw one training step of a config's model as a computing graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import ConfigArgument, SetOption, examples

EPILOG = examples(
    "mgectl graph configs/linear_regression.yaml",
    "mgectl graph configs/linear_regression.yaml --backward --out step.png",
    "mgectl graph configs/images_cnn.yaml --out cnn.svg",
    "mgectl graph configs/moons_mlp.yaml --backward --out mlp.dot && dot -Tpng mlp.dot -o mlp.png",
)


def graph(
    config: ConfigArgument,
    backward: Annotated[
        bool, typer.Option("--backward", help="Also draw the gradient flow (VJPs and .grad).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write a picture: .png or .svg (Graphviz if `dot` is installed, else "
            "matplotlib) or .dot text. Without it the graph is printed as text.",
        ),
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Trace one training step (forward, loss, backward) and show its computing graph."""
    from mgectl.config.experiment import load_config
    from mgectl.tools.graph import step_graph

    cfg = load_config(config, list(overrides or []))
    if out is not None:
        from mgectl.report.graph_picture import picture_format

        picture_format(out)  # a bad suffix is an error before any work
    traced = step_graph(cfg)
    if out is None:
        typer.echo(str(traced))
        return
    from mgectl.report.graph_picture import write_graph

    how = write_graph(traced, out, backward)
    typer.echo(f"wrote {out} ({how})")


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("graph", epilog=EPILOG)(graph)
