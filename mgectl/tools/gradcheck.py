"""Gradient check of a whole experiment: the config's loss on a small batch, one row per parameter.

`check_config(cfg)` builds the config's data, model and loss exactly as ``mgectl train`` does
(same seed, same initialisation), casts every parameter and buffer to float64 (or the `dtype`
asked for), takes a small seeded batch of training rows and hands the loss on that batch to
`engine.autodiff.check.check_parameters`, which owns the comparison (central differences,
kinks, tolerances, sampled entries). This module is only the glue from a config to that call.

Dropout layers are put in eval mode (dropout draws a new mask on every forward, so the loss
would be random); batch norm stays in training mode, which is deterministic given the batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import engine.module as M
import engine.random
from engine import Tensor
from engine.autodiff.check import (
    ParameterChecks,
    cast_in_place,
    check_parameters,
    json_float,
)
from engine.core.device import default_device
from mgectl.build.builder import build
from mgectl.build.models import describe_model
from mgectl.config.experiment import ExperimentConfig
from mgectl.train.device import describe_device, resolve_device

DEFAULT_ENTRIES = 32
DEFAULT_BATCH = 8


@dataclass(kw_only=True)
class ConfigCheck(ParameterChecks):
    """What `check_config` found: check_parameters' result plus the setting it ran in."""

    model: str  # describe_model's one-line summary
    loss_type: str
    rows: int  # batch rows
    device: str
    dtype: str
    seed: int
    max_entries: int
    dropout_layers: int = 0  # Dropout modules put in eval mode
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the --json report without the config path)."""
        return {
            "passed": self.passed,
            "model": self.model,
            "loss": {"type": self.loss_type, "value": json_float(self.loss)},
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


def check_config(
    cfg: ExperimentConfig,
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
    started = time.perf_counter()
    resolve_device(cfg.device)  # a missing GPU is one clear line, not a traceback
    with default_device(cfg.device) as device:
        engine.random.seed(cfg.seed)  # the model train would start from
        built = build(cfg)
        model, loss_fn = built.model, built.loss
        model.train()
        dropout = disable_dropout(model)
        cast_in_place(model.tensors(), dtype)
        xb, yb = sample_batch(built.data.x_train, built.data.y_train, batch, seed, dtype)
        x = Tensor(xb, dtype=xb.dtype, device=device)
        y = Tensor(yb, dtype=yb.dtype, device=device)
        found = check_parameters(
            lambda: loss_fn(model(x), y),
            model.named_parameters(),
            eps=eps,
            atol=atol,
            rtol=rtol,
            seed=seed,
            entries=entries,
        )
    return ConfigCheck(
        model=describe_model(model, cfg.model.type),
        loss_type=cfg.loss.type,
        loss=found.loss,
        rows=len(xb),
        device=describe_device(cfg.device, device),
        dtype=dtype,
        eps=found.eps,
        atol=found.atol,
        rtol=found.rtol,
        seed=seed,
        max_entries=entries,
        dropout_layers=dropout,
        parameters=found.parameters,
        seconds=time.perf_counter() - started,
    )
