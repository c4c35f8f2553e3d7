"""Recorded backward passes: VJPs run on Tensors, so an outer GradManager can differentiate them.

While a GradManager that began recording earlier (an outer one) still records, an inner
`backward()` runs each VJP through `recorded_vjp`: the node's inputs, output and residuals
become Tensors carrying their recorded history, and `node.xp` becomes a `TensorNamespace`,
NumPy's names over the engine's primitives. The very rule that computes a first-order
gradient on raw arrays then builds recorded Tensors, which the outer manager differentiates
like any forward computation: second order, and every order above it.
"""

from __future__ import annotations

from typing import Any

from ..core.device import Device
from ..core.op import REGISTRY, Primitive, RecordingNamespace
from ..core.tape import one_per_input
from ..tensor import Tensor, apply

# NumPy's name -> the registry's, for the elementwise functions rules call as xp.<name>
_ELEMENTWISE = {
    name: name
    for name in (
        "exp",
        "log",
        "log1p",
        "sqrt",
        "square",
        "sin",
        "cos",
        "tanh",
        "sinh",
        "cosh",
        "abs",
        "sign",
        "floor",
        "ceil",
        "round",
        "maximum",
        "minimum",
        "logaddexp",
        "isnan",
        "isinf",
        "logical_not",
        "logical_and",
        "logical_or",
        "logical_xor",
        "equal",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
    )
} | {
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "negative": "neg",
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "div",
    "true_divide": "div",
    "power": "pow",
}
_CONSTANTS = ("inf", "nan", "pi", "e", "newaxis")


