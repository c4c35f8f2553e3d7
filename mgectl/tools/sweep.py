"""Hyper-parameter sweeps on Optuna: each trial is an ordinary run in the sweep's directory.

A sweep directory holds ``sweep.json`` (what to search and how), ``experiment.yaml`` (the
resolved experiment every trial starts from), the study's storage (``study.journal`` unless
``--storage`` names another), ``trial-NNN/<id>/`` run directories and ``plots/``.
Workers (one process per ``--jobs``) ask the study for a trial, train it with a reporter that
feeds each epoch's metric to Optuna's pruner, and tell the study how it ended.
"""

from __future__ import annotations

import json
import os
import shlex
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from mgectl.config.experiment import ExperimentConfig, validate_config
from mgectl.config.sweep import (
    ParamSpec,
    SweepConfig,
    parse_distribution,
    parse_param,
    set_key,
    yaml_flow,
)
from mgectl.errors import (
    TrainingDivergedError,
    TrainingInterruptedError,
    UserError,
)
from mgectl.train.evaluate import larger_is_better, monitored_key
from mgectl.train.events import EpochEnd, Event, Reporter, RunStart, StopRun
from mgectl.train.rundir import new_stamped_dir, read_metrics, write_text_atomic
from mgectl.train.setup import stored_config

SWEEPS_DIR = "sweeps"  # <output.root>/sweeps/<name>/<id>/: apart from the runs of <name>
PLAN_FILE = "sweep.json"
EXPERIMENT_FILE = "experiment.yaml"
JOURNAL_FILE = "study.journal"
DEFAULT_TRIALS = 20
SCALARS = (type(None), bool, int, float, str)  # what an Optuna categorical can hold
INSTALL_HINT = 'pip install "mgectl[sweep]"  (Optuna and tensorboardX)'


