"""The primitive registry and `apply()`: the one door every computation goes through.

A primitive is its forward kernel and its vector-Jacobian product (VJP) side by side.
`apply()` runs the forward on raw arrays and, only while a GradManager records and an
input depends on an attached tensor, pushes a `Node` that remembers what the VJP needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Forward = Callable[..., Any]
Vjp = Callable[["Node", Any], tuple]


@dataclass
class Primitive:
    """One registered operation: forward kernel, VJP and the inputs verify-gradients uses."""

    name: str
    forward: Forward
    vjp: Vjp | None = None
    residual: bool = False  # forward returns (out, residual) and the VJP reads node.res
    samples: Callable[[Any], list] | None = None  # rng -> [(inputs, params), ...] in float64
    kinks: Callable[..., Any] | None = None  # inputs -> bool mask of points to avoid
    doc: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def differentiable(self) -> bool:
        """Whether the primitive has a VJP."""
        return self.vjp is not None


REGISTRY: dict[str, Primitive] = {}


def primitive(
    name: str,
    *,
    residual: bool = False,
    doc: str = "",
) -> Callable[[Forward], Primitive]:
    """Decorator registering a forward kernel as primitive `name`; attach its VJP with `.defvjp`."""

    def wrap(forward: Forward) -> Primitive:
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is registered twice")
        prim = Primitive(name, forward, residual=residual, doc=doc or (forward.__doc__ or ""))
        REGISTRY[name] = prim
        return prim

    return wrap


def defvjp(prim: Primitive) -> Callable[[Vjp], Vjp]:
    """Decorator setting the VJP of `prim`: `vjp(node, grad) -> one gradient per input`."""

    def wrap(vjp: Vjp) -> Vjp:
        prim.vjp = vjp
        return vjp

    return wrap


def defsamples(prim: Primitive, kinks: Callable[..., Any] | None = None) -> Callable:
    """Decorator setting the sample inputs `verify-gradients` checks `prim` with."""

    def wrap(samples: Callable[[Any], list]) -> Callable[[Any], list]:
        prim.samples = samples
        prim.kinks = kinks
        return samples

    return wrap


class _Recording:
    """Global recording state: how many managers record, the epoch, and the tape.

    The tape lists recorded nodes in execution order, so backward is one reverse walk
    over it; nodes of an earlier recording carry an older epoch and count as constants.
    """

    __slots__ = ("active", "epoch", "tape")

    def __init__(self) -> None:
        self.active = 0
        self.epoch = 0
        self.tape: list[Node] = []


RECORDING = _Recording()


class Node:
    """One recorded application of a primitive (or, with prim None, an attached leaf)."""

    __slots__ = ("prim", "parents", "inputs", "out", "res", "params", "epoch", "leaf", "xp", "grad")

    def __init__(self, prim, parents, inputs, out, res, params, epoch, leaf, xp) -> None:
        self.prim = prim
        self.parents = parents
        self.inputs = inputs
        self.out = out
        self.res = res
        self.params = params
        self.epoch = epoch
        self.leaf = leaf  # for leaves: (the attached tensor, the managers attaching it)
        self.xp = xp
        self.grad = None  # the gradient flowing into this node during backward


def unbroadcast(grad: Any, shape: tuple, name: str) -> Any:
    """Sum a broadcast gradient back to an input's `shape` (the only place this happens)."""
    if grad.shape == shape:
        return grad
    if shape == (1,) or shape == ():
        return grad.sum().reshape(shape)  # a scalar-like input: one plain sum
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"{name}: gradient of shape {grad.shape} is smaller than input {shape}")
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise RuntimeError(f"{name}: gradient of shape {grad.shape} does not fit input {shape}")
    return grad
