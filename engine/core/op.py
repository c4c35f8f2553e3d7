"""The primitive registry: every primitive is its forward kernel and its VJP, keyed by name.

A primitive is its forward kernel and its vector-Jacobian product (VJP) side by side.
`apply()` runs the forward on raw arrays and, only while a GradManager records and an
input depends on an attached tensor, pushes a `Node` that remembers what the VJP needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tape import Node

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

    @property
    def differentiable(self) -> bool:
        """Whether the primitive has a VJP."""
        return self.vjp is not None


REGISTRY: dict[str, Primitive] = {}


def primitive(name: str, *, residual: bool = False) -> Callable[[Forward], Primitive]:
    """Decorator registering a forward kernel as primitive `name`; attach its VJP with `.defvjp`."""

    def wrap(forward: Forward) -> Primitive:
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is registered twice")
        prim = Primitive(name, forward, residual=residual)
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
