"""``mgectl runs``: list run directories, newest first, with their state and best metric."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import examples, wide_console

EPILOG = examples(
    "mgectl runs",
    "mgectl runs --name moons_mlp",
    "mgectl runs runs/sweeps/linear_regression_sweep",
)


def runs(
    root: Annotated[
        Path,
        typer.Argument(metavar="ROOT", help="Folder to search for runs (sweep trials included)."),
    ] = Path("runs"),
    name: Annotated[
        str | None, typer.Option("--name", help="Only the runs of this experiment name.")
    ] = None,
) -> None:
    """One row per run: name, id, state, epochs done, best metric, wall time, device."""
    from mgectl.report.runs import runs_table
    from mgectl.tools.runs import find_runs, run_info

    found = [run_info(path) for path in find_runs(root, name)]
    console = wide_console()
    if not found:
        which = f" named {name}" if name else ""
        console.print(f"no runs{which} under {root}", markup=False)
        return
    console.print(runs_table(found))


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("runs", epilog=EPILOG)(runs)
