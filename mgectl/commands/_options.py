"""Arguments and options that several verbs share, so they read the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

ConfigArgument = Annotated[
    Path,
    typer.Argument(metavar="CONFIG", help="Experiment YAML file, e.g. configs/moons_mlp.yaml."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override one config value before validation, e.g. --set optimizer.lr=0.1 "
        "(VALUE is parsed as YAML: 0.1 is a number, [64,64] a list). Repeatable.",
    ),
]


def examples(*lines: str) -> str:
    """Build a --help epilog of copy-paste example command lines."""
    return "[bold]Examples[/bold]\n\n" + "\n".join(f"  {line}" for line in lines)


def wide_console() -> Any:
    """A rich Console for tables: the terminal's width, or 200 columns in a pipe (not 80)."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)
