"""Before the loop: the checkpoint a resume continues from, and the run directory to write."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgectl.config.experiment import resolved_dict, resolved_yaml
from mgectl.errors import UserError
from mgectl.train.checkpoint import check_same_experiment, load_checkpoint
from mgectl.train.parallel import World
from mgectl.train.rundir import (
    RunDir,
    find_checkpoint,
    new_run_dir,
    read_metrics,
    remove_stale_temporaries,
    rewrite_metrics,
    run_of_checkpoint,
    write_text_atomic,
)
from mgectl.train.runlock import RunLock

if TYPE_CHECKING:
    from mgectl.config.experiment import ExperimentConfig


def stored_config(cfg: ExperimentConfig) -> dict[str, Any]:
    """The resolved config a checkpoint keeps; a data file path is made absolute to stay valid."""
    config = resolved_dict(cfg)
    if "path" in config["data"]:
        config["data"]["path"] = str(Path(config["data"]["path"]).resolve())
    return config


def resumable(saved: dict[str, Any], cfg: ExperimentConfig, source: Path) -> None:
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
    resume: Path | None, config: dict[str, Any], cfg: ExperimentConfig
) -> tuple[dict[str, Any] | None, Path | None]:
    """The checkpoint RESUME points at and its path, checked against CONFIG; (None, None)."""
    if resume is None:
        return None, None
    source = find_checkpoint(Path(resume), ("last",))
    saved = load_checkpoint(source)
    check_same_experiment(saved["config"], config, source)
    resumable(saved, cfg, source)
    saved["history"] = history_until(source, int(saved["progress"]["epoch"]))
    return saved, source


def history_until(checkpoint: Path, epochs: int) -> list[dict[str, Any]]:
    """The metrics records of the first EPOCHS epochs of the run CHECKPOINT belongs to.

    A checkpoint kept outside its run directory has none: the new run starts a new history.
    """
    run = run_of_checkpoint(checkpoint)
    if run is None:
        return []
    records = read_metrics(run.metrics)
    return [r for r in records if isinstance(r.get("epoch"), int) and r["epoch"] < epochs]


def preflight(cfg: ExperimentConfig, output_dir: Path | None = None) -> None:
    """Every check train makes before its first step, without training or writing anything.

    `mgectl validate` runs it so both commands give the same verdict: the device exists,
    the output root can hold runs, the data loads (columns, classes, finite values), the
    model and optimizer build within this machine's memory.
    """
    from engine.core.device import default_device
    from mgectl.build.builder import build
    from mgectl.train.device import resolve_device
    from mgectl.train.rundir import check_output_root

    check_output_root(Path(output_dir or cfg.output.root))
    resolve_device(cfg.device)  # a missing GPU is one clear line, as train says it
    with default_device(cfg.device):
        build(cfg)


def open_run(
    world: World,
    cfg: ExperimentConfig,
    source: Path | None,
    output_dir: Path | None,
    history: list[dict[str, Any]],
    locks: list[RunLock],
) -> RunDir:
    """The run directory: the resumed run's or a new one, made by rank 0 and named to all.

    Rank 0 locks it (appending the lock to LOCKS; the caller releases it), removes the
    temporaries of writes a killed trainer left.
    """
    path = None
    if world.is_main:
        run = run_of_checkpoint(source) if source is not None else None
        if run is None:
            run = new_run_dir(Path(output_dir or cfg.output.root), cfg.name)
        locks.append(RunLock.acquire(run.path))
        remove_stale_temporaries(run)
        write_text_atomic(run.config, resolved_yaml(cfg))
        rewrite_metrics(run, history)  # a resume drops lines after its checkpoint
        path = str(run.path)
    return RunDir(Path(world.bcast(path)))
