"""The primitive registry: every primitive is its forward kernel and its VJP, keyed by name.

A primitive is its forward kernel and its vector-Jacobian product (VJP) side by side.
`apply()` runs the forward on raw arrays and, only while a GradManager records and an
input depends on an attached tensor, pushes a `Node` that remembers what the VJP needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .tape import Node

Forward = Callable[..., Any]
Vjp = Callable[["Node", Any], tuple]


class InPlace(NamedTuple):
    """A forward that is one ufunc: `ufunc(*inputs, *constants)`, and the inputs the result
    may be written into (for commutative ufuncs either one: the same bits)."""

    ufunc: str
    operands: tuple
    constants: tuple = ()


@dataclass
class Primitive:
    """One registered operation: forward kernel, VJP and the inputs verify-gradients uses."""

    name: str
    forward: Forward
    vjp: Vjp | None = None
    residual: bool = False  # forward returns (out, residual) and the VJP reads node.res
    samples: Callable[[Any], list] | None = None  # rng -> [(inputs, params), ...] in float64
    kinks: Callable[..., Any] | None = None  # inputs -> bool mask of points to avoid
    # False when the VJP only runs on raw arrays: its backward cannot be recorded, so
    # gradients of order two and above raise an error naming the primitive
    higher_order: bool = True
    # what the VJP reads of its node: a trace's replay hands it only these, so buffers it
    # never reads can be reused (see engine.jit.program)
    vjp_reads: frozenset = frozenset({"inputs", "out", "res"})
    # the result is always a new array of its own, never a view of an input or residual
    fresh: bool = False
    # the forward is one ufunc, so a replay may write its result into one of the operands
    # when nobody reads it again (see engine.jit.buffers)
    in_place: InPlace | None = None

    @property
    def differentiable(self) -> bool:
        """Whether the primitive has a VJP."""
        return self.vjp is not None

    def __call__(self, xp: Any, *args: Any, **params: Any) -> Any:
        """Run the kernel on `xp`'s arrays; on a recording namespace, apply() it to Tensors.

        This is how kernels and VJPs use other primitives (gelu's erf, conv2d's im2col):
        the same line runs at full speed on raw arrays and is recorded, and so can be
        differentiated again, while an outer GradManager records a backward pass.
        """
        if isinstance(xp, RecordingNamespace):
            return xp.apply(self, *args, **params)
        out = self.forward(xp, *args, **params)
        return out[0] if self.residual else out


class RecordingNamespace:
    """Base of array namespaces whose arrays are Tensors recorded for autodiff."""

    def apply(self, prim: Primitive, *args: Any, **params: Any) -> Any:
        """Apply `prim` to Tensors, recording it."""
        raise NotImplementedError


REGISTRY: dict[str, Primitive] = {}


def primitive(
    name: str,
    *,
    residual: bool = False,
    higher_order: bool = True,
    fresh: bool = False,
    in_place: InPlace | None = None,
) -> Callable[[Forward], Primitive]:
    """Decorator registering a forward kernel as primitive `name`; attach its VJP with `.defvjp`.

    A VJP takes the node and the output gradient and returns one gradient per input,
    computed with `node.xp`, operators and other primitives called as `prim(xp, ...)`;
    written that way it also runs on Tensors, which is what makes it differentiable
    again. `higher_order=False` marks a VJP that only runs on raw arrays. `fresh` and
    `in_place` are promises about the forward's result that a trace's buffer planning
    relies on (tests check them on the samples).
    """

    def wrap(forward: Forward) -> Primitive:
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is registered twice")
        prim = Primitive(
            name,
            forward,
            residual=residual,
            higher_order=higher_order,
            fresh=fresh,
            in_place=in_place,
        )
        REGISTRY[name] = prim
        return prim

    return wrap


def defvjp(prim: Primitive, reads: tuple = ("inputs", "out", "res")) -> Callable[[Vjp], Vjp]:
    """Decorator setting the VJP of `prim`: `vjp(node, grad) -> one gradient per input`.

    `reads` names the node fields the VJP uses (of inputs, out, res); declare fewer only
    when true, as a trace's replay passes nothing else (tests compare replay and eager).
    """
    unknown = set(reads) - {"inputs", "out", "res"}
    if unknown:
        raise ValueError(f"defvjp({prim.name}): unknown node fields {sorted(unknown)}")

    def wrap(vjp: Vjp) -> Vjp:
        prim.vjp = vjp
        prim.vjp_reads = frozenset(reads)
        return vjp

    return wrap


def defsamples(prim: Primitive, kinks: Callable[..., Any] | None = None) -> Callable:
    """Decorator setting the sample inputs `verify-gradients` checks `prim` with."""

    def wrap(samples: Callable[[Any], list]) -> Callable[[Any], list]:
        prim.samples = samples
        prim.kinks = kinks
        return samples

    return wrap
