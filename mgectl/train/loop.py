"""The training loop: batches -> forward -> loss -> backward -> finite check -> step, as events."""

from __future__ import annotations

import math
import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

import engine.random
from engine.autodiff import GradManager
from engine.core.device import Device, default_device
from engine.jit import trace
from mgectl.build.builder import Built, build
from mgectl.build.losses import predicted_classes
from mgectl.build.models import LinearRegression, describe_model, parameter_count
from mgectl.errors import TrainingDivergedError, TrainingInterruptedError, UserError
from mgectl.train import parallel
from mgectl.train.batches import Batch, Batches
from mgectl.train.checkpoint import save_checkpoint, snapshot
from mgectl.train.device import describe_device, resolve_device
from mgectl.train.divergence import (
    NonFiniteError,
    diverged,
    first_nonfinite,
    first_nonfinite_state,
)
from mgectl.train.evaluate import (
    EvalSet,
    Monitor,
    assess,
    confusion_matrix,
    fitted_curve,
    monitored_key,
    per_class,
    predict_rows,
    region_grid,
)
from mgectl.train.events import (
    Broadcast,
    CheckpointSaved,
    EpochEnd,
    Reporter,
    RunEnd,
    RunStart,
    StepEnd,
    StopRun,
)
from mgectl.train.rundir import (
    RunDir,
    append_metrics,
    read_run_state,
    rewrite_metrics,
    write_evaluation,
    write_run_state,
)
from mgectl.train.runlock import RunLock
from mgectl.train.setup import open_run, resume_point, stored_config
from mgectl.train.signals import Interrupted, StopRequests, exit_code_of

if TYPE_CHECKING:
    from mgectl.config.experiment import ExperimentConfig


class Painter(Protocol):
    """Draws the plots/ pictures from numbers the loop computed: mgectl.report.plots, which the
    train verb hands in (the loop never imports mgectl.report)."""

    def loss_plot(self, history: list[dict], path: Path, name: str) -> Any: ...  # noqa: D102
    def fit_plot(self, *args: Any, **kwargs: Any) -> Any: ...  # noqa: D102
    def prediction_plot(self, *args: Any, **kwargs: Any) -> Any: ...  # noqa: D102
    def confusion_plot(self, *args: Any, **kwargs: Any) -> Any: ...  # noqa: D102
    def regions_plot(self, *args: Any, **kwargs: Any) -> Any: ...  # noqa: D102


@dataclass
class RunResult:
    """How a run ended and where its files are."""

    run_dir: Path
    status: str
    history: list[dict[str, Any]]
    best: dict[str, Any] | None
    state: dict[str, Any]  # the model's final state_dict


