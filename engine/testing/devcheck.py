"""Run the same computation on two devices and compare: the harness of the device test suites.

tests/engine/device (on the simulated `sim0`) and tests/gpu (on `gpu0`) both use it, and
so does scripts/gpu_check.sh. Every registered primitive is run on its sample inputs
forward and backward through a GradManager on `cpu0` and on the device under test; the
results must agree. Device-to-host copies are forbidden while a case runs (this only
bites on the simulated device, which can count them).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from ..autodiff.grad_manager import GradManager
from ..core.device import Device, as_device, put
from ..core.op import REGISTRY, Primitive
from ..tensor import Parameter, Tensor, apply
from .simulated import no_host_transfers

__all__ = [
    "compare_primitive",
    "primitives_with_samples",
    "run_case",
    "train_linear",
    "train_mlp",
    "available_optimizers",
]


def primitives_with_samples() -> list[str]:
    """Names of the registered primitives that have sample inputs, sorted."""
    from .. import ops  # noqa: F401  (importing the ops fills the registry)

    return sorted(name for name, prim in REGISTRY.items() if prim.samples is not None)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _on_device(value: Any, device: Device) -> Any:
    """Sample parameters as a kernel on `device` sees them: arrays moved, devices replaced."""
    if isinstance(value, np.ndarray):
        return put(value, device)
    if isinstance(value, Device):
        return device
    if isinstance(value, tuple):
        return tuple(_on_device(v, device) for v in value)
    if isinstance(value, list):
        return [_on_device(v, device) for v in value]
    return value


def run_case(
    prim: Primitive, inputs: tuple, params: dict, device: Any, seed: int = 0
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Forward (and, if differentiable, backward for a seeded cotangent) of one sample case.

    Returns the output and the gradient of every input (None where there is none), on the host.
    """
    dev = as_device(device)
    tensors = [
        Tensor(x, dtype=np.asarray(x).dtype, device=dev) if x is not None else None for x in inputs
    ]
    params = {k: _on_device(v, dev) for k, v in params.items()}
    diff = [t for t in tensors if t is not None and t.dtype.kind == "f"]
    gm = GradManager().attach(diff)
    with gm:
        with no_host_transfers():
            out = apply(prim, *tensors, **params)
        if prim.differentiable and diff and out.dtype.kind == "f":
            cot = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
            dy = Tensor(cot, dtype=cot.dtype, device=dev)
            with no_host_transfers():
                gm.backward(out, dy)
    _check_place(prim.name, "output", out, dev)
    grads: list[np.ndarray | None] = []
    for t in tensors:
        if t is None or t.grad is None:
            grads.append(None)
        else:
            _check_place(prim.name, "gradient", t.grad, dev)
            grads.append(t.grad.numpy())
    return out.numpy(), grads


def _check_place(name: str, what: str, t: Tensor, dev: Device) -> None:
    """The array must be of the device's own kind (a kernel returning host data is a bug)."""
    if not same_kind(t._data, dev):
        raise AssertionError(
            f"{name}: the {what} is a {type(t._data).__name__}, not an array of {dev} "
            f"(a kernel built it with NumPy or moved it to the host)"
        )


def same_kind(array: Any, device: Device) -> bool:
    """Whether `array` is of the type `device`'s namespace makes (0-d arrays included)."""
    if device.xp is np:
        return True  # NumPy reductions give NumPy scalars, which the CPU backend accepts
    return isinstance(array, device.xp.ndarray)


def compare_primitive(
    name: str,
    device: Any,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    reference: str = "cpu0",
    dtype: str | None = None,
) -> int:
    """Run every sample case of primitive `name` on `device` and `reference`; return the count.

    Float inputs are cast to `dtype` when given (samples come in float64). Raises
    AssertionError naming the primitive, the case and what differs.
    """
    prim = REGISTRY[name]
    cases = prim.samples(_rng(name)) if prim.samples is not None else []
    for i, (inputs, params) in enumerate(cases):
        if dtype is not None:
            inputs = tuple(_cast(x, dtype) for x in inputs)
        want_out, want_grads = run_case(prim, inputs, params, reference, seed=i)
        got_out, got_grads = run_case(prim, inputs, params, device, seed=i)
        where = f"{name} case {i} on {device}"
        _assert_close(got_out, want_out, rtol, atol, f"{where}: output")
        for k, (g, w) in enumerate(zip(got_grads, want_grads, strict=True)):
            if (g is None) != (w is None):
                raise AssertionError(f"{where}: gradient of input {k} is {g} vs {w} on cpu0")
            if g is not None:
                _assert_close(g, w, rtol, atol, f"{where}: gradient of input {k}")
    return len(cases)


def _cast(x: Any, dtype: str) -> Any:
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(dtype)
    return x


def _assert_close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float, what: str) -> None:
    if got.shape != want.shape or got.dtype != want.dtype:
        raise AssertionError(
            f"{what}: {got.dtype}{list(got.shape)} vs {want.dtype}{list(want.shape)} on cpu0"
        )
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


# ---- short training runs ------------------------------------------------------------------


def _regression_data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3
    return x, y.astype(np.float32)


def _blobs(n: int = 96, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, classes, n)
    centres = rng.normal(scale=3.0, size=(classes, 4))
    x = centres[labels] + rng.normal(size=(n, 4))
    return x.astype(np.float32), labels.astype(np.int32)


