"""The training loop without the CLI: the tutorial's numbers, run files, determinism, failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from mgectl_support import REPO
from trainer_support import (
    STATEFUL,
    InterruptAt,
    metrics_of,
    only_run,
    quiet_console,
    run,
    train,
    weights,
)

import engine as mge
from engine import serialization
from engine.data.synthetic import linear
from mgectl.config.experiment import load_config, resolved_dict
from mgectl.errors import TrainingDivergedError, TrainingInterruptedError, UserError
from mgectl.train.events import CheckpointSaved, EpochEnd, RunEnd, RunStart, StepEnd

LINEAR = REPO / "configs" / "linear_regression.yaml"


def tutorial_numpy_loop(data: np.ndarray, label: np.ndarray, epochs: int, lr: float) -> list:
    """The tutorial's NumPy exercise, line for line: (w, b, loss) after each epoch."""
    w, b, n = 0, 0, len(data)
    history = []
    for _ in range(epochs):
        loss, sum_grad_w, sum_grad_b = 0, 0, 0
        for i in range(n):
            pred = w * data[i] + b
            loss += (pred - label[i]) ** 2
            sum_grad_w += 2 * (pred - label[i]) * data[i]
            sum_grad_b += 2 * (pred - label[i])
        loss, grad_w, grad_b = loss / n, sum_grad_w / n, sum_grad_b / n
        w, b = w - lr * grad_w, b - lr * grad_b
        history.append((w, b, loss))
    return history


def test_linear_regression_config_is_the_tutorial_exercise(tmp_path: Path) -> None:
    cfg = load_config(LINEAR)
    data = linear(n=cfg.data.n, noise=cfg.data.noise, seed=cfg.data.seed)
    expected = tutorial_numpy_loop(data.x, data.y, cfg.train.epochs, cfg.optimizer.lr)
    result = run(LINEAR, out=tmp_path)
    assert len(result.history) == 5
    for record, (w, b, loss) in zip(result.history, expected, strict=True):
        assert record["w"] == pytest.approx(w, rel=1e-5)
        assert record["b"] == pytest.approx(b, rel=1e-5)
        assert record["train_loss"] == pytest.approx(loss, rel=1e-5)
    assert expected[-1][2] < expected[0][2] / 100  # it learns, as in the tutorial


def test_linear_regression_prints_the_tutorial_lines(tmp_path: Path) -> None:
    console = quiet_console()
    result = run(LINEAR, out=tmp_path, console=console)
    text = console.file.getvalue()
    for record in result.history:
        line = (
            f"epoch = {record['epoch']}, w = {record['w']:.3f}, b = {record['b']:.3f}, "
            f"loss = {record['train_loss']:.3f}"
        )
        assert line in text
    assert "device   xpux -> cpu0" in text or "device   xpux -> gpu0" in text


