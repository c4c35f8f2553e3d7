"""``mgectl export``: a trained run's model as ONNX or as the engine's own graph file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from mgectl.commands._options import examples

EPILOG = examples(
    "mgectl export runs/images_cnn",
    "mgectl export runs/moons_mlp --out moons.onnx",
    "mgectl export runs/iris_softmax --format engine --batch 30 --out iris.mge",
)


def export(
    run: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR",
            exists=True,
            help="A run directory (its best, else last checkpoint), a runs/<name> folder "
            "(its newest run) or a checkpoint file.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Literal["onnx", "engine"],
        typer.Option(
            "--format",
            "-f",
            help="onnx (any batch size; needs the onnx extra) or engine (a graph file that "
            "engine.jit.load runs, for --batch rows at a time).",
        ),
    ] = "onnx",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file (default: RUN_DIR/model.onnx or .mge)."),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Rows of the example input traced.")
    ] = 1,
) -> None:
    """Export the model of a trained run; it takes the inputs the model saw (standardised)."""
    from mgectl.tools.export import export_run

    path = export_run(run, fmt, out, batch)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("export", epilog=EPILOG)(export)
