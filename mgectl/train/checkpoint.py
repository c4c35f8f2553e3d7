"""Checkpoints of a run: what they hold, writing them, and reading them back with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import engine.random
from engine import serialization
from mgectl.errors import ConfigError, UserError
from mgectl.train.checkpoint_schema import DamagedError, check_checkpoint

FORMAT = "mgectl-run"
VERSION = 2  # 2: the sampler's generator is MegEngine's RandomState (MT19937), not PCG64
REQUIRED = ("config", "model", "data", "outputs", "progress")
# Sections whose change makes a checkpoint meaningless for the config: different data, a
# different network, a different head, or optimizer state buffers of another optimizer.
SAME_EXPERIMENT = ("data", "model", "loss", "optimizer.type")


def snapshot(
    *,
    config: dict[str, Any],
    built: Any,
    sampler: Any,
    progress: dict[str, Any],
) -> dict[str, Any]:
    """Everything needed to continue bit-identically: copies, so later steps cannot change it.

    The per-epoch history is not in it (a checkpoint's size must not grow with the epochs):
    it lives in the run's metrics.jsonl, which a resume reads back up to progress.epoch.
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": config,
        "model": built.model.state_dict(),
        "optimizer": built.optimizer.state_dict(),
        "scheduler": None if built.scheduler is None else built.scheduler.state_dict(),
        "sampler": None if sampler is None else sampler.state_dict(),
        "rng": engine.random.get_state(),
        "progress": dict(progress),
        "data": built.data.meta(),
        "outputs": built.outputs,
    }


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write STATE atomically (engine.serialization: temp file, then rename; no pickle)."""
    try:
        serialization.save(state, path)
    except OSError as error:
        raise UserError(f"{path}: cannot write checkpoint: {error.strerror or error}") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint; anything else is a one-line UserError."""
    hint = "pass a run directory or a checkpoints/*.npz file written by mgectl train"
    try:
        state = serialization.load(path, map_location="cpu0")
    except ValueError as error:
        raise UserError(str(error), hint=hint) from None
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror or error}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path}: an engine checkpoint, but not one of an mgectl run", hint=hint)
    if state.get("version") != VERSION:
        raise UserError(
            f"{path}: checkpoint version {state.get('version')!r} is not supported (this mgectl "
            f"reads version {VERSION})",
            hint="it was written by another mgectl version: resume with that one, or train again",
        )
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise UserError(f"{path}: checkpoint is missing {', '.join(missing)}", hint=hint)
    try:
        check_checkpoint(state)
    except DamagedError as damage:
        raise UserError(f"{path}: checkpoint damaged: {damage}", hint=hint) from None
    return state


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    value: Any = config
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _differences(saved: Any, current: Any, where: str) -> list[str]:
    """Dotted keys whose values differ, each as 'key: checkpoint has A, the config has B'."""
    if isinstance(saved, dict) and isinstance(current, dict):
        found = []
        for key in list(saved) + [k for k in current if k not in saved]:
            found += _differences(saved.get(key), current.get(key), f"{where}.{key}")
        return found
    if _normal(saved) == _normal(current):
        return []
    return [f"{where}: the checkpoint has {saved!r}, the config has {current!r}"]


def _normal(value: Any) -> Any:
    """Tuples and lists compare equal (a checkpoint keeps tuples, YAML gives lists)."""
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def check_same_experiment(saved: dict[str, Any], current: dict[str, Any], source: Path) -> None:
    """Refuse to resume with a config whose data, model, loss or optimizer type differ."""
    problems: list[str] = []
    for section in SAME_EXPERIMENT:
        problems += _differences(_lookup(saved, section), _lookup(current, section), section)
    if problems:
        raise ConfigError(
            [f"--resume {source}: {line}" for line in problems],
            hint="resume with the run's own config (leave CONFIG out), or start a new run",
        )


def config_from_checkpoint(source: Path, overrides: list[str]) -> Any:
    """The config a run was trained with (from its last checkpoint), with --set overrides."""
    from mgectl.config.experiment import validate_config
    from mgectl.config.overrides import apply_overrides, override_sources
    from mgectl.train.rundir import find_checkpoint, run_of_checkpoint

    path = find_checkpoint(Path(source), ("last",))
    saved = load_checkpoint(path)
    raw = dict(saved["config"])
    if run_of_checkpoint(path) is None:
        # a checkpoint kept elsewhere (or a stranger's) does not choose where files are written
        raw.pop("output", None)
    raw = continue_cosine(saved, apply_overrides(raw, overrides))
    sources = override_sources(overrides)
    return validate_config(raw, source=f"{path} (the run's config)", overrides=sources)


def continue_cosine(saved: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A cosine that annealed to the end of the run goes on smoothly when epochs change.

    Stretching the schedule to the new total would make the lr jump at the resume epoch;
    instead it continues from the lr it had there down to eta_min at the new last epoch.
    """
    before = saved["config"]
    schedule = (before.get("optimizer") or {}).get("scheduler") or {}
    now = ((raw.get("optimizer") or {}).get("scheduler")) or {}
    epochs_before = (before.get("train") or {}).get("epochs")
    epochs_now = (raw.get("train") or {}).get("epochs")
    if schedule.get("type") != "cosine" or now.get("type") != "cosine":
        return raw
    if epochs_now == epochs_before or now.get("t_max") != schedule.get("t_max"):
        return raw  # same length, or the user re-planned the schedule by hand
    warmup = int(schedule.get("warmup_epochs") or 0)
    if schedule.get("t_max") is None or schedule["t_max"] + warmup != epochs_before:
        return raw  # an annealing length of its own: the total does not shape it
    if not isinstance(epochs_now, int) or isinstance(epochs_now, bool):
        return raw  # validation will say what is wrong with it
    epoch = int(saved["progress"]["epoch"])
    lr = float(saved["optimizer"]["param_groups"][0]["lr"])  # the lr of the next epoch
    if lr <= 0:
        raise UserError(
            f"optimizer.scheduler: the cosine reached lr 0 at epoch {epoch}; "
            f"{epochs_now} epochs would train the rest at lr 0",
            hint="start a new run, or give the resume a schedule of its own: "
            "--set optimizer.scheduler.t_max=N",
        )
    scheduler = {**now, "t_max": max(1, epochs_now - warmup), "restart": {"epoch": epoch, "lr": lr}}
    optimizer = {**raw["optimizer"], "scheduler": scheduler}
    return {**raw, "optimizer": optimizer}
