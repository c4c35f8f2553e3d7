"""The workloads in our engine, written against its MegEngine-style API."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

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

try:
    import engine as mge
except Exception as exc:  # the engine is being written: say so plainly
    raise UnavailableError(
        f"the engine does not import: {type(exc).__name__}: {exc}", fatal=True
    ) from exc

_BASE = ("tensor", "Parameter", "autodiff.GradManager")
_TRAIN = (
    *_BASE,
    "optimizer.SGD",
    "functional.loss.cross_entropy",
    "functional.relu",
    "module.Module",
)
REQUIRES = {
    "W1": (*_BASE, "optimizer.SGD", "functional.mul", "functional.loss.square_loss"),
    "W2a": ("tensor",),
    "W2b": _BASE,
    "W3": (*_TRAIN, "module.Linear"),
    "W4": (*_BASE, "functional.matmul"),
    "W5": (
        *_TRAIN,
        "module.Linear",
        "module.Conv2d",
        "functional.max_pool2d",
        "functional.flatten",
    ),
}


def _lookup(path: str) -> Any:
    """engine.<path>, importing submodules on the way; raises ImportError when missing."""
    obj: Any = mge
    name = "engine"
    for part in path.split("."):
        name = f"{name}.{part}"
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            raise ImportError("missing") from exc
    return obj


def require(workload: str) -> None:
    """Raise UnavailableError naming each piece of engine API that `workload` needs but lacks."""
    problems = []
    for path in REQUIRES[workload]:
        try:
            _lookup(path)
        except Exception as exc:
            kind = "" if str(exc) == "missing" else f"{type(exc).__name__}: "
            problems.append(f"engine.{path}: {kind}{exc}")
    if problems:
        raise UnavailableError(
            f"the engine cannot run {workload} yet: " + "; ".join(problems), True
        )


Data = dict[str, np.ndarray]


def version() -> str:
    """engine.__version__, or 'dev' when it has none."""
    return str(getattr(mge, "__version__", "dev"))


def _select_device(device: str) -> Callable[[], None]:
    """Make `device` the default for new tensors; return the matching synchronise function."""
    if device == "gpu0":
        available = getattr(mge, "is_cuda_available", None)
        if available is not None and not available():
            raise UnavailableError("the engine sees no GPU (CuPy missing or no CUDA device)")
    setter = getattr(mge, "set_default_device", None)
    if setter is not None:
        try:
            setter(device)
        except (RuntimeError, ValueError) as exc:
            raise UnavailableError(f"the engine cannot use {device}: {exc}") from exc
    elif device != "cpu0":
        raise UnavailableError("the engine has no set_default_device")
    if device == "gpu0":
        import cupy

        return cupy.cuda.runtime.deviceSynchronize
    return no_sync


def _to_host(t: Any) -> np.ndarray:
    """A tensor's value as a NumPy array."""
    return np.asarray(t.numpy())


def _train_case(
    model: Any, workload: str, data: Data, lr: float, momentum: float, sync: Callable[[], None]
) -> Case:
    """Load the shared weights, then one cross-entropy SGD step per call."""
    model.load_state_dict(state_dict(data, workload))
    prefix = workload.lower()
    x, label = mge.tensor(data[f"{prefix}.x"]), mge.tensor(data[f"{prefix}.label"])
    params = list(model.parameters())
    gm = _lookup("autodiff.GradManager")().attach(params)
    opt = _lookup("optimizer.SGD")(params, lr=lr, momentum=momentum)
    cross_entropy = _lookup("functional.loss.cross_entropy")

    def step() -> Any:
        """Forward, backward, update, clear."""
        with gm:
            loss = cross_entropy(model(x), label)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    return training_case(step, lambda loss: loss.item(), sync)


def w1(data: Data, sync: Callable[[], None]) -> Case:
    """The tutorial's linear regression: F.mul(w, x) + b, square loss, SGD."""
    x, y = mge.tensor(data["w1.x"]), mge.tensor(data["w1.y"])
    w, b = mge.Parameter(data["w1.w"]), mge.Parameter(data["w1.b"])
    gm = _lookup("autodiff.GradManager")().attach([w, b])
    opt = _lookup("optimizer.SGD")([w, b], lr=W1_LR)
    mul, square_loss = _lookup("functional.mul"), _lookup("functional.loss.square_loss")

    def step() -> Any:
        """Forward, backward, update, clear."""
        with gm:
            loss = square_loss(mul(w, x) + b, y)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    return training_case(step, lambda loss: loss.item(), sync)


def w2(data: Data, recorded: bool, ops: int) -> Case:
    """`a + b` on (4,) tensors, outside any recording or inside one with `a` attached."""
    a, b = mge.tensor(data["w2.a"]), mge.tensor(data["w2.b"])
    gm = _lookup("autodiff.GradManager")().attach([a]) if recorded else None

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
    gm = _lookup("autodiff.GradManager")().attach([x, w])
    matmul = _lookup("functional.matmul")

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


def build(workload: str, data: Data, device: str = "cpu0", quick: bool = False) -> Case:
    """The engine's Case of `workload` on `device` ('cpu0' or 'gpu0')."""
    require(workload)
    sync = _select_device(device)
    if workload == "W1":
        return w1(data, sync)
    if workload in ("W2a", "W2b"):
        return w2(data, workload == "W2b", plan_for(workload, quick).ops_per_step)
    if workload == "W4":
        return w4(data, sync)
    from benchmarks import engine_models  # needs engine.module, checked by require()

    if workload == "W3":
        dims = (data["w3.x"].shape[1], *(data[f"w3.fc{i}.weight"].shape[0] for i in (1, 2, 3)))
        return _train_case(engine_models.MLP(dims), "W3", data, W3_LR, W3_MOMENTUM, sync)
    if workload == "W5":
        return _train_case(engine_models.LeNet(), "W5", data, W5_LR, W5_MOMENTUM, sync)
    raise ValueError(f"unknown workload {workload!r}")
