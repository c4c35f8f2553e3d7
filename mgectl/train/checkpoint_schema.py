"""A loaded checkpoint is untrusted input: every field is checked before anything uses it.

`check_checkpoint(state)` raises `DamagedError("progress.epoch must be an integer >= 0 (got -1)")`
for the first field that is not what mgectl train writes; load_checkpoint turns it into the
user's one-line "checkpoint damaged: ..." error. Arrays must be real numbers (no strings,
complex or objects), finite where they are floating point, and of a plausible size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_COUNT = 2**31 - 1  # epochs, steps, widths: far beyond any run, far below an overflow
TASKS = ("classification", "regression")
LAYOUTS = ("scalar", "vector", "image")


class DamagedError(Exception):
    """The first field of a checkpoint that is not what mgectl train writes."""


def _fail(where: str, what: str, value: Any) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise DamagedError(f"{where} must be {what} (got {shown})")


def _count(
    value: Any, where: str, low: int = 0, optional: bool = False, high: int = MAX_COUNT
) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(where, f"an integer >= {low}" + (" or null" if optional else ""), value)


def _number(value: Any, where: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value):
        _fail(where, "a finite number" + (" or null" if optional else ""), value)


def _mapping(value: Any, where: str, keys: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        _fail(where, "a mapping", value)
    missing = [key for key in keys if key not in value]
    if missing:
        raise DamagedError(f"{where} is missing {', '.join(missing)}")
    return value


def _strings(value: Any, where: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        _fail(where, "a list of strings" + (" or null" if optional else ""), value)


def _array(value: Any, where: str, shape: tuple[int, ...] | None = None) -> None:
    if not isinstance(value, np.ndarray | np.generic):
        _fail(where, "an array", value)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DamagedError(f"{where} must hold real numbers (it holds {array.dtype})")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise DamagedError(f"{where} holds NaN or inf")
    if shape is not None and array.shape != shape:
        raise DamagedError(f"{where} must have shape {shape} (it has {array.shape})")


def _bit_generator(value: Any, where: str) -> None:
    try:
        np.random.Generator(np.random.PCG64()).bit_generator.state = value
    except (TypeError, ValueError, KeyError, OverflowError):
        _fail(where, "a PCG64 random generator state", value)


def _random_state(value: Any, where: str) -> None:
    try:
        np.random.RandomState(0).set_state(value)
    except (TypeError, ValueError, KeyError, OverflowError):
        _fail(where, "an MT19937 random state (RandomState.get_state(legacy=False))", value)


def _model(value: Any) -> None:
    for key, array in _mapping(value, "model").items():
        if not isinstance(key, str):
            _fail("model", "keyed by parameter names", key)
        _array(array, f"model.{key}")


def _optimizer(value: Any) -> None:
    state = _mapping(value, "optimizer", ("param_groups", "state"))
    if not isinstance(state["param_groups"], list):
        _fail("optimizer.param_groups", "a list", state["param_groups"])
    for index, buffers in _mapping(state["state"], "optimizer.state").items():
        _count(index, "optimizer.state key")
        for name, buffer in _mapping(buffers, f"optimizer.state.{index}").items():
            where = f"optimizer.state.{index}.{name}"
            if name == "step":
                _count(buffer if not isinstance(buffer, np.ndarray) else buffer.item(), where)
            elif isinstance(buffer, int | float) and not isinstance(buffer, bool):
                _number(buffer, where)
            else:
                _array(buffer, where)


def _progress(value: Any) -> None:
    progress = _mapping(value, "progress", ("epoch", "step", "stopped_early", "monitor"))
    _count(progress["epoch"], "progress.epoch")
    _count(progress["step"], "progress.step")
    if not isinstance(progress["stopped_early"], bool):
        _fail("progress.stopped_early", "true or false", progress["stopped_early"])
    monitor = _mapping(progress["monitor"], "progress.monitor", ("monitor", "best", "wait"))
    if not isinstance(monitor["monitor"], str):
        _fail("progress.monitor.monitor", "a metric name", monitor["monitor"])
    _number(monitor["best"], "progress.monitor.best", optional=True)
    _count(monitor.get("best_epoch"), "progress.monitor.best_epoch", optional=True)
    _count(monitor["wait"], "progress.monitor.wait")


def _sampler(value: Any) -> None:
    if value is None:
        return
    sampler = _mapping(value, "sampler", ("epoch", "rng"))
    _count(sampler["epoch"], "sampler.epoch")
    _count(sampler.get("seed"), "sampler.seed", optional=True, high=2**64 - 1)
    _random_state(sampler["rng"], "sampler.rng")


def _data(value: Any) -> None:
    keys = ("task", "layout", "features", "sample_shape", "num_classes", "feature_names")
    meta = _mapping(value, "data", keys)
    if meta["task"] not in TASKS:
        _fail("data.task", " or ".join(TASKS), meta["task"])
    if meta["layout"] not in LAYOUTS:
        _fail("data.layout", " or ".join(LAYOUTS), meta["layout"])
    _count(meta["features"], "data.features", low=1)
    shape = meta["sample_shape"]
    if not isinstance(shape, list | tuple) or len(shape) > 3:
        _fail("data.sample_shape", "a list of at most 3 sizes", shape)
    for size in shape:
        _count(size, "data.sample_shape", low=1)
    _count(meta["num_classes"], "data.num_classes", low=2, optional=True)
    if meta["task"] == "classification" and meta["num_classes"] is None:
        raise DamagedError("data.num_classes is missing for a classification run")
    _strings(meta.get("class_names"), "data.class_names", optional=True)
    _strings(meta["feature_names"], "data.feature_names")
    if not isinstance(meta.get("label_name", ""), str):
        _fail("data.label_name", "a string", meta["label_name"])
    for key in ("mean", "std"):
        if meta.get(key) is not None:
            _array(meta[key], f"data.{key}", (meta["features"],))
    if meta.get("std") is not None and not (np.asarray(meta["std"]) > 0).all():
        raise DamagedError("data.std must be > 0 everywhere")


def check_checkpoint(state: dict[str, Any]) -> None:
    """Raise DamagedError for the first field of STATE that mgectl train would not have written."""
    _mapping(state["config"], "config")
    _model(state["model"])
    _optimizer(state.get("optimizer", {"param_groups": [], "state": {}}))
    if state.get("scheduler") is not None:
        _mapping(state["scheduler"], "scheduler")
    _sampler(state.get("sampler"))
    if "rng" in state:
        _bit_generator(state["rng"], "rng")
    _progress(state["progress"])
    _data(state["data"])
    _count(state["outputs"], "outputs", low=1)
