"""``mgectl sweep``: search hyper-parameters with Optuna; every trial is an ordinary run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import SetOption, examples

EPILOG = examples(
    "mgectl sweep configs/linear_regression_sweep.yaml",
    "mgectl sweep configs/moons_mlp.yaml --param 'optimizer.lr=loguniform(1e-4,1e-1)' "
    "--param 'model.hidden=choice([32],[64,64])' --trials 30",
    "mgectl sweep configs/linear_regression.yaml --param 'optimizer.lr=choice(0.001,0.01,0.02)' "
    "--sampler grid",
    "mgectl sweep configs/linear_regression_sweep.yaml --jobs 2",
    "mgectl sweep --resume runs/sweeps/linear_regression_sweep/20260101-120000-01",
)


def sweep(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="CONFIG",
            help="Experiment YAML file; its sweep: section (if any) gives the defaults.",
            show_default=False,
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=DIST",
            help="A config key to search: loguniform(a,b), uniform(a,b), int(a,b) or "
            "choice(v1,v2,...) with YAML values. Repeatable; adds to sweep.params.",
        ),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", "-n", min=1, help="Trials to run (default 20).")
    ] = None,
    sampler: Annotated[
        str | None, typer.Option("--sampler", help="tpe (default), random or grid.")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="Record key to optimise; default: the run's monitor."),
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="minimize or maximize (default by metric).")
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Local worker processes on the one study."),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Optuna storage shared by workers: an RDB URL (postgresql://..., "
            "sqlite:///...) or a journal file path. Default: study.journal in the sweep dir.",
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (default: the config's name).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Sampler seed (default: the config's seed).")
    ] = None,
    no_prune: Annotated[
        bool, typer.Option("--no-prune", help="Train every trial to the end (no pruner).")
    ] = False,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="SWEEP_DIR",
            exists=True,
            file_okay=False,
            help="Continue a sweep: an interrupted trial resumes from its checkpoint, then "
            "the remaining trials run. --trials N changes how many the sweep runs in all.",
        ),
    ] = None,
    overrides: SetOption = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", "-o", help="Write the sweep to OUTPUT_DIR/sweeps/<name>/<id>/."
        ),
    ] = None,
) -> None:
    """Search hyper-parameters: each trial trains the config with sampled values as a run."""
    from mgectl.errors import UserError
    from mgectl.tools.sweep import Plan, create_sweep, load_sweep_config, require_optuna

    require_optuna()
    if resume is not None:
        given = [flag for flag, value in (("CONFIG", config), ("--param", param)) if value]
        if given:
            raise UserError(
                f"--resume continues the sweep as it was planned; drop {', '.join(given)}",
                hint="start a new sweep to search something else",
            )
        sweep_dir = resume
        if trials is not None:
            plan = Plan.load(sweep_dir)
            plan.trials = trials
            plan.save()
        workers = jobs or 1
    elif config is None:
        raise UserError("missing CONFIG", hint="mgectl sweep configs/<name>.yaml --param ...")
    else:
        flags = {
            "trials": trials,
            "sampler": sampler,
            "metric": metric,
            "direction": direction,
            "storage": storage,
            "study": study,
            "seed": seed,
            "prune": False if no_prune else None,
        }
        settings = list(overrides or [])
        cfg = load_sweep_config(config, settings, list(param or []), flags)
        sweep_dir = create_sweep(cfg, config, settings, output_dir)
        workers = jobs or (cfg.sweep.jobs if cfg.sweep else 1)
    from engine.core.allocator import tune_allocator
    from mgectl.tools.sweep_run import show_sweep

    tune_allocator()  # every trial trains: let malloc recycle the per-step temporaries
    status = show_sweep(sweep_dir, workers)
    if status:
        raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("sweep", epilog=EPILOG)(sweep)
