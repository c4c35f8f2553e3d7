"""Elementwise transcendental primitives: erf, the hyperbolic functions and their inverses,
and logaddexp; each forward beside its VJP and sample inputs."""

from __future__ import annotations

import math

from ..core.op import defsamples, defvjp, primitive
from .samples import binary, unary
from .special import erf as _erf

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@primitive("erf")
def erf(xp, x):
    """the error function 2/sqrt(pi) * integral of e^(-t^2) from 0 to x"""
    return _erf(xp, x)


@defvjp(erf)
def _(node, g):
    x = node.inputs[0]
    return (g * (_TWO_OVER_SQRT_PI * node.xp.exp(-x * x)),)


@primitive("sinh")
def sinh(xp, x):
    """hyperbolic sine"""
    return xp.sinh(x)


@defvjp(sinh)
def _(node, g):
    return (g * node.xp.cosh(node.inputs[0]),)


@primitive("cosh")
def cosh(xp, x):
    """hyperbolic cosine"""
    return xp.cosh(x)


@defvjp(cosh)
def _(node, g):
    return (g * node.xp.sinh(node.inputs[0]),)


@primitive("asinh")
def asinh(xp, x):
    """inverse hyperbolic sine"""
    return xp.arcsinh(x)


@defvjp(asinh)
def _(node, g):
    x = node.inputs[0]
    return (g / node.xp.sqrt(x * x + 1),)


@primitive("acosh")
def acosh(xp, x):
    """inverse hyperbolic cosine (NaN below 1)"""
    return xp.arccosh(x)


@defvjp(acosh)
def _(node, g):
    x = node.inputs[0]
    return (g / node.xp.sqrt(x * x - 1),)


@primitive("atanh")
def atanh(xp, x):
    """inverse hyperbolic tangent (+-inf at +-1, NaN beyond)"""
    return xp.arctanh(x)


@defvjp(atanh)
def _(node, g):
    x = node.inputs[0]
    return (g / (1 - x * x),)


@primitive("logaddexp")
def logaddexp(xp, x, y):
    """log(e^x + e^y) without overflow"""
    return xp.logaddexp(x, y)


@defvjp(logaddexp)
def _(node, g):
    x, y = node.inputs
    xp, out = node.xp, node.out
    gx = g * xp.exp(x - out) if node.needs_grad(0) else None
    gy = g * xp.exp(y - out) if node.needs_grad(1) else None
    return gx, gy


defsamples(erf)(lambda rng: unary(rng, -3.5, 3.5))
defsamples(sinh)(unary)
defsamples(cosh)(unary)
defsamples(asinh)(lambda rng: unary(rng, -3.0, 3.0))
defsamples(acosh)(lambda rng: unary(rng, 1.2, 4.0))
defsamples(atanh)(lambda rng: unary(rng, -0.8, 0.8))
defsamples(logaddexp)(lambda rng: binary(rng, -3.0, 3.0))
