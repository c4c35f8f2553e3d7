"""Before the loop: the checkpoint a resume continues from, and the run directory to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgectl.config.experiment import resolved_dict, resolved_yaml
from mgectl.errors import UserError
from mgectl.train.checkpoint import check_same_experiment, load_checkpoint
from mgectl.train.parallel import World
from mgectl.train.rundir import (
    RunDir,
    find_checkpoint,
    new_run_dir,
    rewrite_metrics,
    run_of_checkpoint,
    write_text_atomic,
)


def stored_config(cfg: Any) -> dict[str, Any]:
    """The resolved config a checkpoint keeps; a data file path is made absolute to stay valid."""
    config = resolved_dict(cfg)
    if "path" in config["data"]:
        config["data"]["path"] = str(Path(config["data"]["path"]).resolve())
    return config


def resumable(saved: dict[str, Any], cfg: Any, source: Path) -> None:
    """Refuse a resume that has nothing left to do, saying how to ask for more."""
    progress = saved["progress"]
    done = int(progress["epoch"])
    if progress["stopped_early"] and cfg.train.early_stopping is not None:
        raise UserError(
            f"--resume {source}: the run stopped early after {done} epoch(s)",
            hint="start a new run, or continue without it: --set train.early_stopping=null",
        )
    if done >= cfg.train.epochs:
        raise UserError(
            f"--resume {source}: the run already finished {done} of train.epochs="
            f"{cfg.train.epochs} epochs",
            hint=f"ask for more epochs, e.g. --set train.epochs={done * 2}",
        )


def resume_point(
    resume: Path | None, config: dict[str, Any], cfg: Any
) -> tuple[dict[str, Any] | None, Path | None]:
    """The checkpoint RESUME points at and its path, checked against CONFIG; (None, None)."""
    if resume is None:
        return None, None
    source = find_checkpoint(Path(resume), ("last",))
    saved = load_checkpoint(source)
    check_same_experiment(saved["config"], config, source)
    resumable(saved, cfg, source)
    return saved, source


def open_run(
    world: World,
    cfg: Any,
    source: Path | None,
    output_dir: Path | None,
    history: list[dict[str, Any]],
) -> RunDir:
    """The run directory: the resumed run's or a new one, made by rank 0 and named to all."""
    path = None
    if world.is_main:
        run = run_of_checkpoint(source) if source is not None else None
        if run is None:
            run = new_run_dir(Path(output_dir or cfg.output.root), cfg.name)
        write_text_atomic(run.config, resolved_yaml(cfg))
        rewrite_metrics(run, history)  # a resume drops lines after its checkpoint
        path = str(run.path)
    return RunDir(Path(world.bcast(path)))
