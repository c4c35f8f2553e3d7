"""Module: the base class of layers, with MegEngine's discovery rules for its state.

A module finds its parameters, buffers and sub-modules by scanning its attributes
(`vars(self)`) in sorted name order, looking inside lists, tuples and dicts too. So
`self.fc = Linear(...)` registers a child and `self.running_mean = Tensor(...)` a
buffer, with nothing to declare. Names, order and messages follow MegEngine 1.13.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..tensor import Parameter, Tensor


def _expand_structure(prefix: str, obj: Any) -> list[tuple[str, Any]]:
    """(dotted key, leaf) for every Tensor or Module in obj, looking into lists/tuples/dicts."""
    if isinstance(obj, (Tensor, Module)):
        return [(prefix, obj)]
    if not isinstance(obj, (list, tuple, dict)):
        return []
    if isinstance(obj, dict):
        items = [(k, obj[k]) for k in sorted(obj)]
    else:
        items = [(str(i), v) for i, v in enumerate(obj)]
    found = []
    for key, value in items:
        leaves = _expand_structure(key, value)
        if leaves and not isinstance(key, str):
            raise AssertionError(f"keys for Tensor and Module must be str, error key: {key}")
        found.extend((f"{prefix}.{k}", v) for k, v in leaves)
    return found


def _is_parameter(obj: Any) -> bool:
    return isinstance(obj, Parameter)


def _is_buffer(obj: Any) -> bool:
    return isinstance(obj, Tensor) and not isinstance(obj, Parameter)


def _is_state(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def _is_module(obj: Any) -> bool:
    return isinstance(obj, Module)


def _braces(keys: Any) -> str:
    """A set of keys written like a Python set, but in a stable (sorted) order."""
    return "{" + ", ".join(repr(k) for k in sorted(keys)) + "}"


class Module(metaclass=ABCMeta):
    """Base class of all layers: subclasses set attributes in __init__ and define forward()."""

    # Normalisation layers store per-channel state as (1, C, 1, 1) but save it flat, (C,).
    _flat_state = False

    def __init__(self, name: str | None = None) -> None:
        self._modules: list[str] = []  # attributes holding modules, in assignment order (repr)
        if name is not None and not (isinstance(name, str) and name.strip()):
            raise AssertionError("Module's name must be a non-empty string")
        self.name = name
        self.training = True

    @abstractmethod
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """The computation; called by module(...)."""

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.forward(*inputs, **kwargs)

    # ---- attribute bookkeeping -----------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        module_like = isinstance(value, (Module, list, tuple, dict))
        if name != "_modules":
            modules = self.__dict__.get("_modules")
            if modules is None and module_like:
                raise AttributeError("cannot assign module before Module.__init__() call")
            if module_like and name not in modules:
                modules.append(name)
            elif not module_like and modules is not None and name in modules:
                modules.remove(name)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules:
            modules.remove(name)
        super().__delattr__(name)

    # ---- discovery -----------------------------------------------------------------------
    def _flatten(
        self,
        *,
        recursive: bool = True,
        with_key: bool = False,
        prefix: str | None = None,
        predicate: Callable[[Any], bool] = lambda _: True,
        seen: set | None = None,
    ) -> Iterator[Any]:
        """Tensors and modules reachable from this module, each once, in sorted-key order."""
        if seen is None:
            seen = {id(self)}
        dotted = "" if prefix is None else prefix + "."
        attrs = vars(self)
        for key in sorted(attrs):
            for path, leaf in _expand_structure(key, attrs[key]):
                if id(leaf) in seen:
                    continue  # shared tensors/modules are reported once, under their first name
                seen.add(id(leaf))
                if predicate(leaf):
                    yield (dotted + path, leaf) if with_key else leaf
                if recursive and isinstance(leaf, Module):
                    yield from leaf._flatten(
                        recursive=True,
                        with_key=with_key,
                        prefix=dotted + path if with_key else None,
                        predicate=predicate,
                        seen=seen,
                    )

    def parameters(self, recursive: bool = True) -> Iterator[Parameter]:
        """The Parameters of this module (and of its sub-modules when recursive)."""
        yield from self._flatten(recursive=recursive, predicate=_is_parameter)

    def named_parameters(
        self, prefix: str | None = None, recursive: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, e.g. ("fc.weight", ...)."""
        yield from self._flatten(
            recursive=recursive, with_key=True, prefix=prefix, predicate=_is_parameter
        )

    def buffers(self, recursive: bool = True) -> Iterator[Tensor]:
        """Tensor attributes that are not Parameters (running statistics and the like)."""
        yield from self._flatten(recursive=recursive, predicate=_is_buffer)

    def named_buffers(
        self, prefix: str | None = None, recursive: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs."""
        yield from self._flatten(
            recursive=recursive, with_key=True, prefix=prefix, predicate=_is_buffer
        )

    def tensors(self, recursive: bool = True) -> Iterator[Tensor]:
        """Every Tensor attribute: parameters and buffers."""
        yield from self._flatten(recursive=recursive, predicate=_is_state)

    def named_tensors(
        self, prefix: str | None = None, recursive: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) pairs for parameters and buffers."""
        yield from self._flatten(
            recursive=recursive, with_key=True, prefix=prefix, predicate=_is_state
        )

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        yield from self._flatten(recursive=False, predicate=_is_module)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(attribute name, sub-module) pairs for the direct sub-modules."""
        yield from self._flatten(recursive=False, with_key=True, predicate=_is_module)

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it."""
        yield self
        yield from self._flatten(predicate=_is_module)

    def named_modules(self, prefix: str | None = None) -> Iterator[tuple[str, Module]]:
        """(dotted path, module) pairs, starting with ("", self)."""
        yield ("" if prefix is None else prefix), self
        yield from self._flatten(with_key=True, prefix=prefix, predicate=_is_module)

    def apply(self, fn: Callable[[Module], Any]) -> None:
        """Call fn on this module and every module inside it."""
        for module in self.modules():
            fn(module)

    # ---- modes ---------------------------------------------------------------------------
    def train(self, mode: bool = True, recursive: bool = True) -> None:
        """Set `training` (used by Dropout and BatchNorm) here and, if recursive, below."""
        if not recursive:
            self.training = mode
            return
        self.apply(lambda module: module.train(mode, recursive=False))

    def eval(self) -> None:
        """Switch to inference behaviour: train(False)."""
        self.train(False)

    # ---- saving and loading --------------------------------------------------------------
    def state_dict(self, rst: Any = None, prefix: str = "", keep_var: bool = False) -> OrderedDict:
        """Parameters and buffers as numpy arrays: own ones first, then each child's, sorted."""
        result = OrderedDict() if rst is None else rst
        for key, var, owner in self._states(prefix):
            value = var if keep_var else var.numpy()
            result[key] = value.reshape(-1) if owner._flat_state else value
        return result

    def _states(self, prefix: str = "") -> Iterator[tuple[str, Tensor, Module]]:
        """(key, tensor, owning module) in state_dict order."""
        for key, var in self._flatten(recursive=False, with_key=True, predicate=_is_state):
            yield prefix + key, var, self
        for key, child in self._flatten(recursive=False, with_key=True, predicate=_is_module):
            yield from child._states(prefix + key + ".")

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> None:
        """Copy values into the existing Parameters and buffers (their objects stay the same).

        `state_dict` is a dict of arrays, or a closure (key, tensor) -> array or None (skip).
        With strict, unexpected keys and then missing keys raise KeyError; a wrong shape
        always raises ValueError.
        """
        if isinstance(state_dict, dict):
            given = set(state_dict)

            def closure(key: str, _: Tensor) -> Any:
                return state_dict.get(key)

        elif callable(state_dict):
            given, closure = set(), state_dict
        else:
            raise ValueError(f"`state_dict` must load a dict or callable, got {type(state_dict)}")
        loaded, skipped, writes = set(), set(), []
        for key, var, owner in list(self._states()):
            value = closure(key, var)
            if value is None:
                skipped.add(key)
                continue
            writes.append((var, _checked_value(key, var, value, owner._flat_state)))
            loaded.add(key)
        _report("Unused", "unused", given - loaded, strict)
        _report("Missing", "missing", skipped, strict)
        for var, value in writes:  # all checked first: a bad entry changes nothing
            var._data[...] = var.device.backend.from_host(value)

    # ---- printing ------------------------------------------------------------------------
    def _module_info_string(self) -> str:
        """The layer's settings for repr (subclasses override, e.g. 'in_features=3, ...')."""
        return ""

    def __repr__(self) -> str:
        extra = self._module_info_string()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name in self._modules:
            for key, value in _expand_structure(name, self.__dict__[name]):
                if isinstance(value, Module):
                    child_lines.append(f"({key}): " + _indent(repr(value), 2))
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif extra_lines or child_lines:
            body = "\n  " + "\n  ".join(extra_lines + child_lines) + "\n"
        return f"{type(self).__name__}({body})"


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


def _checked_value(key: str, var: Tensor, value: Any, flat: bool) -> np.ndarray:
    """`value` as a host array of var's shape and dtype, to be written into var in place
    (so optimizers holding var keep working); TypeError/ValueError naming `key` if it can't."""
    if isinstance(value, Tensor):
        value = value.numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"state_dict value for `{key}` must be a numpy array, got {type(value)}")
    if value.dtype.kind not in "biuf":
        raise TypeError(
            f"state_dict value for `{key}` has dtype {value.dtype}: only bool, integer and float "
            f"arrays load into a {var.dtype} parameter (strings and complex numbers do not)"
        )
    if value.shape != var.shape:
        if not flat:
            raise ValueError(
                f"param `{key}` shape mismatch, should be {var.shape}, get {value.shape}"
            )
        # normalisation state is saved flat; any layout with the same size loads
        if value.size != var.size:
            raise ValueError(f"param `{key}` size mismatch, should be {var.size}, get {value.size}")
        value = value.reshape(var.shape)
    return np.asarray(value, dtype=var.dtype)


def _report(title: str, word: str, keys: set, strict: bool) -> None:
    if not keys:
        return
    message = f"{title} params violate `strict=True`, {word}={_braces(keys)}"
    if strict:
        raise KeyError(message)
    warnings.warn(f"{title} params in `strict=False` mode, {word}={_braces(keys)}", stacklevel=3)