def test_run_directory_contents(tmp_path: Path) -> None:
    result = run(LINEAR, out=tmp_path, plots=True)
    run_dir = only_run(tmp_path, "linear_regression")
    assert result.run_dir == run_dir
    files = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert files == {
        "config.resolved.yaml",
        "metrics.jsonl",
        "state.json",
        ".lock",
        "evaluation.json",
        "checkpoints/last.npz",
        "checkpoints/best.npz",
        "plots/loss.png",
        "plots/fit.png",
    }
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    assert state["state"] == "completed"
    assert (state["epochs_done"], state["epochs"]) == (5, 5)
    assert state["device"] in ("xpux -> cpu0", "xpux -> gpu0")
    for png in ("loss", "fit"):
        assert (run_dir / "plots" / f"{png}.png").read_bytes().startswith(b"\x89PNG")
    resolved = yaml.safe_load((run_dir / "config.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved == resolved_dict(load_config(LINEAR))
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == [0, 1, 2, 3, 4]
    assert list(records[0]) == ["epoch", "train_loss", "w", "b", "lr", "seconds"]
    assert records == result.history


def test_run_ids_are_unique(tmp_path: Path) -> None:
    first = run(LINEAR, out=tmp_path).run_dir
    second = run(LINEAR, out=tmp_path).run_dir
    assert first != second and first.parent == second.parent
    assert sorted([first, second]) == [first, second], "ids sort by start time"


def test_same_config_and_seed_give_identical_metrics(
    tmp_path: Path, write_config: Callable
) -> None:
    path = write_config(STATEFUL)
    a = run(path, out=tmp_path / "a").run_dir
    b = run(path, out=tmp_path / "b").run_dir
    assert metrics_of(a) == metrics_of(b)
    assert len(metrics_of(a)) == 6


def test_seed_changes_the_run(tmp_path: Path, write_config: Callable) -> None:
    path = write_config(STATEFUL)
    a = run(path, out=tmp_path / "a").run_dir
    b = run(path, "seed=4", out=tmp_path / "b").run_dir
    assert metrics_of(a) != metrics_of(b)


def test_events_arrive_in_order(tmp_path: Path, write_config: Callable) -> None:
    events: list = []
    run(write_config(STATEFUL), "train.checkpoint_every=3", out=tmp_path, reporters=[events.append])
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStart" and kinds[-1] == "RunEnd"
    start: RunStart = events[0]
    assert (start.train_size, start.val_size, start.steps_per_epoch) == (90, 30, 6)
    assert start.metric_keys == ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
    steps = [e for e in events if isinstance(e, StepEnd)]
    assert len(steps) == 6 * 6 and steps[0].step == 1 and steps[-1].steps == 6
    saves = [(e.kind, e.epochs_done) for e in events if isinstance(e, CheckpointSaved)]
    assert ("last", 3) in saves and ("last", 6) in saves
    end: RunEnd = events[-1]
    assert (end.status, end.epochs_done) == ("completed", 6)


def test_log_every_and_eval_every(tmp_path: Path, write_config: Callable) -> None:
    events: list = []
    result = run(
        write_config(STATEFUL),
        "train.epochs=7",
        "train.log_every=3",
        "train.eval_every=3",
        out=tmp_path,
        reporters=[events.append],
    )
    logged = [e.record["epoch"] for e in events if isinstance(e, EpochEnd) and e.logged]
    assert logged == [0, 2, 5, 6]  # the first, every third, and the last
    evaluated = [r["epoch"] for r in result.history if r["val_loss"] is not None]
    assert evaluated == [2, 5, 6]
    assert all(r["val_accuracy"] is None for r in result.history if r["epoch"] not in evaluated)


def test_early_stopping_stops_and_keeps_the_best(tmp_path: Path, write_config: Callable) -> None:
    result = run(
        write_config(STATEFUL),
        "train.epochs=60",
        "optimizer.scheduler=null",
        "optimizer.lr=0.3",
        "train.early_stopping={patience: 2, monitor: val_loss}",
        out=tmp_path,
    )
    assert result.status == "early_stopped"
    assert len(result.history) < 60
    losses = [r["val_loss"] for r in result.history]
    best_epoch = int(np.argmin(losses))
    assert result.best["best_epoch"] == best_epoch
    assert len(losses) == best_epoch + 1 + 2  # patience 2: two evaluations without improvement
    saved = serialization.load(result.run_dir / "checkpoints" / "best.npz")
    assert saved["progress"]["epoch"] == best_epoch + 1


def test_nan_stops_before_the_step_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, write_config: Callable
) -> None:
    # seed 1: with seed 0 the shuffle (MegEngine's RandomState draws) leads this run to stay
    # finite (stuck at 50% accuracy) instead of overflowing
    path = write_config(
        """
        seed: 1
        data: {generator: moons, n: 64}
        model: {type: mlp, hidden: [8]}
        optimizer: {lr: 1.0e+6}
        train: {epochs: 20, batch_size: 16, checkpoint_every: 1}
        """
    )
    events: list = []
    with pytest.raises(TrainingDivergedError) as caught:
        run(path, out=tmp_path, reporters=[events.append])
    error = caught.value
    assert error.exit_code == 1
    good = [e.record for e in events if isinstance(e, EpochEnd)]
    assert error.message.startswith(f"loss became nan at epoch {len(good)}, step ")
    assert "(first non-finite gradient: 0.bias)" in error.message
    assert "lower the learning rate (optimizer.lr is 1e+06)" in (error.hint or "")
    run_dir = only_run(tmp_path, "exp")
    last = weights(run_dir)
    assert all(np.isfinite(value).all() for value in last.values())
    saved = serialization.load(run_dir / "checkpoints" / "last.npz")
    assert saved["progress"]["epoch"] == len(good)
    assert len(metrics_of(run_dir)) == len(good)
    assert events[-1].status == "diverged"


def test_an_overflowing_loss_is_caught_even_when_gradients_are_finite(
    tmp_path: Path, write_config: Callable
) -> None:
    path = write_config(
        """
        data: {generator: linear, n: 50}
        model: {type: linear}
        optimizer: {lr: 1.0}
        train: {epochs: 50, batch_size: full, shuffle: false}
        """
    )
    with pytest.raises(TrainingDivergedError, match=r"loss became inf at epoch \d+, step 1/1"):
        run(path, out=tmp_path)


def test_nan_names_the_first_parameter_whose_gradient_is_not_finite(tmp_path: Path) -> None:
    from mgectl.train.divergence import first_nonfinite

    a, b, c = mge.Parameter([1.0]), mge.Parameter([1.0, 2.0]), mge.Parameter([3.0])
    a.grad, b.grad, c.grad = mge.tensor([0.5]), mge.tensor([1.0, float("inf")]), None
    assert first_nonfinite([("a", a), ("b", b), ("c", c)]) == "b"
    b.grad = mge.tensor([1.0, 2.0])
    assert first_nonfinite([("a", a), ("b", b), ("c", c)]) is None


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(
    tmp_path: Path, write_config: Callable
) -> None:
    with pytest.raises(TrainingInterruptedError) as caught:
        run(write_config(STATEFUL), out=tmp_path, reporters=[InterruptAt(epoch=2, step=3)])
    error = caught.value
    run_dir = only_run(tmp_path, "exp")
    assert error.exit_code == 130
    assert f"mgectl train --resume {run_dir}" in (error.hint or "")
    saved = serialization.load(run_dir / "checkpoints" / "last.npz")
    assert saved["progress"]["epoch"] == 2  # the epoch it was in is redone on resume
    assert [r["epoch"] for r in metrics_of(run_dir)] == [0, 1]


def test_gpu0_without_a_gpu_is_a_user_error(tmp_path: Path) -> None:
    if mge.is_cuda_available():
        pytest.skip("this machine has a GPU")
    before = mge.get_default_device()
    with pytest.raises(UserError) as caught:
        run(LINEAR, "device=gpu0", out=tmp_path)
    assert "gpu0" in caught.value.message and "not available" in caught.value.message
    assert not (tmp_path / "linear_regression").exists()
    assert mge.get_default_device() == before


def test_cpu0_is_named_in_the_header(tmp_path: Path) -> None:
    before = mge.get_default_device()
    events: list = []
    run(LINEAR, "device=cpu0", out=tmp_path, reporters=[events.append])
    assert events[0].device == "cpu0"
    assert mge.get_default_device() == before, "the default device is restored afterwards"


def test_binary_losses_need_two_classes(tmp_path: Path, write_config: Callable) -> None:
    path = write_config(
        "data: {generator: spirals, n: 60, params: {classes: 3}}\n"
        "model: {type: mlp, hidden: [4]}\nloss: {type: hinge}\n"
    )
    with pytest.raises(UserError, match="hinge needs exactly two classes; the data has 3"):
        run(path, out=tmp_path)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "hinge"])
