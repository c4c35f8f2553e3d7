"""A simulated second device (`sim0`), a test aid: NumPy arrays behind a wall, like CuPy's.

The engine runs on CuPy only if every kernel does its math through the `xp` it is given
and data reaches the host only where the user asks (`numpy()`, `item()`, printing,
saving). Without a GPU nothing checks that: NumPy accepts anything. This module builds
a stand-in backend that is as strict as CuPy, or stricter:

* `SimArray` wraps an ndarray. `np.asarray(a)`, `np.exp(a)`, `np.concatenate([a])` and
  `ndarray + a` raise `HostTransferError`; so does using a host ndarray as an operand,
  an index or a value to assign (CuPy rejects host arrays there too).
* `SimNamespace` offers only functions CuPy 13 has, with CuPy's signatures where they
  differ from NumPy's (no `put_along_axis`, no `indices(sparse=...)`, no `errstate`).
* Reductions and scalar indexing give 0-d arrays, never NumPy scalars, as CuPy does.
* Every device-to-host copy (`to_host`, `.item()`, `float(a)`, `bool(a)`, `.get()`) is
  counted, and `no_host_transfers()` turns them into errors, so a test can prove a
  training step never waits on the host.

Use it with `install()` (registers the `sim` kind, so `Tensor(x, device="sim0")` works)
or the `sim_device` pytest fixture in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..core.device import Backend, register_backend

__all__ = [
    "BACKEND",
    "HostTransferError",
    "SimArray",
    "SimNamespace",
    "TRANSFERS",
    "install",
    "no_host_transfers",
]


class HostTransferError(TypeError):
    """A simulated-device array was about to be mixed with, or silently copied to, the host."""


class _Transfers:
    """Counts of copies across the host/device boundary, and the switch forbidding downloads."""

    __slots__ = ("to_host", "from_host", "forbidden")

    def __init__(self) -> None:
        self.to_host = 0
        self.from_host = 0
        self.forbidden = 0

    def reset(self) -> None:
        """Zero both counters."""
        self.to_host = self.from_host = 0

    def download(self, what: str) -> None:
        """Record a device-to-host copy, or refuse it inside `no_host_transfers()`."""
        if self.forbidden:
            raise HostTransferError(
                f"{what}: a device-to-host copy inside no_host_transfers(); on a GPU this "
                "stalls until the device is idle"
            )
        self.to_host += 1


TRANSFERS = _Transfers()


@contextlib.contextmanager
def no_host_transfers() -> Iterator[None]:
    """Within this block any device-to-host copy from a simulated array raises."""
    TRANSFERS.forbidden += 1
    try:
        yield
    finally:
        TRANSFERS.forbidden -= 1


# ---- unwrapping and wrapping ----------------------------------------------------------------


def _host_error(where: str, value: Any) -> HostTransferError:
    return HostTransferError(
        f"{where}: got a host {type(value).__name__} of shape {np.shape(value)} where a "
        "device array is needed; create it with the device's xp or backend.from_host"
    )


def _unwrap(value: Any, where: str) -> Any:
    """The ndarray inside SimArrays (recursing into tuples/lists); host ndarrays raise."""
    if type(value) is SimArray:
        return value._a
    if isinstance(value, np.ndarray):
        raise _host_error(where, value)
    if isinstance(value, tuple):
        return tuple(_unwrap(v, where) for v in value)
    if isinstance(value, list):
        return [_unwrap(v, where) for v in value]
    return value


def _wrap(value: Any) -> Any:
    """SimArrays for ndarrays and NumPy scalars (CuPy returns 0-d arrays, not scalars)."""
    if isinstance(value, np.ndarray):
        return SimArray(value)
    if isinstance(value, np.generic):
        return SimArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _operand(value: Any, op: str) -> Any:
    """Operand of an arithmetic operator: SimArrays and Python/NumPy scalars only."""
    if type(value) is SimArray:
        return value._a
    if isinstance(value, np.ndarray):
        raise _host_error(f"SimArray {op}", value)
    return value


# ---- the array ---------------------------------------------------------------------------------


def _binary(op: Callable[[Any, Any], Any], name: str) -> Callable[[SimArray, Any], Any]:
    def method(self: SimArray, other: Any) -> Any:
        if not isinstance(other, (SimArray, np.ndarray, np.generic, int, float, bool, complex)):
            return NotImplemented
        return _wrap(op(self._a, _operand(other, name)))

    method.__name__ = name
    return method


def _reflected(op: Callable[[Any, Any], Any], name: str) -> Callable[[SimArray, Any], Any]:
    def method(self: SimArray, other: Any) -> Any:
        if not isinstance(other, (SimArray, np.ndarray, np.generic, int, float, bool, complex)):
            return NotImplemented
        return _wrap(op(_operand(other, name), self._a))

    method.__name__ = name
    return method


def _inplace(op: Callable[[Any, Any], Any], name: str) -> Callable[[SimArray, Any], SimArray]:
    def method(self: SimArray, other: Any) -> SimArray:
        result = op(self._a, _operand(other, name))
        if result is not self._a:  # NumPy always updates in place; keep the wrapper honest
            self._a[...] = result
        return self

    method.__name__ = name
    return method


def _unary(op: Callable[[Any], Any], name: str) -> Callable[[SimArray], SimArray]:
    def method(self: SimArray) -> SimArray:
        return _wrap(op(self._a))

    method.__name__ = name
    return method


# ndarray methods CuPy's ndarray has too; they run on the wrapped array and wrap the result.
_METHODS = frozenset(
    "all any argmax argmin argsort astype clip copy cumprod cumsum diagonal dot fill flatten max "
    "mean min nonzero prod ravel repeat reshape round sort squeeze std sum swapaxes take "
    "trace transpose var view".split()
)


class SimArray:
    """An ndarray on the simulated device; refuses every implicit conversion to the host."""

    __slots__ = ("_a",)
    __array_ufunc__ = None  # np.exp(a) and ndarray + a fail instead of computing on the host
    __hash__ = None  # type: ignore[assignment]  # arrays are unhashable, as in NumPy and CuPy

    def __init__(self, array: np.ndarray) -> None:
        self._a = array

    # -- the wall ----------------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise HostTransferError(
            "implicit conversion of a simulated-device array to a NumPy array (np.asarray, "
            "np.array, a NumPy function); use the device backend's to_host, as CuPy requires"
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        raise HostTransferError(
            f"numpy.{name} called on a simulated-device array: kernels must call xp.{name}"
        )

    def _download(self, what: str) -> np.ndarray:
        TRANSFERS.download(what)
        return self._a

    def get(self) -> np.ndarray:
        """A host copy, CuPy's spelling (counted as a transfer)."""
        return self._download("SimArray.get()").copy()

    def item(self) -> Any:
        """The single element as a Python scalar (a transfer, as on a GPU)."""
        return self._download("SimArray.item()").item()

    def tolist(self) -> Any:
        """Nested lists (a transfer)."""
        return self._download("SimArray.tolist()").tolist()

    def __bool__(self) -> bool:
        return bool(self._download("bool(SimArray)"))

    def __float__(self) -> float:
        return float(self._download("float(SimArray)"))

    def __int__(self) -> int:
        return int(self._download("int(SimArray)"))

    def __index__(self) -> int:
        return operator.index(self._download("SimArray used as an int"))

    # -- metadata (no transfer) ----------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The array's shape."""
        return self._a.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._a.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self._a.size

    @property
    def dtype(self) -> np.dtype:
        """Element dtype (CuPy uses NumPy's dtypes too)."""
        return self._a.dtype

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self._a.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of all elements."""
        return self._a.nbytes

    @property
    def strides(self) -> tuple:
        """Strides in bytes."""
        return self._a.strides

    @property
    def T(self) -> SimArray:  # noqa: N802 - NumPy's name
        """The transpose."""
        return SimArray(self._a.T)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[SimArray]:
        for row in self._a:
            yield _wrap(row)

    def __repr__(self) -> str:
        # no values: printing them would be a silent download
        return f"SimArray(shape={self._a.shape}, dtype={self._a.dtype})"

    def __getattr__(self, name: str) -> Any:
        if name not in _METHODS:
            raise AttributeError(f"SimArray has no attribute {name!r} (nor does CuPy's ndarray)")
        method = getattr(self._a, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            where = f"SimArray.{name}"
            return _wrap(method(*_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))

        return call

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._a[_unwrap(key, "SimArray index")])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._a[_unwrap(key, "SimArray index")] = _operand(value, "assignment")

    # -- operators -----------------------------------------------------------------------------
    __add__ = _binary(operator.add, "__add__")
    __sub__ = _binary(operator.sub, "__sub__")
    __mul__ = _binary(operator.mul, "__mul__")
    __truediv__ = _binary(operator.truediv, "__truediv__")
    __floordiv__ = _binary(operator.floordiv, "__floordiv__")
    __mod__ = _binary(operator.mod, "__mod__")
    __pow__ = _binary(operator.pow, "__pow__")
    __matmul__ = _binary(operator.matmul, "__matmul__")
    __and__ = _binary(operator.and_, "__and__")
    __or__ = _binary(operator.or_, "__or__")
    __xor__ = _binary(operator.xor, "__xor__")
    __lt__ = _binary(operator.lt, "__lt__")
    __le__ = _binary(operator.le, "__le__")
    __gt__ = _binary(operator.gt, "__gt__")
    __ge__ = _binary(operator.ge, "__ge__")
    __eq__ = _binary(operator.eq, "__eq__")  # type: ignore[assignment]
    __ne__ = _binary(operator.ne, "__ne__")  # type: ignore[assignment]
    __radd__ = _reflected(operator.add, "__radd__")
    __rsub__ = _reflected(operator.sub, "__rsub__")
    __rmul__ = _reflected(operator.mul, "__rmul__")
    __rtruediv__ = _reflected(operator.truediv, "__rtruediv__")
    __rfloordiv__ = _reflected(operator.floordiv, "__rfloordiv__")
    __rmod__ = _reflected(operator.mod, "__rmod__")
    __rpow__ = _reflected(operator.pow, "__rpow__")
    __rmatmul__ = _reflected(operator.matmul, "__rmatmul__")
    __rand__ = _reflected(operator.and_, "__rand__")
    __ror__ = _reflected(operator.or_, "__ror__")
    __rxor__ = _reflected(operator.xor, "__rxor__")
    __iadd__ = _inplace(operator.iadd, "__iadd__")
    __isub__ = _inplace(operator.isub, "__isub__")
    __imul__ = _inplace(operator.imul, "__imul__")
    __itruediv__ = _inplace(operator.itruediv, "__itruediv__")
    __ifloordiv__ = _inplace(operator.ifloordiv, "__ifloordiv__")
    __imod__ = _inplace(operator.imod, "__imod__")
    __ipow__ = _inplace(operator.ipow, "__ipow__")
    __iand__ = _inplace(operator.iand, "__iand__")
    __ior__ = _inplace(operator.ior, "__ior__")
    __neg__ = _unary(operator.neg, "__neg__")
    __pos__ = _unary(operator.pos, "__pos__")
    __abs__ = _unary(operator.abs, "__abs__")
    __invert__ = _unary(operator.invert, "__invert__")


def _unwrap_kwargs(kwargs: dict, where: str) -> dict:
    return {k: _unwrap(v, where) for k, v in kwargs.items()}


# ---- the namespace -------------------------------------------------------------------------------

# Functions of CuPy 13's top-level namespace the simulation offers (a subset: add names as
# kernels need them, after checking CuPy has them with NumPy's signature).
_FUNCTIONS = frozenset(
    """
    abs absolute add all allclose amax amin any arange arccos arccosh arcsin arcsinh arctan
    arctan2 arctanh argmax argmin argsort argwhere around array_equal atleast_1d atleast_2d
    atleast_3d bincount broadcast_arrays broadcast_to cbrt ceil clip concatenate copy cos cosh
    count_nonzero cumprod cumsum diag diagonal diff divide dot einsum empty empty_like equal exp
    exp2 expand_dims expm1 eye flip floor floor_divide fmax fmin fmod full full_like greater
    greater_equal hstack identity inner invert isclose isfinite isinf isnan less less_equal
    linspace log log10 log1p log2 logaddexp logical_and logical_not logical_or logical_xor
    matmul max maximum mean min minimum mod moveaxis multiply negative nonzero not_equal ones
    ones_like outer pad positive power prod ravel reciprocal remainder repeat reshape rint roll
    round searchsorted sign sin sinh sort split sqrt square squeeze stack std subtract sum
    swapaxes take take_along_axis tan tanh tensordot tile trace transpose tril triu true_divide
    trunc var vstack where zeros zeros_like
    """.split()
)

# Attributes that are not array functions: dtypes, constants, helpers on dtypes.
_PASSTHROUGH = frozenset(
    """
    bool_ can_cast complex64 complex128 dtype e finfo float16 float32 float64 iinfo inf int8
    int16 int32 int64 intp issubdtype nan newaxis pi promote_types uint8 uint16 uint32 uint64
    """.split()
)

# ufunc.at exists in CuPy 13 for these (scatter kernels); others need cupyx.
_UFUNC_AT = frozenset({"add", "subtract"})


class _Function:
    """A NumPy function behind the wall: SimArrays in and out, host arrays refused."""

    __slots__ = ("_fn", "_name")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self._name = name
        self._fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        where = f"xp.{self._name}"
        return _wrap(self._fn(*_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))

    def __repr__(self) -> str:
        return f"<simulated xp.{self._name}>"


class _Ufunc(_Function):
    """A ufunc; `.at` scatters into a SimArray in place (only where CuPy has it)."""

    __slots__ = ()

    def at(self, target: SimArray, index: Any, values: Any = None) -> None:
        """Unbuffered in-place `target[index] op= values` (repeated indices accumulate)."""
        if self._name not in _UFUNC_AT:
            raise AttributeError(f"xp.{self._name}.at is not in CuPy 13 (use cupyx)")
        if type(target) is not SimArray:
            raise _host_error(f"xp.{self._name}.at target", target)
        where = f"xp.{self._name}.at"
        args = (_unwrap(index, where),) + (() if values is None else (_unwrap(values, where),))
        self._fn.at(target._a, *args)


def _asarray(a: Any, dtype: Any = None) -> SimArray:
    """Device array from a SimArray (no copy) or host data (an upload, as cupy.asarray does)."""
    if type(a) is SimArray:
        return a if dtype is None or a.dtype == dtype else SimArray(a._a.astype(dtype))
    TRANSFERS.from_host += 1
    return SimArray(np.asarray(_unwrap_nested_host(a), dtype=dtype))


def _ascontiguousarray(a: Any, dtype: Any = None) -> SimArray:
    """Like cupy.ascontiguousarray: C order, copying only when needed."""
    out = _asarray(a, dtype)
    return out if out._a.flags.c_contiguous else SimArray(np.ascontiguousarray(out._a))


def _array(a: Any, dtype: Any = None, copy: bool = True) -> SimArray:
    """Like cupy.array: always a new device array unless copy=False allows sharing."""
    out = _asarray(a, dtype)
    return SimArray(out._a.copy()) if copy and out is a else out


def _unwrap_nested_host(a: Any) -> Any:
    # lists of SimArrays are fine for cupy.asarray; plain host data stays as it is
    if isinstance(a, (list, tuple)):
        return [_unwrap_nested_host(v) for v in a]
    return a._a if type(a) is SimArray else a


def _indices(dimensions: Any, dtype: Any = int) -> SimArray:
    """cupy.indices: a dense grid only (CuPy has no `sparse=`)."""
    return SimArray(np.indices(tuple(dimensions), dtype=dtype))


def _asnumpy(a: Any) -> np.ndarray:
    """cupy.asnumpy: the explicit download."""
    if type(a) is SimArray:
        return a._download("xp.asnumpy").copy()
    return np.asarray(a)


class _SubNamespace:
    """A nested namespace (`xp.linalg`, `xp.lib.stride_tricks`) limited to listed names."""

    def __init__(self, path: str, module: Any, names: dict[str, Any]) -> None:
        self._path = path
        self._module = module
        self._names = names

    def __getattr__(self, name: str) -> Any:
        if name not in self._names:
            raise AttributeError(f"xp.{self._path}.{name} is not offered by the simulated device")
        value = self._names[name]
        if value is None:
            return _Function(f"{self._path}.{name}", getattr(self._module, name))
        return value


class SimNamespace:
    """The `xp` of the simulated device: a CuPy-like subset of NumPy behind the wall."""

    ndarray = SimArray
    asarray = staticmethod(_asarray)
    array = staticmethod(_array)
    ascontiguousarray = staticmethod(_ascontiguousarray)
    indices = staticmethod(_indices)
    asnumpy = staticmethod(_asnumpy)

    def __init__(self) -> None:
        self.linalg = _SubNamespace(
            "linalg", np.linalg, {n: None for n in ("norm", "inv", "solve", "det", "qr", "svd")}
        )
        stride_tricks = _SubNamespace(
            "lib.stride_tricks", np.lib.stride_tricks, {"sliding_window_view": None}
        )
        self.lib = _SubNamespace("lib", None, {"stride_tricks": stride_tricks})
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        cached = self.__dict__.get("_cache", {}).get(name)
        if cached is not None:
            return cached
        if name in _PASSTHROUGH:
            return getattr(np, name)
        if name not in _FUNCTIONS:
            raise AttributeError(
                f"xp.{name} is not offered by the simulated device (CuPy 13 lacks it or it "
                "has not been checked against CuPy); write the kernel with other xp functions"
            )
        fn = getattr(np, name)
        wrapped = _Ufunc(name, fn) if isinstance(fn, np.ufunc) else _Function(name, fn)
        self._cache[name] = wrapped
        return wrapped


def _to_host(a: Any) -> np.ndarray:
    if type(a) is not SimArray:
        raise TypeError(f"sim backend: expected a SimArray, got {type(a).__name__}")
    return a._download("to_host").copy()


def _from_host(a: np.ndarray) -> SimArray:
    TRANSFERS.from_host += 1
    return SimArray(np.array(a, copy=True))


XP = SimNamespace()
BACKEND = Backend("sim", XP, _to_host, _from_host, is_gpu=False)


def install() -> Backend:
    """Register the `sim` device kind, so `device="sim0"` resolves to this backend."""
    register_backend("sim", BACKEND)
    return BACKEND
