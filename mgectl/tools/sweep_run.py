"""Driving a sweep: workers (in this process or spawned), resume, the live table and summary."""

from __future__ import annotations

import datetime
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgectl.errors import TrainingInterruptedError, UserError
from mgectl.report.sweep import SweepConsole, SweepSummary, TrialRow, print_summary
from mgectl.tools.sweep import (
    Objective,
    Plan,
    TrialFailed,
    base_config,
    counts_as_done,
    open_study,
    outcome,
    reproduce_command,
    require_optuna,
    trial_values,
)
from mgectl.train.events import EpochEnd, Event, Reporter, RunStart

PLOTS_DIR = "plots"


def requeue_interrupted(plan: Plan, study: Any) -> int:
    """Before a resume: trials left running or interrupted are enqueued to continue their run."""
    optuna = require_optuna()
    redone = {t.user_attrs.get("resumes") for t in study.get_trials(deepcopy=False)}
    count = 0
    for trial in study.get_trials(deepcopy=False):
        if not plan.owns(trial):
            continue
        # in the sweep's own journal a trial still running was left by a process that died;
        # in a shared database it may be another machine's worker: leave it alone
        stale = plan.storage is None and trial.state == optuna.trial.TrialState.RUNNING
        if stale:
            study._storage.set_trial_user_attr(trial._trial_id, "outcome", "interrupted")
            study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        elif outcome(trial) != "interrupted":
            continue
        if trial.number in redone or not trial.params:
            continue
        attrs = {"resumes": trial.number, "resume_sweep": plan.sweep_id}
        if trial.user_attrs.get("run_dir"):
            attrs["resume_from"] = trial.user_attrs["run_dir"]
        study.enqueue_trial(trial.params, user_attrs=attrs, skip_if_exists=False)
        count += 1
    return count


def remaining(plan: Plan, study: Any) -> int:
    """How many of the plan's trials are still to run."""
    done = sum(counts_as_done(plan, t) for t in study.get_trials(deepcopy=False))
    return max(0, plan.trials - done)


