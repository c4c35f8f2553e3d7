"""Tensor and Parameter: a thin wrapper around one array, its device and its gradient.

`apply()` lives here too because it is the only code that creates tensors from
primitive results; every operator and `F.*` function goes through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .core.device import Device, as_device, same_place
from .core.dtype import canonical_dtype, resolve_dtype
from .core.op import Primitive
from .core.tape import RECORDING, Node
from .core.tracing import TRACING

_SCALARS = (int, float, bool)


class Tensor:
    """A multi-dimensional array on a device, MegEngine style (`Tensor([1. 2.], device=xpux:0)`)."""

    __slots__ = ("_data", "_device", "grad", "_node", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    __array_priority__ = 1000

    def __init__(self, data: Any = None, dtype: Any = None, device: Any = None, **_: Any) -> None:
        dev = as_device(device if device is not None else _device_of(data))
        self._data = to_array(data, dtype, dev)
        self._device = dev
        self.grad: Tensor | None = None
        self._node: Node | None = None

    # ---- construction helpers -------------------------------------------------------
    @classmethod
    def _wrap(cls, array: Any, device: Device) -> Tensor:
        """Wrap an array that already lives on `device` without copying (internal)."""
        t = object.__new__(cls)
        t._data = array
        t._device = device
        t.grad = None
        t._node = None
        return t

    # ---- attributes ------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The tensor's shape as a tuple of ints."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the elements (float32 by default)."""
        return self._data.dtype

    @property
    def device(self) -> Device:
        """The device the tensor lives on; prints as MegEngine does (`xpux:0`)."""
        return self._device

    def item(self) -> Any:
        """The single element as a Python scalar."""
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with exactly one element, this one has shape "
                f"{self.shape} ({self.size} elements)"
            )
        if TRACING.recorder is not None:
            TRACING.recorder.on_host_read(self)
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """A writable NumPy copy of the data, on the host."""
        if TRACING.recorder is not None:
            TRACING.recorder.on_host_read(self)
        return np.array(self._device.backend.to_host(self._data), copy=True)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if TRACING.recorder is not None:
            TRACING.recorder.on_host_read(self)
        host = self._device.backend.to_host(self._data)
        return host if dtype is None else host.astype(dtype)

    def tolist(self) -> Any:
        """The data as nested Python lists."""
        return self.numpy().tolist()

    # ---- printing ----------------------------------------------------------------------
    def __repr__(self) -> str:
        with np.printoptions(precision=4):
            body = str(self._device.backend.to_host(self._data))
        dtype = "" if self.dtype == np.float32 else f", dtype={self.dtype.name}"
        return f"{type(self).__name__}({body}{dtype}, device={self._device})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if spec and self._data.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    # ---- conversions -------------------------------------------------------------------
    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to `dtype`; the original is unchanged."""
        from .functional.elemwise import astype

        return astype(self, dtype)

    def detach(self) -> Tensor:
        """A tensor sharing the data but cut from the graph (its gradient stops here)."""
        return Tensor._wrap(self._data, self._device)

    def to(self, device: Any) -> Tensor:
        """A copy on another device."""
        from .functional.tensor import copy

        return copy(self, device)

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    # ---- shape methods -----------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        """Same data, new shape; one dimension may be -1."""
        from .functional.tensor import reshape

        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def flatten(self) -> Tensor:
        """A 1-D view of all elements."""
        return self.reshape(-1)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute dimensions (reverse them when no axes are given)."""
        from .functional.tensor import transpose

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    @property
    def T(self) -> Tensor:  # noqa: N802 - MegEngine's name
        """The tensor with its dimensions reversed."""
        return self.transpose()

    # ---- reductions --------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (all when None)."""
        return _F.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis` (all when None)."""
        return _F.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Maximum over `axis` (all when None)."""
        return _F.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Minimum over `axis` (all when None)."""
        return _F.min(self, axis, keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Product over `axis` (all when None)."""
        return _F.prod(self, axis, keepdims)

    # ---- indexing ----------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        return _F.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        result = _F.setitem(self, index, value)
        self._data = result._data
        self._node = result._node
        if TRACING.recorder is not None:
            TRACING.recorder.on_assign(self)

    # ---- arithmetic --------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            return apply2(_P.add, self, other)
        return _F.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _F.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            return apply2(_P.sub, self, other)
        return _F.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _F.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            return apply2(_P.mul, self, other)
        return _F.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _F.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        dtype = self._data.dtype
        if isinstance(other, Tensor) and other._data.dtype == dtype and dtype.kind == "f":
            return apply2(_P.div, self, other)
        return _F.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _F.div(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _F.floor_div(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _F.floor_div(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _F.mod(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _F.mod(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _F.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _F.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _F.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _F.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _F.abs(self)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _F.equal(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _F.not_equal(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _F.less(self, other)

    def __le__(self, other: Any) -> Tensor:
        return _F.less_equal(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _F.greater(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _F.greater_equal(self, other)

    # logical operators: bool tensors only, as MegEngine
    def __and__(self, other: Any) -> Tensor:
        return _F.logical_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return _F.logical_and(other, self)

    def __or__(self, other: Any) -> Tensor:
        return _F.logical_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return _F.logical_or(other, self)

    def __xor__(self, other: Any) -> Tensor:
        return _F.logical_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return _F.logical_xor(other, self)

    def __invert__(self) -> Tensor:
        return _F.logical_not(self)

    def _assign(self, result: Tensor) -> Tensor:
        """Make this tensor hold `result` (in-place operators keep the object, MegEngine style)."""
        self._data = result._data
        self._node = result._node
        if TRACING.recorder is not None:
            TRACING.recorder.on_assign(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._assign(_F.add(self, other))

    def __isub__(self, other: Any) -> Tensor:
        return self._assign(_F.sub(self, other))

    def __imul__(self, other: Any) -> Tensor:
        return self._assign(_F.mul(self, other))

    def __itruediv__(self, other: Any) -> Tensor:
        return self._assign(_F.div(self, other))


class Parameter(Tensor):
    """A Tensor that an optimizer updates; ops on Parameters return plain Tensors."""

    __slots__ = ()


tensor = Tensor


def _device_of(data: Any) -> Any:
    return data._device if isinstance(data, Tensor) else None


def to_array(data: Any, dtype: Any, device: Device) -> Any:
    """Copy `data` into a new array on `device`, applying MegEngine's dtype rules."""
    if data is None:
        data = []
    if isinstance(data, Tensor):
        if same_place(data._device, device):
            target = resolve_dtype(dtype) if dtype is not None else data.dtype
            return data._data.astype(target, copy=True)
        data = data._device.backend.to_host(data._data)
    elif hasattr(data, "get") and hasattr(data, "__cuda_array_interface__"):
        data = data.get()  # a CuPy array: copy it to the host first
    try:
        host = np.asarray(data)
    except ValueError as exc:  # NumPy 2 refuses ragged nested lists
        raise TypeError(f"cannot make a tensor from ragged {type(data).__name__}: {exc}") from None
    if host.dtype == object:
        raise TypeError(f"cannot make a tensor from ragged or non-numeric {type(data).__name__}")
    target = resolve_dtype(dtype) if dtype is not None else canonical_dtype(host.dtype)
    return device.backend.from_host(np.array(host, dtype=target, copy=True))


def apply(prim: Primitive, *inputs: Any, **params: Any) -> Tensor:
    """Run `prim` on tensors (and constants) and record it when a GradManager needs it."""
    device = None
    arrays = []
    for x in inputs:
        if isinstance(x, Tensor):
            d = x._device
            if device is None:
                device = d
            elif d is not device and not same_place(d, device):
                raise RuntimeError(
                    f"{prim.name}: tensors on different devices ({device} and {d}); "
                    "move one with .to(device)"
                )
            arrays.append(x._data)
        else:
            arrays.append(x)
    if device is None:
        device = as_device(None)
    try:
        out = prim.forward(device.xp, *arrays, **params)
    except (ValueError, IndexError, TypeError) as exc:
        shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
        raise type(exc)(f"{prim.name}: {exc} (input shapes: {shapes})") from None
    res = None
    if prim.residual:
        out, res = out
    result = Tensor._wrap(out, device)
    if RECORDING.active and prim.vjp is not None:
        epoch = RECORDING.epoch
        parents = []
        tracked = False
        for x in inputs:
            node = x._node if isinstance(x, Tensor) else None
            if node is not None and node.epoch == epoch:
                tracked = True
                parents.append(node)
            else:
                parents.append(None)
        if tracked:
            node = Node(prim, parents, arrays, out, res, params, epoch, None, device.xp)
            result._node = node
            RECORDING.tape.append(node)
    if TRACING.recorder is not None:
        TRACING.recorder.on_apply(prim, inputs, arrays, params, out, res, result)
    return result


def apply2(prim: Primitive, a: Tensor, b: Tensor) -> Tensor:
    """`apply` for two tensors of one dtype: the fast path of binary operators."""
    device = a._device
    if b._device is not device and not same_place(b._device, device):
        return apply(prim, a, b)  # raises the mixed-device error
    x, y = a._data, b._data
    try:
        out = prim.forward(device.xp, x, y)
    except ValueError as exc:
        raise ValueError(f"{prim.name}: {exc} (input shapes: {x.shape}, {y.shape})") from None
    result = Tensor._wrap(out, device)
    if RECORDING.active:
        epoch = RECORDING.epoch
        na, nb = a._node, b._node
        if na is not None and na.epoch != epoch:
            na = None
        if nb is not None and nb.epoch != epoch:
            nb = None
        if na is not None or nb is not None:
            node = Node(prim, (na, nb), (x, y), out, None, _NO_PARAMS, epoch, None, device.xp)
            result._node = node
            RECORDING.tape.append(node)
    if TRACING.recorder is not None:
        TRACING.recorder.on_apply(prim, (a, b), (x, y), _NO_PARAMS, out, None, result)
    return result


_NO_PARAMS: dict = {}
_F: Any = None  # engine.functional, bound by engine/__init__.py (avoids an import cycle)
_P: Any = None  # engine.ops.elementwise, bound by engine/__init__.py