class Loop:
    """One run's training loop and its bookkeeping (history, best, checkpoints)."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        built: Built,
        device: Device,
        emit: Reporter,
        world: parallel.World = parallel.SOLO,
    ) -> None:
        self.cfg, self.built, self.device, self.emit = cfg, built, device, emit
        self.world = world
        data = built.data
        batch = parallel.local_batch_size(cfg.train.batch_size, world.size)
        shard = {"rank": world.rank, "size": world.size}
        shuffle = cfg.train.shuffle
        self.batches = Batches(data.x_train, data.y_train, batch, shuffle, device, **shard)
        self.val = None
        if data.has_val:
            self.val = EvalSet.on_device(data.x_val, data.y_val, device, **shard)
        self.classes = data.num_classes if data.task == "classification" else None
        self.train_eval = None  # a classifier's training set, measured in eval mode
        if data.task == "classification":
            self.train_eval = EvalSet.on_device(data.x_train, data.y_train, device, **shard)
        self.named = list(built.model.named_parameters())
        params = [p for _, p in self.named]
        self.gm = GradManager().attach(params, callbacks=world.allreduce_callbacks() or None)
        # traced: the step's graph is recorded once per batch shape, then replayed host-free
        self.run_step = (
            trace(self.forward_backward, without_host=True)
            if cfg.train.trace
            else self.forward_backward
        )
        stopping = cfg.train.early_stopping
        self.monitor = Monitor(
            monitored_key(stopping, data.has_val), stopping.min_delta if stopping else 0.0
        )
        self.config = stored_config(cfg)
        self.history: list[dict[str, Any]] = []
        self.epoch = 0  # finished epochs
        self.steps_done = 0
        self.stopped_early = False
        self.latest: dict[str, Any] = {}
        self.best_state: dict[str, Any] | None = None
        self.best_written: dict[str, Any] | None = None
        self.state: dict[str, Any] = {}  # state.json's device and earlier sessions' seconds
        self.stop = StopRequests()
        self.saved_at = time.monotonic()  # train.checkpoint_seconds counts from here

    # ---- resume ----------------------------------------------------------------------------
    def restore(self, saved: dict[str, Any]) -> None:
        """Continue from a checkpoint; hyper-parameters stay those of the config in effect."""
        built = self.built
        try:
            built.model.load_state_dict(saved["model"])
            # keep the current param_groups (lr, momentum, ...) so a resume may change them;
            # the per-parameter buffers are what must carry over
            current = built.optimizer.state_dict()["param_groups"]
            built.optimizer.load_state_dict(
                {"param_groups": current, "state": saved["optimizer"]["state"]}
            )
        except (KeyError, ValueError, TypeError) as error:
            raise UserError(f"checkpoint does not fit the model: {error}") from None
        self.check_buffer_shapes(saved["optimizer"]["state"])
        progress = saved["progress"]
        self.epoch, self.steps_done = int(progress["epoch"]), int(progress["step"])
        self.stopped_early = bool(progress["stopped_early"])
        if progress["monitor"]["monitor"] == self.monitor.key:
            self.monitor.restore(progress["monitor"])
        if built.scheduler is not None:
            built.scheduler.step(self.epoch)  # closed-form schedules: the epoch is the state
        sampler = self.batches.random_sampler
        if sampler is not None and saved.get("sampler") is not None:
            sampler.load_state_dict(saved["sampler"])
        engine.random.set_state(saved["rng"])
        self.history = list(saved.get("history", []))  # setup.resume_point reads it back

    def check_buffer_shapes(self, state: dict[Any, dict[str, Any]]) -> None:
        """Refuse optimizer buffers whose shapes are not their parameters' (a crafted file)."""
        params = [p for _, p in self.named]
        for index, buffers in state.items():
            shape = tuple(params[int(index)].shape)
            for name, value in buffers.items():
                if hasattr(value, "shape") and value.shape not in (shape, ()):
                    raise UserError(
                        f"checkpoint does not fit the model: optimizer.state.{index}.{name} has "
                        f"shape {tuple(value.shape)}, its parameter {shape}"
                    )

    def progress(self) -> dict[str, Any]:
        """Where the run stands, for checkpoints."""
        return {
            "epoch": self.epoch,
            "step": self.steps_done,
            "stopped_early": self.stopped_early,
            "monitor": self.monitor.state(),
        }

    def take_snapshot(self) -> dict[str, Any]:
        """The state after the last finished epoch, kept in memory until it is written."""
        return snapshot(
            config=self.config,
            built=self.built,
            sampler=self.batches.random_sampler,
            progress=self.progress(),
        )

    # ---- the loop ---------------------------------------------------------------------------
    def train_step(self, batch: Batch, epoch: int, step: int) -> tuple[float, float]:
        """Forward, loss, backward; refuse non-finite values before the optimizer sees them.

        Returns the step's loss and its loss summed over the samples. With several ranks a
        rank's loss weighs by its share of the step (1 for full batches), so the averaged
        gradient is the one of the whole global batch.
        """
        optimizer = self.built.optimizer
        weight = self.world.size * batch.count / batch.total
        value = self.run_step(batch.x, batch.y, weight)["loss"].item()
        summed = value * batch.total
        if self.world.distributed:
            # the stop vote rides on the step's one collective: all ranks stop at the same step
            summed, stop = self.world.sum([value * batch.count, float(self.stop.signum > 0)])
            value = summed / batch.total
            if stop:
                raise Interrupted(self.stop.signum or signal.SIGUSR1)
        else:
            self.stop.check()
        bad = first_nonfinite(self.named)
        if bad is not None or not math.isfinite(value):
            raise NonFiniteError(epoch, step, len(self.batches), value, bad)
        optimizer.step().clear_grad()
        self.steps_done += 1
        return value, summed

    def forward_backward(self, x: Any, label: Any, weight: float = 1.0) -> dict[str, Any]:
        """Forward, loss and backward of one batch; gradients land in the parameters."""
        with self.gm:
            pred = self.built.model(x)
            loss = self.built.loss(pred, label)
            self.gm.backward(loss if weight == 1.0 else loss * weight)
        return {"loss": loss, "pred": pred}

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        """Train one epoch and return its metrics record.

        train_loss is the mean of the epoch's batch losses (training mode, as the weights
        moved); the other train_ metrics measure the end-of-epoch model in eval mode, like
        the val_ ones, so the two compare.
        """
        started = time.perf_counter()
        cfg, built = self.cfg, self.built
        lr = built.optimizer.param_groups[0]["lr"]
        total, seen = 0.0, 0
        steps = len(self.batches)
        for step, batch in enumerate(self.batches, 1):
            value, summed = self.train_step(batch, epoch, step)
            total += summed
            seen += batch.total
            self.emit(StepEnd(epoch, step, steps, value))
        self.world.average_buffers(built.model)  # one set of BatchNorm statistics for all ranks
        record: dict[str, Any] = {"epoch": epoch, "train_loss": total / seen}
        last = epoch == cfg.train.epochs - 1
        measure = last or (epoch + 1) % cfg.train.eval_every == 0
        if self.train_eval is not None:
            if measure:
                found = self.evaluate(self.train_eval, "train")
                record.update({k: v for k, v in found.items() if k != "train_loss"})
            else:
                record.update(dict.fromkeys(self.train_keys()))
        if self.val is not None:
            record.update(
                self.evaluate(self.val, "val") if measure else dict.fromkeys(self.val_keys())
            )
        record.update(self.learned_params() or {})
        record["lr"] = lr
        record["seconds"] = round(time.perf_counter() - started, 6)
        return record

    def evaluate(self, data: EvalSet, prefix: str) -> dict[str, float]:
        """Loss and metrics of the model on DATA (this rank's share of it), in eval mode."""
        combine = self.world.sum if self.world.distributed else None
        built = self.built
        return assess(
            built.model,
            data,
            built.loss,
            self.cfg.loss.type,
            built.data.task,
            prefix=prefix,
            combine=combine,
            classes=self.classes,
            target=built.data.target,
        ).metrics

    def train_keys(self) -> list[str]:
        """The eval-mode training-set metrics this task reports (classification only)."""
        return ["train_accuracy", "train_f1"] if self.train_eval is not None else []

    def val_keys(self) -> list[str]:
        """The validation metrics this task reports."""
        if self.built.data.task == "classification":
            return ["val_loss", "val_accuracy", "val_f1"]
        return ["val_loss", "val_mse", "val_rmse", "val_mae", "val_r2"]

    def learned_params(self) -> dict[str, float] | None:
        """w and b of the tutorial's linear model (shown per epoch and in the summary)."""
        model = self.built.model
        if isinstance(model, LinearRegression):
            return {"w": float(model.w.item()), "b": float(model.b.item())}
        return None

    def true_params(self) -> dict[str, float] | None:
        """The generator's real values of the learned scalars (the tutorial's real w and b).

        Only in the data's own units: standardised features give w and b other meanings.
        """
        learned, data = self.learned_params(), self.built.data
        if not learned or data.standardizer is not None:
            return None
        truth = {k: float(data.generator_meta[k]) for k in learned if k in data.generator_meta}
        return truth or None

    def end_epoch(self, record: dict[str, Any], run: RunDir) -> bool:
        """Book an epoch: schedule, monitor, snapshot, metrics line, checkpoint; True to stop."""
        train = self.cfg.train
        self.check_state(record)
        if self.built.scheduler is not None:
            self.built.scheduler.step()
        self.epoch = record["epoch"] + 1
        improved = self.monitor.update(record)
        stop = (
            train.early_stopping is not None and self.monitor.wait >= train.early_stopping.patience
        )
        self.stopped_early = stop
        self.history.append(record)
        # the snapshot comes before the metrics line: an interrupt in between is repaired
        # from the in-memory history up to the snapshot's epoch, never the other way round
        self.latest = self.take_snapshot()
        if improved:
            self.best_state = self.latest
        if self.world.is_main:  # rank 0 alone writes the run directory
            append_metrics(run, record)
            every = train.checkpoint_every and self.epoch % train.checkpoint_every == 0
            due = time.monotonic() - self.saved_at >= train.checkpoint_seconds > 0
            if every or due:
                self.save(run)
        last = self.epoch == train.epochs or stop
        logged = last or record["epoch"] == 0 or self.epoch % train.log_every == 0
        self.emit(EpochEnd(record, train.epochs, logged))
        return stop

    def check_state(self, record: dict[str, Any]) -> None:
        """Refuse an epoch whose steps left a parameter or optimizer buffer NaN/inf.

        The loss and gradient checks run before each step; this one runs after the epoch's
        last step, before anything of the epoch is committed (history, monitor, snapshot).
        """
        built = self.built
        state = {"model": built.model.state_dict(), "optimizer": built.optimizer.state_dict()}
        bad = first_nonfinite_state(state)
        if bad is not None:
            steps = len(self.batches)
            raise NonFiniteError(record["epoch"], steps, steps, record["train_loss"], None, bad)

    def save(self, run: RunDir) -> None:
        """Write the latest snapshot as last, and the best one if it changed since."""
        save_checkpoint(self.latest, run.checkpoint("last"))
        self.saved_at = time.monotonic()
        self.emit(CheckpointSaved(run.checkpoint("last"), "last", self.latest["progress"]["epoch"]))
        if self.best_state is not None and self.best_state is not self.best_written:
            save_checkpoint(self.best_state, run.checkpoint("best"))
            self.best_written = self.best_state
            epochs = self.best_state["progress"]["epoch"]
            self.emit(CheckpointSaved(run.checkpoint("best"), "best", epochs))

    def run(self, run: RunDir, resumed_from: Path | None, draw: Painter | None) -> RunResult:
        """Train from self.epoch to train.epochs; Ctrl-C and NaN end it with a checkpoint."""
        cfg = self.cfg
        started = time.perf_counter()
        start = self.start_event(run, resumed_from)
        self.emit(start)
        if self.world.is_main:
            earlier = read_run_state(run.path) or {}  # a resumed run adds to its wall time
            self.state = {"device": start.device, "seconds": earlier.get("seconds", 0.0)}
            self.write_state(run, "running", 0.0)
        self.latest = self.take_snapshot()
        status = "completed"
        try:
            # NaN/inf are detected and reported once, by name; NumPy's warnings would only
            # scatter "overflow encountered" lines above that message
            with self.stop, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for epoch in range(self.epoch, cfg.train.epochs):
                    if self.end_epoch(self.run_epoch(epoch), run):
                        status = "early_stopped"
                        break
        except StopRun as stop:  # a reporter (a sweep's pruner) ended the run after an epoch
            status = stop.status
        except KeyboardInterrupt as interrupt:
            # plots of what the run did: the weights of its last finished epoch
            self.built.model.load_state_dict(self.latest["model"])
            self.finish(run, "interrupted", started, draw)
            nproc = f" --nproc {self.world.size}" if self.world.distributed else ""
            raise TrainingInterruptedError(
                f"training stopped after {self.epoch} finished epoch(s); "
                f"{run.checkpoint('last')} holds them",
                hint=f"continue with: mgectl train --resume {run.path}{nproc}",
                exit_code=exit_code_of(interrupt),
            ) from None
        except NonFiniteError as bad:
            # the live weights may already hold the NaN/inf: show and keep the last good ones
            self.built.model.load_state_dict(self.latest["model"])
            self.finish(run, "diverged", started, draw)
            lr = self.built.optimizer.param_groups[0]["lr"]
            raise diverged(bad, lr, run.checkpoint("last"), self.epoch) from None
        self.finish(run, status, started, draw)
        return RunResult(
            run.path, status, self.history, self.monitor.state(), self.built.model.state_dict()
        )

    def finish(self, run: RunDir, status: str, started: float, draw: Painter | None) -> None:
        """Write checkpoints (and plots), then tell the reporters how the run ended."""
        if not self.world.is_main:
            return  # rank 0 writes and reports for every rank
        self.save(run)
        if status in ("interrupted", "diverged"):
            done = self.latest["progress"]["epoch"]
            rewrite_metrics(run, [r for r in self.history if r["epoch"] < done])
        self.write_state(run, status, time.perf_counter() - started)
        test = None
        with warnings.catch_warnings():
            # a diverged run is evaluated and drawn from weights that may overflow float32:
            # the metrics and plots show that; NumPy's warnings would clutter the error report
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.history:
                test = self.write_evaluation(run, final=status in ("completed", "early_stopped"))
            if draw is not None and self.history:
                self.draw(run, draw)
        files = {"run": run.path, "metrics": run.metrics, "last": run.checkpoint("last")}
        if run.checkpoint("best").exists():
            files["best"] = run.checkpoint("best")
        for picture in sorted(run.plots.glob("*.png")) if run.plots.is_dir() else []:
            files[picture.stem] = picture
        self.emit(
            RunEnd(
                status,
                self.epoch,
                self.cfg.train.epochs,
                self.history[-1] if self.history else None,
                self.monitor.state(),
                self.learned_params(),
                files,
                time.perf_counter() - started,
                truth=self.true_params(),
                test=test,
            )
        )

    def write_evaluation(self, run: RunDir, final: bool) -> dict[str, float] | None:
        """evaluation.json: the model scored on one split, with per-class detail for classes.

        A finished run with data.test_split scores its test rows (once, here, and returned for
        the summary); otherwise the validation rows, else the training rows.
        """
        data = self.built.data
        if final and data.x_test is not None:
            split, x, y = "test", data.x_test, data.y_test
        elif data.has_val:
            split, x, y = "validation", data.x_val, data.y_val
        else:
            split, x, y = "training", data.x_train, data.y_train
        rows = EvalSet.on_device(x, y, self.device)
        outcome = assess(
            self.built.model,
            rows,
            self.built.loss,
            self.cfg.loss.type,
            data.task,
            prefix={"test": "test", "validation": "val", "training": "train"}[split],
            classes=self.classes,
            target=data.target,
        )
        report: dict[str, Any] = {"split": split, "rows": len(y), "metrics": outcome.metrics}
        if outcome.matrix is not None:
            detail = per_class(outcome.matrix)
            report["classes"] = self.class_names()
            report["confusion"] = outcome.matrix.tolist()
            report["per_class"] = {key: value.tolist() for key, value in detail.items()}
        write_evaluation(run, report)
        return outcome.metrics if split == "test" else None

    def write_state(self, run: RunDir, status: str, seconds: float) -> None:
        """state.json: STATUS, epochs done, the monitor's best, wall seconds, device, process."""
        state = {"state": status, "epochs_done": self.epoch, "epochs": self.cfg.train.epochs}
        state["seconds"] = round(self.state["seconds"] + seconds, 3)
        state["monitor"] = self.monitor.state()
        state["device"] = self.state["device"]
        state["pid"] = os.getpid()
        write_run_state(run, state)

    def draw(self, run: RunDir, plots: Painter) -> None:
        """plots/: loss and metric curves; the fit (1-D regression) or predicted vs actual;
        the confusion matrix and, for two features, the decision regions of a classifier."""
        run.plots.mkdir(exist_ok=True)
        name, model, data = self.cfg.name, self.built.model, self.built.data
        plots.loss_plot(self.history, run.plots / "loss.png", name)
        # the held-out rows when there are some: they say how the model generalises
        x, y, which = (
            (data.x_val, data.y_val, "validation")
            if data.has_val
            else (data.x_train, data.y_train, "training")
        )
        if data.task == "regression" and data.shape.features == 1:
            points = fitted_curve(model, data, self.device)
            plots.fit_plot(*points, run.plots / "fit.png", name, truth=self.true_params())
        elif data.task == "regression":
            predicted = predict_rows(model, x, self.device).reshape(-1)
            title = f"{name}: {which} set"
            plots.prediction_plot(y, predicted, run.plots / "predictions.png", title)
        else:
            classes = predicted_classes(predict_rows(model, x, self.device), self.cfg.loss.type)
            matrix = confusion_matrix(y, classes, self.classes or 2)
            title = f"{name}: {which} set"
            plots.confusion_plot(matrix, self.class_names(), run.plots / "confusion.png", title)
            categories = data.encoder is not None and data.encoder.categorical
            if data.shape.layout == "vector" and data.shape.features == 2 and not categories:
                features, *grid = region_grid(model, data, self.device, self.cfg.loss.type)
                plots.regions_plot(
                    features,
                    data.y_train,
                    tuple(grid),
                    self.class_names(),
                    run.plots / "regions.png",
                    f"{name}: decision regions",
                )

    def class_names(self) -> list[str]:
        """The classes' names (from the data) or their numbers."""
        names = self.built.data.class_names
        return list(names) if names else [str(i) for i in range(self.classes or 2)]

    def start_event(self, run: RunDir, resumed_from: Path | None) -> RunStart:
        """The header: what trains where, on how much data."""
        data, model = self.built.data, self.built.model
        sample = data.sample_shape
        features = (
            f"images {'x'.join(map(str, sample))}"
            if len(sample) == 3
            else f"{data.shape.features} feature{'s' if data.shape.features != 1 else ''}"
        )
        if data.num_classes:
            features += f", {data.num_classes} classes"
        keys = ["train_loss", *self.train_keys()[:1]]  # the table: accuracy, not F1
        if self.val is not None:
            # the table keeps to a few columns (metrics.jsonl has them all); with an mse
            # loss, val_mse would repeat val_loss
            shown = {"val_loss", "val_accuracy", "val_r2"}
            if self.cfg.loss.type != "mse":
                shown.add("val_mse")
            keys += [k for k in self.val_keys() if k in shown]
        params = self.learned_params()
        return RunStart(
            name=self.cfg.name,
            run_dir=run.path,
            device=describe_device(self.cfg.device, self.device) + self.world.describe(),
            model=describe_model(model, self.cfg.model.type),
            parameters=parameter_count(model),
            task=data.task,
            train_size=len(data.y_train),
            val_size=len(data.y_val),
            features=features,
            epochs=self.cfg.train.epochs,
            start_epoch=self.epoch,
            steps_per_epoch=len(self.batches),
            metric_keys=tuple(keys),
            param_keys=tuple(params or ()),
            resumed_from=resumed_from,
        )