def _init(shape: tuple, scale: float, seed: int, device: Device) -> Parameter:
    host = np.random.default_rng(seed).normal(scale=scale, size=shape).astype(np.float32)
    return Parameter(host, device=device)


def train_linear(device: Any, steps: int = 20, batch: int = 16) -> dict[str, Any]:
    """Linear regression with SGD (momentum, weight decay) on `device`; losses and weights."""
    import engine.functional as F
    from engine.optimizer import SGD

    dev = as_device(device)
    x, y = _regression_data()
    w, b = _init((1, 3), 0.1, 0, dev), _init((1,), 0.1, 1, dev)
    opt = SGD([w, b], lr=0.05, momentum=0.9, weight_decay=1e-4)
    gm = GradManager().attach([w, b])
    losses = []
    for step in range(steps):
        lo = step * batch % len(x)
        xb = Tensor(x[lo : lo + batch], device=dev)  # one upload per batch
        yb = Tensor(y[lo : lo + batch], device=dev)
        with no_host_transfers():
            with gm:
                loss = F.nn.square_loss(F.nn.linear(xb, w, b), yb)
                gm.backward(loss)
            opt.step().clear_grad()
        losses.append(loss.item())
    return {"losses": losses, "params": [w.numpy(), b.numpy()]}


# Hyper-parameters per optimizer for the MLP run (only those engine.optimizer has are used).
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
    "Adam": {"lr": 0.01, "weight_decay": 1e-4},
    "AdamW": {"lr": 0.01, "weight_decay": 0.01},
    "RMSprop": {"lr": 0.01, "momentum": 0.5},
    "Adagrad": {"lr": 0.1},
}


def available_optimizers() -> list[str]:
    """The names in OPTIMIZERS that engine.optimizer provides."""
    import engine.optimizer as optim

    return [name for name in OPTIMIZERS if hasattr(optim, name)]


def train_mlp(device: Any, optimizer: str = "Adam", steps: int = 20, batch: int = 32) -> dict:
    """A 4-16-3 ReLU MLP with cross entropy on `device`; losses and weights."""
    import engine.functional as F
    import engine.optimizer as optim

    dev = as_device(device)
    x, labels = _blobs()
    params = [
        _init((16, 4), 0.5, 3, dev),
        _init((16,), 0.1, 4, dev),
        _init((3, 16), 0.5, 5, dev),
        _init((3,), 0.1, 6, dev),
    ]
    opt = getattr(optim, optimizer)(params, **OPTIMIZERS[optimizer])
    gm = GradManager().attach(params)
    losses = []
    for step in range(steps):
        lo = step * batch % len(x)
        xb = Tensor(x[lo : lo + batch], device=dev)
        yb = Tensor(labels[lo : lo + batch], device=dev)
        with no_host_transfers():
            with gm:
                hidden = F.relu(F.nn.linear(xb, params[0], params[1]))
                logits = F.nn.linear(hidden, params[2], params[3])
                loss = F.nn.cross_entropy(logits, yb)
                gm.backward(loss)
            opt.step().clear_grad()
        losses.append(loss.item())
    return {"losses": losses, "params": [p.numpy() for p in params], "optimizer": opt}


# ---- `python -m engine.testing.devcheck --device gpu0`: scripts/gpu_check.sh's training smoke ----


def main(argv: list[str] | None = None) -> int:
    """Train the linear and MLP runs on --device and on cpu0; print them; 1 if they differ."""
    import argparse
    import time

    parser = argparse.ArgumentParser(
        prog="python -m engine.testing.devcheck", description=main.__doc__
    )
    parser.add_argument("--device", default="gpu0", help="device under test (default gpu0)")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run")
    parser.add_argument("--rtol", type=float, default=1e-3, help="allowed relative difference")
    args = parser.parse_args(argv)
    if args.device.startswith("sim"):
        from . import simulated

        simulated.install()
    dev = as_device(args.device)
    namespace = getattr(dev.xp, "__name__", type(dev.xp).__name__)
    version = getattr(dev.xp, "__version__", "")
    print(f"device {dev!r} on {namespace} {version}".rstrip())
    runs = [("linear+SGD", lambda d: train_linear(d, args.steps))]
    runs += [
        (f"mlp+{o}", lambda d, o=o: train_mlp(d, o, args.steps)) for o in available_optimizers()
    ]
    failed = 0
    for label, run in runs:
        run(dev)  # the first run compiles CuPy's kernels; time the second
        start = time.perf_counter()
        got = run(dev)
        seconds = time.perf_counter() - start
        want = run("cpu0")
        diffs = [
            np.max(np.abs(g - w) / (np.abs(w) + 1e-3))
            for g, w in zip(got["params"], want["params"], strict=True)
        ]
        loss_diff = np.max(np.abs(np.subtract(got["losses"], want["losses"])))
        ok = max(diffs) <= args.rtol * 10 and loss_diff <= args.rtol * max(
            1.0, abs(want["losses"][0])
        )
        failed += not ok
        print(
            f"{label:<14} loss {got['losses'][0]:.4f} -> {got['losses'][-1]:.4f} in {args.steps} "
            f"steps, {1000 * seconds / args.steps:.2f} ms/step; vs cpu0: loss diff "
            f"{loss_diff:.2e}, param rel diff {max(diffs):.2e}  {'OK' if ok else 'MISMATCH'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
