"""Tensor and Parameter: a thin wrapper around one array, its device and its gradient.

`apply()` lives here too because it is the only code that creates tensors from
primitive results; every operator and `F.*` function goes through it. So do the
Tensor-level operand rules (`as_tensor`, `operands`, `binary`, index conversion):
Tensor's operators call primitives directly, and `engine.functional` imports this
module, never the reverse.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .core.coerce import (
    check_matmul,
    normalize_axis,
    promote,
    reshape_target,
    to_array,
    transpose_pattern,
)
from .core.device import Device, as_device, same_place
from .core.dtype import float32, resolve_dtype
from .core.op import Primitive
from .core.tape import RECORDING, Node
from .core.tracing import TRACING
from .ops import elementwise as elementwise_ops
from .ops import linalg as linalg_ops
from .ops import reduce as reduce_ops
from .ops import shape as shape_ops

_PY_SCALARS = (int, float, bool)
_NONE_OPERAND = "the operand is None and is not supported."  # MegEngine's words


class Tensor:
    """A multi-dimensional array on a device, MegEngine style (`Tensor([1. 2.], device=xpux:0)`)."""

    # `_name` is set only when a name is given, so creating op results costs nothing more
    __slots__ = ("_data", "_device", "grad", "_node", "_name", "__weakref__")
    # NumPy takes Tensors as MegEngine's: ufuncs and functions read them through __array__
    # (on the host) and give a Tensor back through __array_wrap__; the high priority makes
    # `ndarray + Tensor` call Tensor.__radd__ (so it stays on the device and records).
    __array_priority__ = 1001

    def __init__(
        self, data: Any = None, dtype: Any = None, device: Any = None, *, name: str | None = None
    ) -> None:
        if isinstance(data, Tensor):
            dev = as_device(device if device is not None else data._device)
            if same_place(data._device, dev):
                target = resolve_dtype(dtype) if dtype is not None else data.dtype
                array = data._data.astype(target, copy=True)
            else:
                array = to_array(data._device.backend.to_host(data._data), dtype, dev)
        else:
            dev = as_device(device)
            array = to_array(data, dtype, dev)
        self._data = array
        self._device = dev
        self.grad: Tensor | None = None
        self._node: Node | None = None
        if name is not None:
            self.name = name

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
    def name(self) -> str:
        """A label for the tensor ('' unless given: `Tensor(x, name="w")` or `t.name = "w"`)."""
        return getattr(self, "_name", "")

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Tensor.name must be a str, got {type(value).__name__}")
        self._name = value

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

    def __array_wrap__(
        self, array: np.ndarray, context: Any = None, return_scalar: bool = False
    ) -> Tensor:
        """A NumPy ufunc's result as a Tensor on this tensor's device, as in MegEngine."""
        return Tensor(array, device=self._device)

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
        return apply(elementwise_ops.astype, self, dtype=resolve_dtype(dtype))

    def detach(self) -> Tensor:
        """A tensor sharing the data but cut from the graph (its gradient stops here)."""
        return Tensor._wrap(self._data, self._device)

    def to(self, device: Any) -> Tensor:
        """A copy on another device (differentiable)."""
        dst = as_device(device)
        result = apply(shape_ops.copy, self, src=self._device, dst=dst)
        result._device = dst
        return result

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
        new = reshape_target(self.shape, self.size, shape[0] if len(shape) == 1 else shape)
        if new == self.shape and type(self) is Tensor:
            return self
        return apply(shape_ops.reshape, self, shape=new)

    def flatten(self) -> Tensor:
        """A 1-D view of all elements."""
        return self.reshape(-1)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute dimensions (reverse them when no axes are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        pattern = transpose_pattern(axes or None, self.ndim)
        return apply(shape_ops.transpose, self, axes=pattern)

    @property
    def T(self) -> Tensor:  # noqa: N802 - MegEngine's name
        """The tensor with its dimensions reversed."""
        return self.transpose()

    # ---- reductions --------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (all when None)."""
        return reduction(reduce_ops.sum_, self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis` (all when None); integers give float32."""
        return reduction(reduce_ops.mean, as_float(self), axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Maximum over `axis` (all when None)."""
        return reduction(reduce_ops.max_, self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Minimum over `axis` (all when None)."""
        return reduction(reduce_ops.min_, self, axis, keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Product over `axis` (all when None)."""
        return reduction(reduce_ops.prod, self, axis, keepdims)

    # ---- indexing ----------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        return apply(shape_ops.getitem, self, index=index_arrays(index, self._device))

    def __setitem__(self, index: Any, value: Any) -> None:
        self._assign(setitem(self, index, value))

    # ---- arithmetic --------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.div, self, other, float_result=True)

    def __rtruediv__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.div, other, self, float_result=True)

    def __floordiv__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.floor_div, self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.floor_div, other, self)

    def __mod__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.mod, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.mod, other, self)

    def __pow__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.pow_, self, other, float_result=True)

    def __rpow__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.pow_, other, self, float_result=True)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def __neg__(self) -> Tensor:
        return apply(elementwise_ops.neg, self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(elementwise_ops.abs_, self)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return binary(elementwise_ops.equal, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return binary(elementwise_ops.not_equal, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return binary(elementwise_ops.greater_equal, self, other)

    # logical operators: bool tensors only, as MegEngine
    def __and__(self, other: Any) -> Tensor:
        return apply(elementwise_ops.logical_and, *bool_operands("logical_and", self, other))

    def __rand__(self, other: Any) -> Tensor:
        return apply(elementwise_ops.logical_and, *bool_operands("logical_and", other, self))

    def __or__(self, other: Any) -> Tensor:
        return apply(elementwise_ops.logical_or, *bool_operands("logical_or", self, other))

    def __ror__(self, other: Any) -> Tensor:
        return apply(elementwise_ops.logical_or, *bool_operands("logical_or", other, self))

    def __xor__(self, other: Any) -> Tensor:
        return apply(elementwise_ops.logical_xor, *bool_operands("logical_xor", self, other))

    def __rxor__(self, other: Any) -> Tensor:
        return apply(elementwise_ops.logical_xor, *bool_operands("logical_xor", other, self))

    def __invert__(self) -> Tensor:
        return apply(elementwise_ops.logical_not, *bool_operands("logical_not", self))

    def _assign(self, result: Tensor) -> Tensor:
        """Make this tensor hold `result` (in-place operators keep the object, MegEngine style)."""
        self._data = result._data
        self._node = result._node
        if TRACING.recorder is not None:
            TRACING.recorder.on_assign(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._assign(binary(elementwise_ops.add, self, other))

    def __isub__(self, other: Any) -> Tensor:
        return self._assign(binary(elementwise_ops.sub, self, other))

    def __imul__(self, other: Any) -> Tensor:
        return self._assign(binary(elementwise_ops.mul, self, other))

    def __itruediv__(self, other: Any) -> Tensor:
        return self._assign(binary(elementwise_ops.div, self, other, float_result=True))


class Parameter(Tensor):
    """A Tensor that an optimizer updates; ops on Parameters return plain Tensors."""

    __slots__ = ()


tensor = Tensor


# ---- operands: the Tensor-level coercion every operator and F.* function shares ------------


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """x as a Tensor (ndarrays and numbers converted with MegEngine's dtype rules)."""
    if isinstance(x, Tensor):
        return x
    if x is None:
        raise TypeError(_NONE_OPERAND)
    return Tensor(x, device=like._device if like is not None else None)


def as_float(x: Any) -> Tensor:
    """x as a float Tensor: float math (exp, mean, ...) turns integers into float32."""
    x = as_tensor(x)
    return x if x._data.dtype.kind == "f" else x.astype(float32)


def _with_dtype(t: Tensor, dtype: np.dtype) -> Tensor:
    return t if t._data.dtype == dtype else t.astype(dtype)


def operands(x: Any, y: Any) -> tuple[Any, Any]:
    """Make a pair of operands compatible: Tensors of one dtype, or a Tensor and a number."""
    if x is None or y is None:  # Tensor(None) is empty: `t + None` would quietly be empty too
        raise TypeError(_NONE_OPERAND)
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            if x._data.dtype == y._data.dtype:
                return x, y
            target = promote(x._data.dtype, y._data.dtype)
            return _with_dtype(x, target), _with_dtype(y, target)
        if type(y) in _PY_SCALARS:
            if type(y) is float and x._data.dtype.kind != "f":
                x = x.astype(float32)
            return x, y
        return operands(x, Tensor(y, device=x._device))
    if isinstance(y, Tensor):
        if type(x) in _PY_SCALARS:
            if type(x) is float and y._data.dtype.kind != "f":
                y = y.astype(float32)
            return x, y
        return operands(Tensor(x, device=y._device), y)
    return operands(Tensor(x), y)


def bool_operands(name: str, *xs: Any) -> list[Tensor]:
    """The operands of a logical op: bool tensors (or Python bools), as MegEngine insists."""
    like = next((x for x in xs if isinstance(x, Tensor)), None)
    out = []
    for x in xs:
        t = x if isinstance(x, Tensor) else as_tensor(x, like)
        if t.dtype.kind != "b":
            raise TypeError(f"{name} needs bool tensors, got dtype {t.dtype}")
        out.append(t)
    return out


def _is_float(v: Any) -> bool:
    return v._data.dtype.kind == "f" if isinstance(v, Tensor) else type(v) is float


def binary(prim: Primitive, x: Any, y: Any, float_result: bool = False) -> Tensor:
    """`prim(x, y)` for any operands; with float_result, integer operands give float32.

    Two Tensors of one (float, when float_result) dtype on one device take the only
    fast path of the engine: no coercion, no generic `apply` loop.
    """
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        dtype = x._data.dtype
        device = x._device
        if (
            dtype == y._data.dtype
            and (not float_result or dtype.kind == "f")
            and (y._device is device or same_place(y._device, device))
        ):
            a, b = x._data, y._data
            try:
                out = prim.forward(device.xp, a, b)
            except ValueError as exc:
                raise ValueError(
                    f"{prim.name}: {exc} (input shapes: {a.shape}, {b.shape})"
                ) from None
            result = Tensor._wrap(out, device)
            if RECORDING.active and prim.vjp is not None:
                epoch = RECORDING.epoch
                na, nb = x._node, y._node
                if na is not None and na.epoch != epoch:
                    na = None
                if nb is not None and nb.epoch != epoch:
                    nb = None
                if na is not None or nb is not None:
                    node = Node(
                        prim, (na, nb), (a, b), out, None, _NO_PARAMS, epoch, None, device.xp
                    )
                    result._node = node
                    RECORDING.tape.append(node)
            if TRACING.recorder is not None:
                TRACING.recorder.on_apply(prim, (x, y), (a, b), _NO_PARAMS, out, None, result)
            return result
    x, y = operands(x, y)
    if float_result and not _is_float(x) and not _is_float(y):
        x = x.astype(float32) if isinstance(x, Tensor) else x
        y = y.astype(float32) if isinstance(y, Tensor) else y
    return apply(prim, x, y)


def reduction(prim: Primitive, x: Any, axis: Any, keepdims: bool) -> Tensor:
    """A reducing primitive (sum, mean, max, ...) over `axis` (all axes when None)."""
    x = as_tensor(x)
    return apply(prim, x, axis=normalize_axis(axis, x.ndim), keepdims=keepdims)


def matmul(x: Any, y: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D, 2-D and batched with broadcast batch dims."""
    a, b = operands(as_tensor(x), y)
    b = as_tensor(b, a)
    check_matmul(a.shape, b.shape)
    return apply(linalg_ops.matmul, a, b)


def index_arrays(index: Any, device: Device) -> Any:
    """Tensors, lists and ndarrays in an index as arrays on `device`, where kernels need them."""
    if isinstance(index, tuple):
        return tuple(index_arrays(i, device) for i in index)
    if isinstance(index, Tensor):
        if not same_place(index._device, device):
            raise RuntimeError(
                f"indexing a tensor on {device} with an index tensor on {index._device}; "
                "move the index with .to(device)"
            )
        return index._data
    if isinstance(index, np.ndarray) and index.ndim == 0:
        return index.item()  # a scalar index stays a plain number
    if isinstance(index, (list, np.ndarray)):
        host = np.asarray(index) if len(index) else np.asarray(index, dtype=np.intp)
        return device.backend.from_host(host)
    return index


def setitem(inp: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of inp with inp[index] = value (recorded for autodiff)."""
    if not isinstance(value, Tensor):
        value = Tensor(value, dtype=inp.dtype, device=inp._device)
    elif value.dtype != inp.dtype:
        value = value.astype(inp.dtype)
    return apply(shape_ops.setitem, inp, value, index=index_arrays(index, inp._device))


# ---- apply: the one door every computation goes through ------------------------------------


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


_NO_PARAMS: dict = {}
