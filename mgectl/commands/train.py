"""``mgectl train``: validate a config, then hand it to the trainer (or print it resolved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import ConfigArgument, SetOption, examples

EPILOG = examples(
    "mgectl train configs/linear_regression.yaml",
    "mgectl train configs/moons_mlp.yaml --set optimizer.lr=0.05",
    "mgectl train configs/images_cnn.yaml --device gpu0",
    "mgectl train configs/images_cnn.yaml --resume runs/images_cnn",
    "mgectl train configs/spirals_mlp.yaml --print-config",
)


def train(
    config: ConfigArgument,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            "-d",
            help="Run on this device: xpux (GPU if there is one), cpux, cpu0, gpu0, ... "
            "Same as --set device=NAME.",
        ),
    ] = None,
    overrides: SetOption = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", "-o", help="Write the run here instead of <output.root>/<name>."
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="RUN_OR_CKPT",
            exists=True,
            help="Continue from a run directory (its latest checkpoint) or a checkpoint file.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the final summary.")
    ] = False,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config", help="Print the resolved config (defaults filled in) and exit."
        ),
    ] = False,
) -> None:
    """Train the model an experiment config describes; the run goes to runs/<name>/."""
    from mgectl.config import load_config, resolved_yaml

    settings = list(overrides or [])
    if device is not None:
        settings.append(f"device={json.dumps(device)}")  # JSON quoting keeps it a YAML string
    cfg = load_config(config, settings)
    if print_config:
        typer.echo(resolved_yaml(cfg), nl=False)
        return
    from mgectl.trainer import train as run_training

    run_training(cfg, config_path=config, output_dir=output_dir, resume=resume, quiet=quiet)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("train", epilog=EPILOG)(train)
