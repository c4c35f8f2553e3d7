"""``mgectl train``: validate a config, then hand it to the trainer (or print it resolved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import SetOption, examples

EPILOG = examples(
    "mgectl train configs/linear_regression.yaml",
    "mgectl train configs/moons_mlp.yaml --set optimizer.lr=0.05",
    "mgectl train configs/images_cnn.yaml --device gpu0",
    "mgectl train --resume runs/images_cnn --set train.epochs=20",
    "mgectl train configs/spirals_mlp.yaml --print-config",
)


def train(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="CONFIG",
            help="Experiment YAML file, e.g. configs/moons_mlp.yaml. With --resume it may be "
            "left out: the run's own config is used.",
            show_default=False,
        ),
    ] = None,
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
            "--output-dir",
            "-o",
            help="Write the run to OUTPUT_DIR/<name>/<id>/ instead of <output.root>/<name>/<id>/.",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="RUN_OR_CKPT",
            exists=True,
            help="Continue a run: its directory (its last checkpoint), a runs/<name> folder "
            "(its newest run) or a checkpoint file. Ask for more epochs with --set train.epochs=N.",
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
    """Train the model an experiment config describes; the run goes to runs/<name>/<id>/."""
    from mgectl.config import load_config, resolved_yaml
    from mgectl.errors import UserError

    settings = list(overrides or [])
    if device is not None:
        settings.append(f"device={json.dumps(device)}")  # JSON quoting keeps it a YAML string
    if config is not None:
        cfg = load_config(config, settings)
    elif resume is not None:
        from mgectl.checkpoint import config_from_checkpoint

        cfg = config_from_checkpoint(resume, settings)
    else:
        raise UserError("missing CONFIG", hint="mgectl train configs/<name>.yaml, or --resume RUN")
    if print_config:
        typer.echo(resolved_yaml(cfg), nl=False)
        return
    from mgectl.trainer import train as run_training

    run_training(cfg, config_path=config, output_dir=output_dir, resume=resume, quiet=quiet)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("train", epilog=EPILOG)(train)
