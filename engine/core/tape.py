"""The tape: what a recording GradManager keeps (nodes in execution order) and `unbroadcast`."""

from __future__ import annotations

from typing import Any, NamedTuple


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


class Leaf(NamedTuple):
    """What the node of an attached tensor carries instead of a primitive."""

    ref: Any  # a weak reference to the attached Tensor: attaching never keeps it alive
    managers: set  # the recording GradManagers that attached it

    @property
    def tensor(self) -> Any:
        """The attached Tensor (None once it has been freed)."""
        return self.ref()


class Node:
    """One recorded application of a primitive (or, with prim None, an attached leaf).

    The contract with a VJP: `prim.vjp(node, g)` returns exactly one entry per input;
    an entry may be None where `node.needs_grad(i)` is False (nobody reads it).
    """

    __slots__ = ("prim", "parents", "inputs", "out", "res", "params", "epoch", "leaf", "xp", "grad")

    def __init__(self, prim, parents, inputs, out, res, params, epoch, leaf, xp) -> None:
        self.prim = prim
        self.parents = parents
        self.inputs = inputs
        self.out = out
        self.res = res
        self.params = params
        self.epoch = epoch
        self.leaf: Leaf | None = leaf
        self.xp = xp
        self.grad = None  # the gradient flowing into this node during backward

    def needs_grad(self, i: int) -> bool:
        """Whether input `i` depends on an attached tensor, i.e. its gradient is used."""
        return self.parents[i] is not None


def input_grads(node: Node, grad: Any) -> tuple | list:
    """The VJP of `node` applied to `grad`: one entry per input, or an error naming the op."""
    return one_per_input(node, node.prim.vjp(node, grad))


def one_per_input(node: Any, grads: Any) -> tuple | list:
    """`grads` if it has one entry per input of `node`, else an error naming the op."""
    if not isinstance(grads, (tuple, list)) or len(grads) != len(node.parents):
        got = f"{len(grads)} entries" if isinstance(grads, (tuple, list)) else type(grads).__name__
        raise RuntimeError(
            f"{node.prim.name}: its VJP must return one gradient (or None) per input, "
            f"{len(node.parents)} here, but returned {got}"
        )
    return grads


def unbroadcast(grad: Any, shape: tuple, name: str) -> Any:
    """Sum a broadcast gradient back to an input's `shape` (the only place this happens)."""
    if grad.shape == shape:
        return grad
    axes, reshape = unbroadcast_plan(grad.shape, shape, name)
    if axes is None:  # a scalar-like input: one plain sum
        grad = grad.sum(keepdims=True)
        return grad.reshape(shape) if reshape else grad
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if reshape:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise RuntimeError(f"{name}: gradient of shape {grad.shape} does not fit input {shape}")
    return grad


def unbroadcast_plan(grad_shape: tuple, shape: tuple, name: str) -> tuple[Any, bool]:
    """How unbroadcast reduces a `grad_shape` gradient to `shape`: (axes to sum with
    keepdims, then reshape?); axes None: sum everything (keepdims, cheaper than a reshape
    of a NumPy scalar) for an input of one element."""
    if all(n == 1 for n in shape):
        return None, len(shape) != len(grad_shape)
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        raise RuntimeError(f"{name}: gradient of shape {grad_shape} is smaller than input {shape}")
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad_shape[extra + i] != 1
    )
    return axes, bool(extra)
