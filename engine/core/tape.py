"""The tape: what a recording GradManager keeps (nodes in execution order) and `unbroadcast`."""

from __future__ import annotations

from typing import Any


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
