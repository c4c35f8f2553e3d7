"""The workloads in our engine, written against its MegEngine-style API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import engine as mge
import engine.functional as F
from benchmarks.case import Case, UnavailableError, Values, no_sync, training_case
from benchmarks.spec import (
    W1_LR,
    W3_LR,
    W3_MOMENTUM,
    W5_LR,
    W5_MOMENTUM,
    plan_for,
    state_dict,
)
from engine.autodiff import GradManager
from engine.core.allocator import tune_allocator
from engine.optimizer import SGD

tune_allocator()  # as mgectl does: the engine's per-step temporaries recycle heap blocks


Data = dict[str, np.ndarray]


def version() -> str:
    """engine.__version__."""
    return mge.__version__


def _select_device(device: str) -> Callable[[], None]:
    """Make `device` the default for new tensors; return the matching synchronise function."""
    if device == "gpu0" and not mge.is_cuda_available():
        raise UnavailableError("the engine sees no GPU (CuPy missing or no CUDA device)")
    try:
        mge.set_default_device(device)
    except (RuntimeError, ValueError) as exc:
        raise UnavailableError(f"the engine cannot use {device}: {exc}") from exc
    if device == "gpu0":
        import cupy

        return cupy.cuda.runtime.deviceSynchronize
    return no_sync


def _to_host(t: Any) -> np.ndarray:
    """A tensor's value as a NumPy array."""
    return np.asarray(t.numpy())


Wrap = Callable[[Callable[[], Any]], Callable[[], Any]]


def _as_is(step: Callable[[], Any]) -> Callable[[], Any]:
    return step


def _train_case(
    model: Any,
    workload: str,
    data: Data,
    lr: float,
    momentum: float,
    sync: Callable[[], None],
    wrap: Wrap = _as_is,
) -> Case:
    """Load the shared weights, then one cross-entropy SGD step per call."""
    model.load_state_dict(state_dict(data, workload))
    prefix = workload.lower()
    x, label = mge.tensor(data[f"{prefix}.x"]), mge.tensor(data[f"{prefix}.label"])
    params = list(model.parameters())
    gm = GradManager().attach(params)
    opt = SGD(params, lr=lr, momentum=momentum)
    cross_entropy = F.loss.cross_entropy

    def step() -> Any:
        """Forward, backward, update, clear."""
        with gm:
            loss = cross_entropy(model(x), label)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    return training_case(wrap(step), lambda loss: loss.item(), sync)


def w1(data: Data, sync: Callable[[], None], wrap: Wrap = _as_is) -> Case:
    """The tutorial's linear regression: F.mul(w, x) + b, square loss, SGD."""
    x, y = mge.tensor(data["w1.x"]), mge.tensor(data["w1.y"])
    w, b = mge.Parameter(data["w1.w"]), mge.Parameter(data["w1.b"])
    gm = GradManager().attach([w, b])
    opt = SGD([w, b], lr=W1_LR)
    mul, square_loss = F.mul, F.loss.square_loss

    def step() -> Any:
        """Forward, backward, update, clear."""
        with gm:
            loss = square_loss(mul(w, x) + b, y)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    return training_case(wrap(step), lambda loss: loss.item(), sync)


def w2(data: Data, recorded: bool, ops: int) -> Case:
    """`a + b` on (4,) tensors, outside any recording or inside one with `a` attached."""
    a, b = mge.tensor(data["w2.a"]), mge.tensor(data["w2.b"])
    gm = GradManager().attach([a]) if recorded else None

    def add_many() -> Any:
        """`ops` additions; returns the last sum."""
        c = a
        for _ in range(ops):
            c = a + b
        return c

    def step() -> Any:
        """The additions, recorded when asked."""
        if gm is None:
            return add_many()
        with gm:
            return add_many()

    def probe() -> Values:
        """The sum, and d(sum . dy)/da when recorded."""
        if gm is None:
            return {"c": _to_host(a + b)}
        with gm:
            c = a + b
            gm.backward(c, mge.tensor(data["w2.dy"]))
        values = {"c": _to_host(c), "grad_a": _to_host(a.grad)}
        a.grad = None
        return values

    return Case(step=step, probe=probe)


def w4(data: Data, sync: Callable[[], None]) -> Case:
    """F.matmul(x, w), backward with a fixed dy; gradients are dropped after each step."""
    x, w = mge.Parameter(data["w4.x"]), mge.Parameter(data["w4.w"])
    dy = mge.tensor(data["w4.dy"])
    gm = GradManager().attach([x, w])
    matmul = F.matmul

    def step() -> Any:
        """Forward and backward to both inputs."""
        x.grad = w.grad = None
        with gm:
            y = matmul(x, w)
            gm.backward(y, dy)
        return y

    def probe() -> Values:
        """Output and both gradients."""
        y = step()
        return {"y": _to_host(y), "grad_x": _to_host(x.grad), "grad_w": _to_host(w.grad)}

    return Case(step=step, probe=probe, sync=sync)


def build(
    workload: str, data: Data, device: str = "cpu0", quick: bool = False, wrap: Wrap = _as_is
) -> Case:
    """The engine's Case of `workload` on `device` ('cpu0' or 'gpu0'); `wrap` wraps a step."""
    sync = _select_device(device)
    if workload == "W1":
        return w1(data, sync, wrap)
    if workload in ("W2a", "W2b"):
        return w2(data, workload == "W2b", plan_for(workload, quick).ops_per_step)
    if workload == "W4":
        return w4(data, sync)
    from benchmarks import engine_models  # engine.module: only the model workloads need it

    if workload == "W3":
        dims = (data["w3.x"].shape[1], *(data[f"w3.fc{i}.weight"].shape[0] for i in (1, 2, 3)))
        model = engine_models.MLP(dims)
        return _train_case(model, "W3", data, W3_LR, W3_MOMENTUM, sync, wrap)
    if workload == "W5":
        return _train_case(engine_models.LeNet(), "W5", data, W5_LR, W5_MOMENTUM, sync, wrap)
    raise ValueError(f"unknown workload {workload!r}")