class TensorNamespace(RecordingNamespace):
    """NumPy's names over Tensors on one device: the `xp` a VJP sees while it is recorded.

    Elementwise functions, shape functions and constructors behave as NumPy's do, but
    take and return Tensors and go through `apply()`, so every step is recorded.
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self.raw = device.xp

    def __repr__(self) -> str:
        return f"TensorNamespace({self.device})"

    def __getattr__(self, name: str) -> Any:
        if name in _CONSTANTS or isinstance(getattr(self.raw, name, None), type):
            return getattr(self.raw, name)  # numbers and dtypes: the same as NumPy's
        prim = REGISTRY.get(_ELEMENTWISE.get(name, ""))
        if prim is None:
            raise AttributeError(
                f"{name!r} is not available on recorded Tensors (TensorNamespace knows "
                "NumPy's elementwise, shape and constructor functions that map to primitives)"
            )

        def elementwise(*args: Any) -> Tensor:
            return self.apply(prim, *args)

        elementwise.__name__ = name
        setattr(self, name, elementwise)  # found once per namespace
        return elementwise

    # ---- recording --------------------------------------------------------------------------
    def apply(self, prim: Primitive, *args: Any, **params: Any) -> Tensor:
        """apply() `prim` to Tensors (and constants), recording it."""
        result = apply(prim, *args, **params)
        dst = params.get("dst")
        if isinstance(dst, Device):
            result._device = dst  # a primitive that moves data (copy) names where it goes
        return result

    def asarray(self, x: Any, dtype: Any = None) -> Tensor:
        """x as a Tensor on this namespace's device (Tensors pass through)."""
        if isinstance(x, Tensor):
            return x if dtype is None or x.dtype == dtype else x.astype(dtype)
        return Tensor._wrap(self.raw.asarray(x, dtype=dtype), self.device)

    # ---- constructors: constants, not recorded ---------------------------------------------
    def zeros(self, shape: Any, dtype: Any = None) -> Tensor:
        """A constant Tensor of zeros."""
        return Tensor._wrap(self.raw.zeros(shape, dtype=dtype), self.device)

    def ones(self, shape: Any, dtype: Any = None) -> Tensor:
        """A constant Tensor of ones."""
        return Tensor._wrap(self.raw.ones(shape, dtype=dtype), self.device)

    def full(self, shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
        """A constant Tensor filled with one value."""
        return Tensor._wrap(self.raw.full(shape, fill_value, dtype=dtype), self.device)

    def arange(self, *args: Any, dtype: Any = None) -> Tensor:
        """A constant Tensor of evenly spaced values, as numpy.arange."""
        return Tensor._wrap(self.raw.arange(*args, dtype=dtype), self.device)

    def zeros_like(self, x: Tensor, dtype: Any = None) -> Tensor:
        """A constant Tensor of zeros shaped like x."""
        return self.zeros(x.shape, dtype=dtype or x.dtype)

    def ones_like(self, x: Tensor, dtype: Any = None) -> Tensor:
        """A constant Tensor of ones shaped like x."""
        return self.ones(x.shape, dtype=dtype or x.dtype)

    # ---- functions with NumPy's signatures ---------------------------------------------------
    def where(self, cond: Any, x: Any, y: Any) -> Tensor:
        """x where cond is true, else y (either may be a number)."""
        return self.apply(REGISTRY["where"], cond, x, y)

    def clip(self, x: Tensor, lower: Any, upper: Any) -> Tensor:
        """x limited to [lower, upper]."""
        return self.apply(REGISTRY["clip"], x, lower=lower, upper=upper)

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        """a @ b."""
        return self.apply(REGISTRY["matmul"], a, b)

    def dot(self, a: Tensor, b: Tensor) -> Tensor:
        """numpy.dot for vectors and matrices: a @ b."""
        return self.matmul(a, b)

    def reshape(self, x: Tensor, shape: Any) -> Tensor:
        """x with a new shape."""
        return x.reshape(shape)

    def transpose(self, x: Tensor, axes: Any = None) -> Tensor:
        """x with its axes permuted (reversed when axes is None)."""
        return self.apply(REGISTRY["transpose"], x, axes=None if axes is None else tuple(axes))

    def swapaxes(self, x: Tensor, a: int, b: int) -> Tensor:
        """x with two axes exchanged."""
        axes = list(range(x.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.transpose(x, axes)

    def moveaxis(self, x: Tensor, source: int, destination: int) -> Tensor:
        """x with one axis moved to a new position."""
        axes = list(range(x.ndim))
        axes.insert(destination % x.ndim, axes.pop(source % x.ndim))
        return self.transpose(x, axes)

    def expand_dims(self, x: Tensor, axis: Any) -> Tensor:
        """x with new size-1 axes at `axis` (an int or a tuple)."""
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        ndim = x.ndim + len(axes)
        positions = sorted(a % ndim for a in axes)
        shape = list(x.shape)
        for a in positions:
            shape.insert(a, 1)
        return x.reshape(tuple(shape))

    def broadcast_to(self, x: Any, shape: Any) -> Tensor:
        """x repeated along new or size-1 axes to `shape`."""
        return self.apply(REGISTRY["broadcast_to"], self.asarray(x), shape=tuple(shape))

    def ascontiguousarray(self, x: Tensor) -> Tensor:
        """x itself: memory layout is the kernels' business."""
        return x

    def concatenate(self, xs: Any, axis: int = 0) -> Tensor:
        """The inputs joined along axis."""
        return self.apply(REGISTRY["concat"], *xs, axis=axis)

    def pad(
        self, x: Tensor, pad_width: Any, mode: str = "constant", constant_values: Any = 0
    ) -> Tensor:
        """x padded with a constant on each side of each axis."""
        if mode != "constant":
            raise AttributeError(f"pad mode {mode!r} is not available on recorded Tensors")
        width = tuple((int(lo), int(hi)) for lo, hi in pad_width)
        return self.apply(REGISTRY["pad"], x, pad_width=width, value=constant_values)

    def flip(self, x: Tensor, axis: Any = None) -> Tensor:
        """x with the order of elements along axis (every axis when None) reversed."""
        axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
        index = [slice(None)] * x.ndim
        for a in axes:
            index[a] = slice(None, None, -1)
        return x[tuple(index)]

    def cumsum(self, x: Tensor, axis: int) -> Tensor:
        """Running sums of x along axis."""
        return self.apply(REGISTRY["cumsum"], x, axis=axis)

    def sum(self, x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum of x over axis (all when None)."""
        return x.sum(axis=axis, keepdims=keepdims)

    def take_along_axis(self, x: Tensor, indices: Any, axis: int) -> Tensor:
        """x's elements picked along axis by an integer index of the same rank."""
        return self.apply(REGISTRY["gather"], x, indices, axis=axis % x.ndim)


class _Unset:
    __slots__ = ()


_UNSET = _Unset()


class RecordedNode:
    """A node as its VJP sees it while recorded: the same fields, as Tensors with history."""

    __slots__ = ("prim", "parents", "params", "xp", "inputs", "out", "_res")

    def __init__(self, node: Any, xp: TensorNamespace) -> None:
        self.prim = node.prim
        self.parents = node.parents
        self.params = node.params
        self.xp = xp
        device = xp.device
        # arrays become Tensors (constants where nothing recorded them); numbers stay
        self.inputs = tuple(
            _lifted(a, p, device) if hasattr(a, "dtype") else a
            for a, p in zip(node.inputs, node.parents, strict=True)
        )
        self.out = _lifted(node.out, node, device) if hasattr(node.out, "dtype") else node.out
        self._res = _UNSET

    def needs_grad(self, i: int) -> bool:
        """Whether input `i` depends on an attached tensor, i.e. its gradient is used."""
        return self.parents[i] is not None

    @property
    def res(self) -> Any:
        """The forward's residuals, recomputed from the inputs on Tensors (so recorded)."""
        if self._res is _UNSET:
            _, self._res = self.prim.forward(self.xp, *self.inputs, **self.params)
        return self._res


def _lifted(array: Any, node: Any, device: Device) -> Tensor:
    t = Tensor._wrap(array, device)
    t._node = node
    return t


class BackwardError(RuntimeError):
    """A VJP or a Function's backward gave gradients that do not fit its inputs."""


_NAMESPACES: dict[int, TensorNamespace] = {}


def namespace(device: Device) -> TensorNamespace:
    """The TensorNamespace of `device` (one per device, reused)."""
    ns = _NAMESPACES.get(id(device))
    if ns is None or ns.device is not device:
        ns = _NAMESPACES[id(device)] = TensorNamespace(device)
    return ns


def recorded_vjp(node: Any, g: Tensor) -> tuple:
    """Run node's VJP on Tensors, so the gradients it returns are recorded Tensors."""
    prim = node.prim
    if not prim.higher_order:
        raise RuntimeError(
            f"{prim.name}: its VJP runs on raw arrays only, so a gradient through it cannot be "
            "differentiated again (a GradManager that began recording earlier is still "
            "recording this backward); compute this gradient without the outer manager"
        )
    view = RecordedNode(node, namespace(g._device))
    try:
        grads = prim.vjp(view, g)
    except BackwardError:
        raise
    except Exception as exc:
        raise RuntimeError(
            f"{prim.name}: its VJP cannot run on recorded Tensors, so a gradient through it "
            f"cannot be differentiated again ({type(exc).__name__}: {exc})"
        ) from exc
    for gx in one_per_input(node, grads):
        if gx is not None and not isinstance(gx, Tensor):
            raise RuntimeError(
                f"{prim.name}: its VJP returned a {type(gx).__name__}, not a Tensor, while "
                "its backward was recorded, so the gradient would silently stop there; write "
                "the rule with node.xp and Tensor operators"
            )
    return grads