def require_optuna() -> Any:
    """Import Optuna, or say which extra brings it (a UserError: exit 2)."""
    try:
        import optuna
    except ImportError:
        raise UserError("mgectl sweep needs Optuna, which is not installed", INSTALL_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the sweep prints its own table
    return optuna


# ----------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """What a sweep searches and how: everything a worker or a resume needs (sweep.json)."""

    config: str  # the CONFIG path as given, for the reproducing command
    overrides: list[str]  # its --set options
    params: dict[str, str]
    trials: int
    sampler: str
    metric: str
    direction: str
    prune: bool
    seed: int
    storage: str | None  # an RDB URL or a journal file path; None: study.journal in home
    study: str
    plots: bool = False  # each trial's own loss/fit plots (mgectl train draws them again)
    sweep_id: str = ""  # marks this sweep's trials in a study other sweeps may share
    home: Path = field(default=Path("."), compare=False)  # the sweep dir (not saved: movable)

    def specs(self) -> list[ParamSpec]:
        """The parsed parameters."""
        return [parse_distribution(key, text) for key, text in self.params.items()]

    def storage_url(self) -> str:
        """Where the study lives."""
        return self.storage or str(self.home / JOURNAL_FILE)

    def owns(self, trial: Any) -> bool:
        """Whether this sweep ran TRIAL (a shared study also holds other sweeps' trials)."""
        return trial.user_attrs.get("sweep") == self.sweep_id

    def run_dir(self, trial: Any) -> Path | None:
        """The run directory of this sweep's TRIAL (kept relative to the sweep dir), or None."""
        relative = trial.user_attrs.get("run_dir") if self.owns(trial) else None
        return self.home / relative if relative else None

    def save(self) -> None:
        """Write sweep.json into the sweep dir."""
        saved = {k: v for k, v in asdict(self).items() if k != "home"}
        write_text_atomic(self.home / PLAN_FILE, json.dumps(saved, indent=1) + "\n")

    @classmethod
    def load(cls, sweep_dir: Path) -> Plan:
        """Read sweep.json of SWEEP_DIR; a UserError when it is not a sweep directory."""
        path = Path(sweep_dir) / PLAN_FILE
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")), home=Path(sweep_dir))
        except FileNotFoundError:
            raise UserError(
                f"{sweep_dir}: not a sweep directory (no {PLAN_FILE})",
                hint="pass the directory mgectl sweep printed, e.g. runs/sweeps/<name>/<id>",
            ) from None
        except (ValueError, TypeError) as error:
            raise UserError(f"{path}: unreadable: {error}") from None


def make_plan(
    cfg: ExperimentConfig, config_path: Path, overrides: list[str], sweep_dir: Path
) -> Plan:
    """Fill a sweep section's defaults (metric, direction, trials, seed, storage, study)."""
    sweep = cfg.sweep or SweepConfig()
    if not sweep.params:
        raise UserError(
            "nothing to search: no --param and no sweep.params in the config",
            hint="e.g. --param 'optimizer.lr=loguniform(1e-4,1e-1)'",
        )
    metric = sweep.metric or monitored_key(cfg.train.early_stopping, cfg.data.val_split > 0)
    direction = sweep.direction or ("maximize" if larger_is_better(metric) else "minimize")
    specs = sweep.specs()
    grid_size = _grid_size(specs) if sweep.sampler == "grid" else None
    trials = sweep.trials or grid_size or DEFAULT_TRIALS
    if grid_size is not None:
        trials = min(trials, grid_size)  # a grid is done once every point was tried
    return Plan(
        config=str(config_path),
        overrides=list(overrides),
        params=dict(sweep.params),
        trials=trials,
        sampler=sweep.sampler,
        metric=metric,
        direction=direction,
        prune=sweep.prune,
        seed=cfg.seed if sweep.seed is None else sweep.seed,
        storage=_absolute(sweep.storage),
        study=sweep.study or cfg.name,
        sweep_id=uuid.uuid4().hex,
        home=sweep_dir,
    )


def _absolute(storage: str | None) -> str | None:
    """A journal path made absolute, so workers started elsewhere find it; URLs as they are."""
    return storage if storage is None or "://" in storage else str(Path(storage).resolve())


def _grid_size(specs: list[ParamSpec]) -> int:
    size = 1
    for spec in specs:
        size *= len(spec.grid())
    return size


# ----------------------------------------------------------------------------- the study


def open_storage(url: str) -> Any:
    """An Optuna storage: a journal file (a path, local or on a shared filesystem) or an RDB URL."""
    require_optuna()
    if "://" in url:
        return url  # sqlite:///..., postgresql://..., mysql://...: Optuna's RDB storage
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    # the open(O_EXCL) lock works on NFS too, where the default symlink lock may not
    lock = JournalFileOpenLock(url)
    return JournalStorage(JournalFileBackend(url, lock_obj=lock))


def make_sampler(plan: Plan, worker: int = 0) -> Any:
    """The plan's sampler; workers get distinct seeds so they do not propose the same points."""
    optuna = require_optuna()
    seed = plan.seed + worker
    if plan.sampler == "grid":
        space = {spec.key: [encode(spec, v) for v in spec.grid()] for spec in plan.specs()}
        return optuna.samplers.GridSampler(space, seed=seed)
    if plan.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def open_study(plan: Plan, worker: int = 0) -> Any:
    """Create or join the plan's study."""
    optuna = require_optuna()
    pruner = optuna.pruners.MedianPruner() if plan.prune else optuna.pruners.NopPruner()
    try:
        return optuna.create_study(
            storage=open_storage(plan.storage_url()),
            study_name=plan.study,
            sampler=make_sampler(plan, worker),
            pruner=pruner,
            direction=plan.direction,
            load_if_exists=True,
        )
    except (ImportError, ValueError) as error:  # a bad URL, a missing database driver
        raise UserError(f"--storage {plan.storage_url()}: {error}") from None


def encoded_as_text(spec: ParamSpec) -> bool:
    """Whether a choice's values are stored as YAML text (lists, mappings) rather than as is."""
    return spec.kind == "choice" and not all(isinstance(c, SCALARS) for c in spec.choices)


def encode(spec: ParamSpec, value: Any) -> Any:
    """A parameter value as Optuna stores it."""
    return yaml_flow(value) if encoded_as_text(spec) else value


def decode(spec: ParamSpec, stored: Any) -> Any:
    """A stored value back as the config value."""
    return yaml.safe_load(stored) if encoded_as_text(spec) else stored


def suggest(trial: Any, spec: ParamSpec) -> Any:
    """Ask TRIAL for SPEC's value."""
    if spec.kind == "loguniform":
        return trial.suggest_float(spec.key, spec.low, spec.high, log=True)
    if spec.kind == "uniform":
        return trial.suggest_float(spec.key, spec.low, spec.high)
    if spec.kind == "int":
        return trial.suggest_int(spec.key, int(spec.low), int(spec.high))
    choices = [encode(spec, c) for c in spec.choices]
    return decode(spec, trial.suggest_categorical(spec.key, choices))


def trial_values(plan: Plan, params: dict[str, Any]) -> dict[str, Any]:
    """A finished trial's parameters as config values (choices decoded)."""
    return {spec.key: decode(spec, params[spec.key]) for spec in plan.specs() if spec.key in params}


def outcome(trial: Any) -> str:
    """completed, pruned, diverged, failed, interrupted or running."""
    state = trial.state.name
    if state == "COMPLETE":
        return "completed"
    if state == "PRUNED":
        return "pruned"
    if state == "FAIL":
        return trial.user_attrs.get("outcome", "failed")
    return "running" if state == "RUNNING" else state.lower()


def counts_as_done(plan: Plan, trial: Any) -> bool:
    """Whether TRIAL used up one of the plan's trials (an interrupted one is done again)."""
    return plan.owns(trial) and trial.state.is_finished() and outcome(trial) != "interrupted"


# ----------------------------------------------------------------------------- one trial


def reported(epoch: int, epochs: int) -> bool:
    """Whether the pruner hears of EPOCH: the first ten, then every tenth, and the last.

    Each report is a write (and an fsync) to the study's storage, dearer than an epoch of a
    small model; a schedule shared by all trials keeps their steps comparable for the pruner.
    """
    return epoch < 10 or (epoch + 1) % 10 == 0 or epoch == epochs - 1


class TrialReporter:
    """Feeds epochs' metric to the Optuna trial and prunes it when the pruner says so."""

    def __init__(self, trial: Any, plan: Plan) -> None:
        self.trial, self.metric, self.prune, self.home = trial, plan.metric, plan.prune, plan.home
        self.reason = ""  # why it stopped the run, if it did

    def __call__(self, event: Event) -> None:
        """Remember the run dir; report each epoch's metric; stop a hopeless trial."""
        if isinstance(event, RunStart):
            self.trial.set_user_attr("run_dir", os.path.relpath(event.run_dir, self.home))
            if event.start_epoch:  # a resumed trial: the pruner sees its earlier epochs too
                for record in read_metrics(event.run_dir):
                    if reported(int(record["epoch"]), event.epochs):
                        self.report(record)
        elif isinstance(event, EpochEnd):
            if self.metric not in event.record:
                keys = ", ".join(k for k in event.record if k not in ("epoch", "seconds"))
                self.reason = f"metric {self.metric!r} is not recorded; try one of {keys}"
                raise StopRun("failed", self.reason)
            if not reported(int(event.record["epoch"]), event.epochs):
                return
            self.report(event.record)
            if self.prune and self.trial.should_prune():
                raise StopRun("pruned", f"pruned after epoch {event.record['epoch']}")

    def report(self, record: dict[str, Any]) -> None:
        """Give the pruner this epoch's value (epochs without an evaluation have none)."""
        value = record.get(self.metric)
        if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
            self.trial.report(float(value), int(record["epoch"]))


def best_value(history: list[dict[str, Any]], metric: str, direction: str) -> float | None:
    """The best finite value of METRIC over the epochs, or None."""
    values = [r.get(metric) for r in history]
    finite = [float(v) for v in values if isinstance(v, int | float) and abs(v) != float("inf")]
    finite = [v for v in finite if v == v]
    if not finite:
        return None
    return max(finite) if direction == "maximize" else min(finite)


class TrialFailed(Exception):  # noqa: N818 (Optuna's TrialPruned names it the same way)
    """A trial that could not give a value (diverged, bad config): FAIL, and the sweep goes on."""


class Objective:
    """Optuna's objective: train one trial as an ordinary run in the sweep dir; its best value.

    Pruned trials raise optuna.TrialPruned, diverged or broken ones TrialFailed (the study
    records them and goes on); Ctrl-C saves the trial's checkpoint, marks it interrupted (a
    resume continues it) and raises TrainingInterruptedError, which ends the sweep.
    """

    def __init__(
        self,
        plan: Plan,
        base: dict[str, Any],
        sweep_dir: Path,
        reporters: list[Reporter] | None = None,
    ) -> None:
        self.plan, self.base, self.sweep_dir = plan, base, sweep_dir
        self.reporters = list(reporters or [])

    def __call__(self, trial: Any) -> float:
        """Train TRIAL's config and return its best value of the plan's metric."""
        optuna = require_optuna()
        plan = self.plan
        trial.set_user_attr("sweep", plan.sweep_id)
        raw = json.loads(json.dumps(self.base))
        for spec in plan.specs():
            set_key(raw, spec.key, suggest(trial, spec))
        raw["name"] = f"trial-{trial.number:03d}"
        listener = TrialReporter(trial, plan)
        try:
            cfg = validate_config(raw, source=f"trial {trial.number}")
            result = self.train(trial, cfg, listener)
        except (TrainingInterruptedError, KeyboardInterrupt) as error:
            trial.set_user_attr("outcome", "interrupted")
            if isinstance(error, KeyboardInterrupt):
                raise TrainingInterruptedError("sweep interrupted between trials") from None
            raise
        except TrainingDivergedError as error:
            self.fail(trial, "diverged", error.message)
        except UserError as error:
            self.fail(trial, "failed", str(error).splitlines()[0])
        if result.status == "pruned":
            raise optuna.TrialPruned()
        if result.status == "failed":
            self.fail(trial, "failed", listener.reason)
        value = best_value(result.history, plan.metric, plan.direction)
        if value is None:
            self.fail(trial, "failed", f"no finite {plan.metric}")
        return value

    def train(self, trial: Any, cfg: ExperimentConfig, listener: TrialReporter) -> Any:
        """Train CFG quietly in the sweep dir, LISTENER feeding the pruner (or continue its run)."""
        from mgectl.report import plots
        from mgectl.report.logging import log_reporters
        from mgectl.train.loop import train

        resume = trial.user_attrs.get("resume_from")  # relative to the sweep dir that set it
        if trial.user_attrs.get("resume_sweep") != self.plan.sweep_id:
            resume = None  # another sweep's worker (a shared study) starts the trial afresh
        return train(
            cfg,
            output_dir=self.sweep_dir,
            resume=self.sweep_dir / resume if resume else None,
            reporters=[listener, *log_reporters(cfg), *self.reporters],
            painter=plots if self.plan.plots else None,
        )

    @staticmethod
    def fail(trial: Any, how: str, why: str) -> NoReturn:
        """Record why TRIAL failed and raise TrialFailed."""
        trial.set_user_attr("outcome", how)
        trial.set_user_attr("error", why)
        raise TrialFailed(why)


# ----------------------------------------------------------------------------- sweeping


def create_sweep(
    cfg: ExperimentConfig,
    config_path: Path,
    overrides: list[str],
    output_dir: Path | None = None,
    plots: bool = False,
) -> Path:
    """Make the sweep directory ``<root>/sweeps/<name>/<id>/`` with its plan; returns its path."""
    require_optuna()
    root = Path(output_dir or cfg.output.root) / SWEEPS_DIR / cfg.name
    sweep_dir = new_stamped_dir(root)
    plan = make_plan(cfg, config_path, overrides, sweep_dir)
    plan.plots = plots
    plan.save()
    text = yaml.safe_dump(stored_config(cfg), sort_keys=False, width=100)
    write_text_atomic(sweep_dir / EXPERIMENT_FILE, text)
    open_study(plan)  # creates it now, so a bad --storage fails before any worker starts
    return sweep_dir


def base_config(sweep_dir: Path) -> dict[str, Any]:
    """The resolved experiment every trial starts from."""
    return yaml.safe_load((Path(sweep_dir) / EXPERIMENT_FILE).read_text(encoding="utf-8"))


def reproduce_command(plan: Plan, values: dict[str, Any]) -> str:
    """The ``mgectl train`` command line that trains the trial with VALUES again."""
    words = ["mgectl", "train", plan.config]
    for setting in [*plan.overrides, *(f"{k}={yaml_flow(v)}" for k, v in values.items())]:
        words += ["--set", setting]
    return shlex.join(words)


def load_sweep_config(
    config: Path, overrides: list[str], params: list[str], flags: dict[str, Any]
) -> ExperimentConfig:
    """CONFIG with --set OVERRIDES, its sweep section updated by --param PARAMS and FLAGS.

    FLAGS maps sweep keys (trials, sampler, ...) to command-line values; None means not given.
    The whole config, sweep included, is validated at once (every problem reported).
    """
    from mgectl.config.experiment import raw_config

    raw = raw_config(Path(config), overrides)
    sweep = raw.get("sweep")
    if sweep is None:
        sweep = raw["sweep"] = {}
    if isinstance(sweep, dict):
        if params and not isinstance(sweep.get("params"), dict):
            sweep["params"] = {}
        for text in params:
            try:
                key, distribution = parse_param(text)
            except ValueError as error:
                raise UserError(str(error)) from None
            sweep["params"][key] = distribution
        sweep.update({key: value for key, value in flags.items() if value is not None})
    return validate_config(raw, source=str(config), base_dir=Path(config).parent)
