"""Piecewise activation primitives (relu6, hsigmoid, hswish) with MegEngine's gradients at
the corners: relu6 and hsigmoid pass no gradient at their corners, hswish takes the middle
piece's slope on [-3, 3]."""

from __future__ import annotations

from ..core.op import defsamples, defvjp, primitive
from .samples import unary


@primitive("relu6")
def relu6(xp, x):
    """min(max(x, 0), 6)"""
    return xp.minimum(xp.maximum(x, 0), 6)


@defvjp(relu6)
def _(node, g):
    x, xp = node.inputs[0], node.xp
    return (xp.where(xp.logical_and(x > 0, x < 6), g, 0),)


@primitive("hsigmoid")
def hsigmoid(xp, x):
    """relu6(x + 3) / 6"""
    return xp.minimum(xp.maximum(x + 3, 0), 6) / 6


@defvjp(hsigmoid)
def _(node, g):
    x, xp = node.inputs[0], node.xp
    return (xp.where(xp.logical_and(x > -3, x < 3), g / 6, 0),)


@primitive("hswish")
def hswish(xp, x):
    """x * relu6(x + 3) / 6"""
    return x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6


@defvjp(hswish)
def _(node, g):
    x, xp = node.inputs[0], node.xp
    slope = xp.where(x < -3, 0.0, xp.where(x > 3, 1.0, (2 * x + 3) / 6))
    return (g * slope,)


def _near(*points):
    def kinks(inputs):
        x = inputs[0]
        close = abs(x - points[0]) < 0.05
        for p in points[1:]:
            close = close | (abs(x - p) < 0.05)
        return close

    return kinks


defsamples(relu6, kinks=_near(0.0, 6.0))(lambda rng: unary(rng, -2.0, 8.0))
defsamples(hsigmoid, kinks=_near(-3.0, 3.0))(lambda rng: unary(rng, -5.0, 5.0))
defsamples(hswish, kinks=_near(-3.0, 3.0))(lambda rng: unary(rng, -5.0, 5.0))
