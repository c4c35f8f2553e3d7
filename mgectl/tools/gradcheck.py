"""Gradient check of a whole experiment: the config's loss on a small batch, one row per parameter.

`check_config(cfg)` builds the config's data, model and loss exactly as ``mgectl train`` does
(same seed, same initialisation), casts every parameter and buffer to float64 (or the `dtype`
asked for), takes a small seeded batch of training rows and compares, for each named
parameter, the analytic gradient of one GradManager backward with central differences of the
loss at up to `entries` sampled elements (all of them when the parameter is smaller). An
element passes on check.py's rule, |analytic - numeric| <= atol + rtol * |numeric|.

Dropout layers are put in eval mode (dropout draws a new mask on every forward, so the loss
would be random); batch norm stays in training mode, which is deterministic given the batch.

Kinks: ReLU and max pooling are not differentiable where an input is exactly 0 or tied, and
images with a plain background put zero-initialised conv biases right there. At such an
element the central difference averages the two one-sided slopes, so an element that fails
the central comparison while the one-sided slopes disagree (a slope jump) and the analytic
value matches one of them counts as checked on a kink, compared with that one-sided slope.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import engine.module as M
import engine.random
from engine import Tensor
from engine.autodiff.check import DEFAULT_TOLERANCES, compare
from engine.autodiff.grad_manager import GradManager
from mgectl.build.builder import build
from mgectl.build.models import describe_model
from mgectl.train.device import describe_device, on_device

DEFAULT_ENTRIES = 32
DEFAULT_BATCH = 8


def _json_float(x: float) -> float | str | None:
    """NaN -> None and infinities -> 'inf'/'-inf', so the report is valid JSON."""
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


@dataclass
class ParameterCheck:
    """How one parameter's analytic gradient compared with central differences."""

    name: str
    shape: tuple[int, ...]
    size: int
    entries: int = 0  # elements compared
    kinks: int = 0  # of those, elements on a kink (compared with a one-sided slope)
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple[int, ...] | None = None
    analytic: float = math.nan
    numeric: float = math.nan
    seconds: float = 0.0
    passed: bool = True

    @property
    def status(self) -> str:
        """'pass' or 'FAIL'."""
        return "pass" if self.passed else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "parameter": self.name,
            "shape": list(self.shape),
            "size": self.size,
            "entries": self.entries,
            "kinks": self.kinks,
            "max_abs_error": _json_float(self.max_abs),
            "max_rel_error": _json_float(self.max_rel),
            "worst_index": None if self.worst_index is None else list(self.worst_index),
            "analytic": _json_float(self.analytic),
            "numeric": _json_float(self.numeric),
            "seconds": round(self.seconds, 4),
            "passed": self.passed,
        }