def test_binary_losses_train_a_one_output_head(
    loss: str, tmp_path: Path, write_config: Callable
) -> None:
    path = write_config(
        "data: {generator: moons, n: 200, noise: 0.1, val_split: 0.2}\n"
        f"model: {{type: mlp, hidden: [16]}}\nloss: {{type: {loss}}}\n"
        "optimizer: {type: adam, lr: 0.05}\ntrain: {epochs: 8}\n"
    )
    result = run(path, out=tmp_path)
    assert result.history[-1]["val_accuracy"] > 0.8


def test_training_on_a_strict_device_crosses_to_the_host_only_on_purpose(
    sim_device: object, tmp_path: Path, write_config: Callable
) -> None:
    # sim0 refuses every implicit host conversion, as CuPy does: a CPU-only slip such as
    # np.asarray(tensor) inside the loop, evaluation, checkpoints or plots fails here
    cfg = load_config(write_config(STATEFUL))
    cfg.device = "sim0"  # not a user-facing name, so set after validation
    events: list = []
    train_kwargs = {"output_dir": tmp_path, "console": quiet_console(), "plots": True}
    result = train(cfg, reporters=[events.append], **train_kwargs)
    assert result.status == "completed" and events[0].device == "sim0"
    cpu = run(write_config(STATEFUL), out=tmp_path / "cpu")
    assert metrics_of(result.run_dir) == metrics_of(cpu.run_dir)
    regression = load_config(LINEAR)
    regression.device = "sim0"
    train(regression, **train_kwargs)  # the fit plot evaluates the model on the device too
