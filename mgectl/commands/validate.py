"""``mgectl validate``: check experiment configs and report every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import SetOption, examples

EPILOG = examples(
    "mgectl validate configs/moons_mlp.yaml",
    "mgectl validate configs/*.yaml",
    "mgectl validate configs/moons_mlp.yaml --set model.hidden=[8,8]",
)


def validate(
    configs: Annotated[
        list[Path], typer.Argument(metavar="CONFIG", help="One or more experiment YAML files.")
    ],
    overrides: SetOption = None,
) -> None:
    """Check configs without training: print 'CONFIG: ok' and a summary, or every problem."""
    from mgectl.config.experiment import CONFIG_HINT, load_config, summary
    from mgectl.errors import ConfigError, UserError
    from mgectl.train.setup import preflight

    problems: list[str] = []
    for path in configs:
        try:
            cfg = load_config(path, overrides or [])
        except ConfigError as error:
            problems.extend(error.lines())
            continue
        try:
            preflight(cfg)  # what train checks before its first step: data, device, memory
        except UserError as error:
            problems.extend(f"{path}: {line}" for line in error.lines())
            continue
        typer.echo(f"{path}: ok")
        typer.echo(f"  {summary(cfg)}")
    if problems:
        raise ConfigError(problems, hint=CONFIG_HINT)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("validate", epilog=EPILOG)(validate)