@dataclass
class ConfigCheck:
    """Everything `check_config` found: the setting and one ParameterCheck per parameter."""

    model: str  # describe_model's one-line summary
    loss_type: str
    loss: float  # the loss on the batch at the initial parameters
    rows: int  # batch rows
    device: str
    dtype: str
    eps: float
    atol: float
    rtol: float
    seed: int
    max_entries: int
    dropout_layers: int = 0  # Dropout modules put in eval mode
    parameters: list[ParameterCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether every parameter's gradient matched."""
        return all(p.passed for p in self.parameters)

    @property
    def failed(self) -> list[str]:
        """Names of the parameters whose gradient did not match."""
        return [p.name for p in self.parameters if not p.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the --json report without the config path)."""
        return {
            "passed": self.passed,
            "model": self.model,
            "loss": {"type": self.loss_type, "value": _json_float(self.loss)},
            "batch": self.rows,
            "device": self.device,
            "dtype": self.dtype,
            "eps": self.eps,
            "atol": self.atol,
            "rtol": self.rtol,
            "seed": self.seed,
            "max_entries": self.max_entries,
            "dropout_layers_in_eval_mode": self.dropout_layers,
            "seconds": round(self.seconds, 4),
            "summary": {
                "checked": len(self.parameters),
                "passed": len(self.parameters) - len(self.failed),
                "failed": self.failed,
                "entries": sum(p.entries for p in self.parameters),
                "kinks": sum(p.kinks for p in self.parameters),
            },
            "parameters": [p.to_dict() for p in self.parameters],
        }


def cast_module(module: M.Module, dtype: str) -> int:
    """Convert MODULE's float parameters and buffers to DTYPE in place; return how many changed.

    The Parameter objects stay the same (optimizers and GradManagers holding them keep
    working); only their arrays are replaced. Integer buffers are left alone.
    """
    changed = 0
    for tensor in module.tensors():
        if tensor.dtype.kind == "f" and tensor.dtype != np.dtype(dtype):
            tensor._data = tensor._data.astype(dtype)
            changed += 1
    return changed


def disable_dropout(model: M.Module) -> int:
    """Put every Dropout layer in eval mode (identity) and return how many there are."""
    layers = [m for m in model.modules() if isinstance(m, M.Dropout)]
    for layer in layers:
        layer.train(False)
    return len(layers)


def sample_batch(
    x: np.ndarray, y: np.ndarray, rows: int, seed: int, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """ROWS distinct training rows drawn with SEED; float features and targets cast to DTYPE."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(x), size=min(rows, len(x)), replace=False))
    xb, yb = x[idx].astype(dtype), y[idx]
    return xb, (yb.astype(dtype) if yb.dtype.kind == "f" else yb)


def sample_entries(name: str, size: int, k: int, seed: int) -> np.ndarray:
    """Sorted flat indices to check: all when SIZE <= K, else K drawn by (seed, name)."""
    if size <= k:
        return np.arange(size)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return np.sort(rng.choice(size, size=k, replace=False))


def _slopes(
    loss_at: Any, data: Any, index: tuple[int, ...], eps: float, base: float
) -> tuple[float, float, float]:
    """(central, right, left) difference quotients of the loss in one element of DATA."""
    orig = data[index].copy()
    data[index] = orig + eps
    plus = loss_at()
    data[index] = orig - eps
    minus = loss_at()
    data[index] = orig
    return (plus - minus) / (2 * eps), (plus - base) / eps, (base - minus) / eps


def kink_slope(
    analytic: float, central: float, right: float, left: float, atol: float, rtol: float
) -> float | None:
    """The one-sided slope to compare with when the element sits on a kink, else None."""
    tol = atol + rtol * abs(central)
    if abs(analytic - central) <= tol or abs(right - left) <= tol:
        return None  # the central difference agrees, or there is no slope jump
    side = min((right, left), key=lambda s: abs(analytic - s))
    return side if abs(analytic - side) <= atol + rtol * abs(side) else None


def check_parameter(
    name: str,
    param: Tensor,
    grad: np.ndarray,
    loss_at: Any,
    base: float,
    *,
    indices: np.ndarray,
    eps: float,
    atol: float,
    rtol: float,
) -> ParameterCheck:
    """Compare GRAD (the analytic gradient) with central differences of LOSS_AT at INDICES."""
    started = time.perf_counter()
    shape = tuple(int(n) for n in param.shape)
    row = ParameterCheck(name, shape, int(param.size), entries=len(indices))
    analytic = np.empty(len(indices))
    numeric = np.empty(len(indices))
    data = param._data  # perturbed in place and restored element by element
    for i, flat in enumerate(indices):
        index = tuple(int(j) for j in np.unravel_index(int(flat), shape))
        a = float(grad[index])
        central, right, left = _slopes(loss_at, data, index, eps, base)
        side = kink_slope(a, central, right, left, atol, rtol)
        row.kinks += int(side is not None)
        analytic[i], numeric[i] = a, central if side is None else side
    if len(indices):
        found = compare(analytic, numeric, atol, rtol, name=name)
        worst = int(indices[found.worst_index[0]])
        row.max_abs, row.max_rel, row.passed = found.max_abs, found.max_rel, found.passed
        row.worst_index = tuple(int(j) for j in np.unravel_index(worst, shape))
        row.analytic, row.numeric = found.analytic, found.numeric
    row.seconds = time.perf_counter() - started
    return row


def check_config(
    cfg: Any,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    entries: int = DEFAULT_ENTRIES,
    batch: int = DEFAULT_BATCH,
    dtype: str = "float64",
) -> ConfigCheck:
    """Check the gradient of CFG's loss with respect to every model parameter (see module doc)."""
    if entries < 1 or batch < 1:
        raise ValueError(f"entries and batch must be >= 1, got {entries} and {batch}")
    d_eps, d_atol, d_rtol = DEFAULT_TOLERANCES[dtype]
    eps = d_eps if eps is None else eps
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    started = time.perf_counter()
    with on_device(cfg.device) as device:
        engine.random.seed(cfg.seed)  # the model train would start from
        built = build(cfg)
        model, loss_fn = built.model, built.loss
        model.train()
        dropout = disable_dropout(model)
        cast_module(model, dtype)
        xb, yb = sample_batch(built.data.x_train, built.data.y_train, batch, seed, dtype)
        x = Tensor(xb, dtype=xb.dtype, device=device)
        y = Tensor(yb, dtype=yb.dtype, device=device)
        named = list(model.named_parameters())

        gm = GradManager().attach([p for _, p in named])
        with gm:
            loss = loss_fn(model(x), y)
            gm.backward(loss)
        grads = {
            n: np.zeros(p.shape) if p.grad is None else p.grad.numpy().astype(np.float64)
            for n, p in named
        }

        def loss_at() -> float:
            return float(loss_fn(model(x), y).numpy())

        base = loss_at()
        result = ConfigCheck(
            model=describe_model(model, cfg.model.type),
            loss_type=cfg.loss.type,
            loss=base,
            rows=len(xb),
            device=describe_device(cfg.device, device),
            dtype=dtype,
            eps=eps,
            atol=atol,
            rtol=rtol,
            seed=seed,
            max_entries=entries,
            dropout_layers=dropout,
        )
        for name, param in named:
            indices = sample_entries(name, int(param.size), entries, seed)
            result.parameters.append(
                check_parameter(
                    name,
                    param,
                    grads[name],
                    loss_at,
                    base,
                    indices=indices,
                    eps=eps,
                    atol=atol,
                    rtol=rtol,
                )
            )
    result.seconds = time.perf_counter() - started
    return result
