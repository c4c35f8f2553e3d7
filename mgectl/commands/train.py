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
    "mgectl train configs/moons_mlp.yaml --nproc 2",
    "mgectl train configs/images_cnn.yaml --trace",
    "mgectl train --resume runs/images_cnn --set train.epochs=20",
    "mgectl train configs/spirals_mlp.yaml --print-config",
    "mgectl train configs/moons_mlp.yaml --log tensorboard && tensorboard --logdir runs",
)


def train(
    ctx: typer.Context,
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
    nproc: Annotated[
        int,
        typer.Option(
            "--nproc",
            min=1,
            metavar="N",
            help="Train on N processes of this machine (data parallel, through mpirun; needs "
            "the dist extra). train.batch_size is the global batch: N must divide it.",
        ),
    ] = 1,
    log: Annotated[
        list[str] | None,
        typer.Option(
            "--log",
            metavar="LOGGER",
            help="Also log to LOGGER beside metrics.jsonl: tensorboard (event files in the run "
            "dir; needs the sweep extra). Same as --set train.log=[tensorboard].",
        ),
    ] = None,
    traced: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Record each training step's graph once and replay it (engine.jit.trace); "
            "same losses as eager. Same as --set train.trace=true.",
        ),
    ] = False,
) -> None:
    """Train the model an experiment config describes; the run goes to runs/<name>/<id>/."""
    from mgectl.config.experiment import load_config, resolved_yaml
    from mgectl.errors import UserError

    settings = []  # the flags first: every --set is then applied (and checked) after them
    if resume is not None:  # once: a runs/<name> folder may name a skipped run
        from mgectl.train.rundir import find_checkpoint

        resume = find_checkpoint(resume, ("last",))
    if device is not None:
        settings.append(f"device={json.dumps(device)}")  # JSON quoting keeps it a YAML string
    if log:
        settings.append(f"train.log={json.dumps(log)}")
    if traced:
        settings.append("train.trace=true")
    settings += list(overrides or [])
    if config is not None:
        cfg = load_config(config, settings)
    elif resume is not None:
        from mgectl.train.checkpoint import config_from_checkpoint

        cfg = config_from_checkpoint(resume, settings)
    else:
        raise UserError("missing CONFIG", hint="mgectl train configs/<name>.yaml, or --resume RUN")
    if print_config:
        typer.echo(resolved_yaml(cfg), nl=False)
        return
    from mgectl.train.parallel import launch_ranks

    argv = _rank_argv(ctx, config, settings, output_dir, resume, quiet, nproc)
    status = launch_ranks(nproc, cfg.train.batch_size, argv)
    if status is not None:  # the ranks trained (rank 0 printed); this process only waited
        raise typer.Exit(status)
    from engine.core.allocator import tune_allocator
    from mgectl.report import plots
    from mgectl.report.console import ConsoleReporter
    from mgectl.report.logging import log_reporters
    from mgectl.train.loop import train as run_training
    from mgectl.train.parallel import launched_size, rank_console

    tune_allocator()  # training allocates big temporaries every step: let malloc recycle them
    console = rank_console() if launched_size() > 1 else None  # mpirun: rank 0's terminal
    reporters = [ConsoleReporter(console=console, quiet=quiet), *log_reporters(cfg)]
    run_training(
        cfg,
        config_path=config,
        output_dir=output_dir,
        resume=resume,
        reporters=reporters,
        painter=plots,
    )


def _rank_argv(
    ctx: typer.Context,
    config: Path | None,
    settings: list[str],
    output_dir: Path | None,
    resume: Path | None,
    quiet: bool,
    nproc: int,
) -> list[str]:
    """The `mgectl ...` arguments each rank runs: this command line, --device as a --set."""
    from mgectl.boundary import DEBUG_KEY

    argv = ["--debug"] if ctx.meta.get(DEBUG_KEY) else []
    argv += ["train", *([str(config)] if config is not None else [])]
    for setting in settings:
        argv += ["--set", setting]
    if output_dir is not None:
        argv += ["--output-dir", str(output_dir)]
    if resume is not None:
        argv += ["--resume", str(resume)]
    return [*argv, *(["--quiet"] if quiet else []), "--nproc", str(nproc)]


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("train", epilog=EPILOG)(train)
