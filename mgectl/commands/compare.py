"""``mgectl compare``: the config keys that differ between runs, their metrics and curves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import examples, wide_console

EPILOG = examples(
    "mgectl compare runs/moons_mlp/20260101-120000-01 runs/moons_mlp/20260101-121500-01",
    "mgectl compare runs/sweeps/linear_regression_sweep/*/trial-00[0-3]/* --out lr.png",
)


def compare(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(metavar="RUN_DIR...", help="Two or more run directories."),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Where to write the PNG with the curves overlaid."),
    ] = Path("compare.png"),
) -> None:
    """Tables of the config keys that differ and of final and best metrics; one PNG of curves."""
    from mgectl.tools.compare import compare_runs

    compare_runs(run_dirs, out, wide_console())


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("compare", epilog=EPILOG)(compare)
