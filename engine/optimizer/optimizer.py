"""Optimizer base: parameter groups, per-parameter state, step(), clear_grad(), state_dict()."""

from __future__ import annotations

import weakref
from collections.abc import Container, Iterable
from typing import Any

from ..core.tracing import TRACING
from ..tensor import Parameter, Tensor

_NO_SCRATCH: frozenset = frozenset()
_LIVE: weakref.WeakSet = weakref.WeakSet()  # every optimizer, for live_optimizers()


class Optimizer:
    """Base class: subclasses implement `_update(param, grad, group, state)` in place."""

    def __init__(self, params: Any, defaults: dict) -> None:
        _LIVE.add(self)
        self._defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self._state: dict[int, dict] = {}
        groups = list(params) if not isinstance(params, Tensor) else [params]
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (missing ones take the defaults)."""
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(
                    "optimizer can only optimize Parameters, but one of the params is "
                    f"{type(p).__name__}: wrap it as mge.Parameter(...)"
                )
            if p.dtype.kind != "f":
                raise TypeError(f"cannot optimize a tensor of dtype {p.dtype}: it must be float")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("a parameter appears in more than one parameter group")
        group = {**self._defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate hyper-parameters; subclasses extend it."""
        lr = group["lr"]
        if not isinstance(lr, (int, float)) or lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")

    def _params(self) -> Iterable[Tensor]:
        for group in self.param_groups:
            yield from group["params"]

    def step(self) -> Optimizer:
        """Update every parameter that has a gradient; returns self for `.step().clear_grad()`."""
        if TRACING.recorder is not None:  # a trace replays the whole update as one step
            TRACING.recorder.on_call(self, Optimizer.step, "optimizer.step()")
            return self
        return self._step(_NO_SCRATCH)

    def _step(self, scratch: Container[int]) -> Optimizer:
        """step(); a gradient whose array's id is in `scratch` may be overwritten."""
        states, update = self._state, self._update
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                state = states.get(id(param))
                if state is None:
                    state = states[id(param)] = {}
                data, g = param._data, grad._data
                if not data.shape:  # only 0-d results can be NumPy scalars (no in-place ops)
                    data = _in_place(param)
                if not g.shape:
                    g = _as_array(param, g)
                if id(g) in scratch:
                    self._update_reusing_grad(param._device.xp, data, g, group, state)
                else:
                    update(data, g, group, state)
        return self

    def _step_then_clear(self, scratch: Container[int]) -> None:
        """step() and clear_grad() in one call, for a traced step whose backward made the
        gradients in `scratch` (array ids): nothing reads them again, so they are scratch."""
        self._step(scratch)
        for param in self._params():
            param.grad = None

    def _update(self, param: Any, grad: Any, group: dict, state: dict) -> None:
        raise NotImplementedError

    def _update_reusing_grad(
        self, xp: Any, param: Any, grad: Any, group: dict, state: dict
    ) -> None:
        """The same update, free to overwrite `grad` (subclasses save a temporary with it)."""
        self._update(param, grad, group, state)

    def clear_grad(self) -> Optimizer:
        """Set every parameter's gradient to None."""
        if TRACING.recorder is not None:
            TRACING.recorder.on_call(self, Optimizer.clear_grad, "optimizer.clear_grad()")
            return self
        for param in self._params():
            param.grad = None
        return self

    def zero_grad(self) -> None:
        """PyTorch habit: MegEngine calls this clear_grad()."""
        raise AttributeError(
            "zero_grad() is PyTorch's name; in MegEngine use optimizer.clear_grad()"
        )

    def backward(self, *_: Any) -> None:
        """PyTorch habit: gradients come from GradManager.backward() in MegEngine."""
        raise AttributeError(
            "optimizer.backward does not exist: compute gradients with gm.backward(loss) inside "
            "`with gm:`, then call optimizer.step().clear_grad()"
        )

    # ---- state -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Hyper-parameters per group and per-parameter buffers, keyed by parameter index."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = [index[id(p)] for p in group["params"]]
            groups.append(entry)
        state = {}
        for p in self._params():
            buffers = self._state.get(id(p))
            if buffers:
                state[index[id(p)]] = {k: _to_host(p, v) for k, v in buffers.items()}
        return {"param_groups": groups, "state": state}

    def load_state_dict(self, state: dict) -> None:
        """Restore hyper-parameters and buffers saved by state_dict()."""
        groups = state.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise ValueError("optimizer state has a different number of parameter groups")
        params = list(self._params())
        pairs = list(zip(groups, self.param_groups, strict=True))
        if any(len(saved["params"]) != len(group["params"]) for saved, group in pairs):
            raise ValueError("optimizer state has a different number of parameters per group")
        for saved, group in pairs:  # validated first, so a bad state changes nothing
            group.update({k: v for k, v in saved.items() if k != "params"})
        self._state = {}
        for key, buffers in state.get("state", {}).items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"optimizer state names parameter {i}, which does not exist")
            p = params[i]
            self._state[id(p)] = {
                k: int(v) if k == "step" else _to_device(p, v)  # the counter stays on the host
                for k, v in buffers.items()
            }


def live_optimizers() -> list[Optimizer]:
    """Every optimizer that exists now (a trace notices their settings changing)."""
    return list(_LIVE)


def settings(optimizer: Optimizer) -> list[dict]:
    """Each parameter group's settings: everything but its parameters."""
    return [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]


def check_hyper(ok: bool, label: str, value: Any) -> None:
    """Raise MegEngine's `ValueError("Invalid <label>: <value>")` unless `ok`."""
    if not ok:
        raise ValueError(f"Invalid {label}: {value}")


def zeros_like(array: Any) -> Any:
    """A zero-filled array of the same shape, dtype and namespace (NumPy or CuPy) as `array`."""
    out = array.copy()
    out.fill(0)
    return out


def buffer(state: dict, name: str, like: Any) -> Any:
    """The state buffer `name`, created as zeros shaped like `like` on first use."""
    buf = state.get(name)
    if buf is None:
        buf = state[name] = zeros_like(like)
    return buf


def next_step(state: dict) -> int:
    """Increment and return the per-parameter step count (accepts MegEngine's 0-d float array)."""
    step = state["step"] = int(state.get("step", 0)) + 1
    return step


def _as_array(p: Tensor, data: Any) -> Any:
    """`data` as an array of p's namespace: NumPy math on 0-d arrays gives scalars, which have
    no in-place operators, so `buf += g` would rebind a name instead of updating the buffer."""
    return p._device.xp.asarray(data)


def _in_place(p: Tensor) -> Any:
    """p's data as an array that in-place updates can change (a 0-d result may be a scalar)."""
    data = p._data
    array = _as_array(p, data)
    if array is not data:
        p._data = array
    return array


def _to_host(p: Tensor, value: Any) -> Any:
    if hasattr(value, "shape") and not isinstance(value, (int, float)):
        return Tensor._wrap(value, p._device).numpy()
    return value


def _to_device(p: Tensor, value: Any) -> Any:
    """Arrays and NumPy scalars go to p's device (floats in p's dtype); Python values stay."""
    if hasattr(value, "dtype"):
        dtype = p.dtype if value.dtype.kind == "f" else None
        return Tensor(value, dtype=dtype, device=p.device)._data
    return value


__all__ = ["Optimizer", "Parameter", "buffer", "check_hyper", "next_step", "zeros_like"]