def shares(total: int, jobs: int) -> list[int]:
    """Split TOTAL trials over JOBS workers as evenly as possible (none empty)."""
    jobs = max(1, min(jobs, total))
    return [total // jobs + (1 if i < total % jobs else 0) for i in range(jobs)] if total else []


def work(
    sweep_dir: Path, quota: int, worker: int = 0, reporters: list[Reporter] | None = None
) -> None:
    """One worker: run QUOTA trials of the sweep in SWEEP_DIR."""
    sweep_dir = Path(sweep_dir)
    plan, base = Plan.load(sweep_dir), base_config(sweep_dir)
    study = open_study(plan, worker)
    objective = Objective(plan, base, sweep_dir, reporters)
    if quota:
        study.optimize(objective, n_trials=quota, catch=(TrialFailed,), gc_after_trial=False)


def _worker_main(sweep_dir: str, quota: int, worker: int) -> None:
    """A spawned worker process: exit 130 after Ctrl-C (its trial saved), 2 on a user error."""
    try:
        work(Path(sweep_dir), quota, worker)
    except TrainingInterruptedError:
        os._exit(130)
    except UserError as error:
        from mgectl.boundary import report_user_error

        report_user_error(error)
        os._exit(2)
    except KeyboardInterrupt:  # between trials: nothing is running
        os._exit(130)


@dataclass
class SweepResult:
    """How a sweep ended."""

    sweep_dir: Path
    plan: Plan
    trials: list[Any]  # Optuna FrozenTrials, by number
    seconds: float
    interrupted: bool = False


def run_sweep(
    sweep_dir: Path,
    jobs: int = 1,
    reporters: list[Reporter] | None = None,
    watch: Callable[[list[Any]], None] | None = None,
    poll_seconds: float = 0.5,
) -> SweepResult:
    """Run what is left of the sweep in SWEEP_DIR on JOBS local worker processes.

    WATCH is called with the study's trials whenever they may have changed (for the live
    table). With jobs 1 the trials run in this process, handed REPORTERS too (tests use it).
    """
    sweep_dir = Path(sweep_dir)
    plan = Plan.load(sweep_dir)
    study = open_study(plan)
    requeue_interrupted(plan, study)
    quotas = shares(remaining(plan, study), jobs)
    started = time.perf_counter()
    interrupted = False
    watch = watch or (lambda trials: None)
    if len(quotas) <= 1:
        epoch_watch = _EpochWatch(study, watch)
        try:
            work(sweep_dir, quotas[0] if quotas else 0, 0, [epoch_watch, *(reporters or [])])
        except TrainingInterruptedError:
            interrupted = True
    else:
        interrupted = _run_workers(sweep_dir, quotas, study, watch, poll_seconds)
    trials = study.get_trials()
    watch(trials)
    return SweepResult(sweep_dir, plan, trials, time.perf_counter() - started, interrupted)


class _EpochWatch:
    """Refreshes the live table as the in-process trial trains."""

    def __init__(self, study: Any, watch: Callable[[list[Any]], None]) -> None:
        self.study, self.watch = study, watch

    def __call__(self, event: Event) -> None:
        """On each epoch and run start, show the trials as they stand."""
        if isinstance(event, EpochEnd | RunStart):
            self.watch(self.study.get_trials(deepcopy=False))


def _run_workers(
    sweep_dir: Path,
    quotas: list[int],
    study: Any,
    watch: Callable[[list[Any]], None],
    poll_seconds: float,
) -> bool:
    """Start one spawned process per quota, watch the study until they end; True on Ctrl-C."""
    context = multiprocessing.get_context("spawn")  # no forked copies of threads or handles
    workers = [
        context.Process(target=_worker_main, args=(str(sweep_dir), quota, index))
        for index, quota in enumerate(quotas)
    ]
    for process in workers:
        process.start()
    interrupted = False
    while any(process.is_alive() for process in workers):
        try:
            watch(study.get_trials(deepcopy=False))
            time.sleep(poll_seconds)
        except KeyboardInterrupt:  # the workers got it too: let them save their trials
            interrupted = True
    for process in workers:
        process.join()
    codes = [process.exitcode for process in workers]
    if any(code == 2 for code in codes):
        raise UserError("a sweep worker stopped on an error (printed above)")
    return interrupted or any(code not in (0, None) for code in codes)


# ----------------------------------------------------------------------------- showing


def trial_row(plan: Plan, trial: Any) -> TrialRow:
    """What the table shows of one Optuna trial."""
    seconds = None
    if trial.datetime_start is not None:
        end = trial.datetime_complete or datetime.datetime.now()
        seconds = (end - trial.datetime_start).total_seconds()
    steps = trial.intermediate_values
    metric = trial.value
    if metric is None and steps:  # pruned or running: its last reported epoch
        metric = steps[max(steps)]
    return TrialRow(
        number=trial.number,
        state=outcome(trial),
        values=trial_values(plan, trial.params),
        metric=metric,
        epochs=max(steps) + 1 if steps else None,
        seconds=seconds,
        finished=trial.state.is_finished(),
        run_dir=None if plan.run_dir(trial) is None else str(plan.run_dir(trial)),
        note=trial.user_attrs.get("error", ""),
    )


def best_trial(plan: Plan, trials: list[Any]) -> Any | None:
    """The completed trial with the best value, or None."""
    done = [t for t in trials if outcome(t) == "completed" and t.value is not None]
    if not done:
        return None
    pick = max if plan.direction == "maximize" else min
    return pick(done, key=lambda t: t.value)


def show_sweep(sweep_dir: Path, jobs: int = 1, console: Any = None) -> int:
    """Run the sweep with a live table, draw its plots, print the summary; the exit status."""
    from rich.console import Console

    from mgectl.report.sweep_plots import sweep_plots

    plan = Plan.load(sweep_dir)
    console = console or Console(highlight=False)
    keys = list(plan.params)
    console.print(
        f"[bold]mgectl sweep[/bold] {plan.study}: {plan.trials} trials, {plan.sampler} sampler, "
        f"{plan.direction} {plan.metric}, {jobs} worker{'s' if jobs != 1 else ''}",
        highlight=False,
    )
    console.print(f"  sweep dir {sweep_dir}", markup=False)
    with SweepConsole(plan.study, keys, plan.metric, plan.direction, console) as show:
        result = run_sweep(sweep_dir, jobs, watch=lambda ts: show([trial_row(plan, t) for t in ts]))
    plots, _ = sweep_plots(open_study(plan), keys, Path(sweep_dir) / PLOTS_DIR)
    best = best_trial(plan, result.trials)
    summary = SweepSummary(
        study=plan.study,
        metric=plan.metric,
        rows=[trial_row(plan, t) for t in result.trials],
        best=None if best is None else trial_row(plan, best),
        command=None if best is None else reproduce_command(plan, trial_values(plan, best.params)),
        sweep_dir=Path(sweep_dir),
        plots=plots,
        seconds=result.seconds,
        interrupted=result.interrupted,
    )
    print_summary(summary, console)
    return 130 if result.interrupted else 0