def train(
    cfg: ExperimentConfig,
    *,
    config_path: Path | None = None,
    output_dir: Path | None = None,
    resume: Path | None = None,
    reporters: list[Reporter] | None = None,
    painter: Painter | None = None,
) -> RunResult:
    """Train CFG into a new run directory, or continue the run RESUME points at.

    REPORTERS hear every event (the verb hands in the console and logs); PAINTER draws plots/
    when given.

    Under mpirun every rank calls this: rank 0 prints and writes the run directory, and a
    user error is raised on every rank but printed once.
    """
    world, device_name = parallel.join(cfg.device)
    try:
        return _train(cfg, world, device_name, output_dir, resume, reporters or [], painter)
    except UserError as error:
        if world.distributed and isinstance(error, TrainingInterruptedError):
            # the launcher that forwarded the signal sets the job's status (128 + signal);
            # a non-zero rank would make mpirun abort the job before the others finish
            error.exit_code = 0
        if world.is_main or isinstance(error, parallel.QuietExitError):
            raise
        # every rank diverges at the same step: let rank 0 write, report and set the status
        lockstep = isinstance(error, TrainingDivergedError | TrainingInterruptedError)
        raise parallel.QuietExitError(0 if lockstep else error.exit_code) from None


def _train(
    cfg: ExperimentConfig,
    world: parallel.World,
    device_name: str,
    output_dir: Path | None,
    resume: Path | None,
    reporters: list[Reporter],
    painter: Painter | None,
) -> RunResult:
    """train() on this rank of WORLD."""
    saved, source = world.agreed(lambda: resume_point(resume, stored_config(cfg), cfg))
    emit = Broadcast(reporters if world.is_main else [])  # the other ranks say nothing
    resolve_device(device_name)  # a missing GPU is one clear line, not a traceback
    with default_device(device_name) as device:

        def setup() -> Loop:
            engine.random.seed(cfg.seed)  # before build(): model initialisation draws from it
            loop = Loop(cfg, build(cfg), device, emit, world)
            if saved is not None:
                loop.restore(saved)
            return loop

        loop = world.agreed(setup)
        world.broadcast_state(loop.built.model)  # every rank starts from rank 0's weights
        world.split_random()
        locks: list[RunLock] = []
        try:
            run = world.agreed(
                lambda: open_run(world, cfg, source, output_dir, loop.history, locks)
            )
            return loop.run(run, source, draw=painter if world.is_main else None)
        finally:
            for lock in locks:
                lock.release()
