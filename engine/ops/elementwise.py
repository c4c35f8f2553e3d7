"""Elementwise primitives: forward kernel and VJP side by side, with sample inputs.

Kernels receive the array namespace `xp` of their device first and never import NumPy
for math, so the same code runs on CuPy. Broadcast gradients are reduced to input
shapes by the engine (`core.tape.unbroadcast`), so VJPs may return broadcast shapes.
"""

from __future__ import annotations

import math

import numpy as np  # only for host-side sample inputs and kink masks, never in kernels

from ..core.op import InPlace, defsamples, defvjp, primitive
from .samples import binary, unary
from .transcendental import erf

# ---- binary arithmetic ------------------------------------------------------------------


@primitive("add", fresh=True, in_place=InPlace("add", (0, 1)))
def add(xp, x, y):
    """x + y"""
    return x + y


@defvjp(add, reads=())
def _(node, g):
    return g, g


@primitive("sub", fresh=True, in_place=InPlace("subtract", (0,)))
def sub(xp, x, y):
    """x - y"""
    return x - y


@defvjp(sub, reads=())
def _(node, g):
    return g, (-g if node.needs_grad(1) else None)


@primitive("mul", fresh=True, in_place=InPlace("multiply", (0, 1)))
def mul(xp, x, y):
    """x * y"""
    return x * y


@defvjp(mul, reads=("inputs",))
def _(node, g):
    x, y = node.inputs
    gx = _scale_grad(node.xp, g, y, x) if node.needs_grad(0) else None
    gy = _scale_grad(node.xp, g, x, y) if node.needs_grad(1) else None
    return gx, gy


def dot_scale_grad(scale_shape: tuple, other_shape: tuple | None, g_shape: tuple) -> bool:
    """Whether mul's gradient for `scale` is one dot product: scale is a single number
    broadcast over an array `other` of the output's shape (w * x with w of shape (1,))."""
    return math.prod(scale_shape) == 1 and other_shape == g_shape and len(g_shape) > 0


def _scale_grad(xp, g, other, scale):
    """d(scale * other)/d(scale): g * other, or one dot product (see dot_scale_grad)."""
    if dot_scale_grad(scale.shape, getattr(other, "shape", None), g.shape):
        grad = xp.dot(other.reshape(1, -1), g if g.ndim == 1 else g.reshape(-1))  # shape (1,)
        return grad if scale.shape == (1,) else grad.reshape(scale.shape)
    return g * other


@primitive("div", fresh=True, in_place=InPlace("divide", (0,)))
def div(xp, x, y):
    """x / y (true division)"""
    return x / y


@defvjp(div)
def _(node, g):
    x, y = node.inputs
    gx = g / y
    gy = -gx * node.out if node.needs_grad(1) else None
    return gx, gy


@primitive("pow")
def pow_(xp, x, y):
    """x ** y"""
    return x**y


@defvjp(pow_)
def _(node, g):
    x, y = node.inputs
    xp = node.xp
    gx = g * y * x ** (y - 1) if node.needs_grad(0) else None
    gy = g * node.out * xp.log(x) if node.needs_grad(1) else None
    return gx, gy


@primitive("maximum")
def maximum(xp, x, y):
    """Elementwise maximum; at ties the gradient goes to x."""
    return xp.maximum(x, y)


@defvjp(maximum)
def _(node, g):
    x, y = node.inputs
    xp, first = node.xp, x >= y
    return xp.where(first, g, 0), xp.where(first, 0, g)


@primitive("minimum")
def minimum(xp, x, y):
    """Elementwise minimum; at ties the gradient goes to x."""
    return xp.minimum(x, y)


@defvjp(minimum)
def _(node, g):
    x, y = node.inputs
    xp, first = node.xp, x <= y
    return xp.where(first, g, 0), xp.where(first, 0, g)


@primitive("floor_div")
def floor_div(xp, x, y):
    """x // y (not differentiable)"""
    return x // y


@primitive("mod")
def mod(xp, x, y):
    """x % y: integers take the sign of y (like Python), floats that of x (fmod), as MegEngine"""
    if getattr(x, "dtype", None) is not None and x.dtype.kind == "f":
        return xp.fmod(x, y)
    if getattr(y, "dtype", None) is not None and y.dtype.kind == "f":
        return xp.fmod(x, y)
    return x % y


def _ties_apart(inputs):
    x, y = inputs
    return abs(x - y) < 0.05


defsamples(add)(binary)
defsamples(sub)(binary)
defsamples(mul)(  # plus the tutorial's w * x, w of shape (1,): the dot-product gradient path
    lambda rng: (
        binary(rng)
        + [((rng.uniform(-2, 2, (1,)), rng.uniform(-2, 2, (5,))), {})]
        + [((rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (1,))), {})]
    )
)
defsamples(div)(lambda rng: binary(rng, low2=0.5, high2=2.0))
defsamples(pow_)(lambda rng: binary(rng, low=0.5, high=2.0))
defsamples(maximum, kinks=_ties_apart)(binary)
defsamples(minimum, kinks=_ties_apart)(binary)

# ---- comparisons and predicates (bool results: registered without a VJP) ------------------

equal = primitive("equal")(lambda xp, x, y: x == y)
not_equal = primitive("not_equal")(lambda xp, x, y: x != y)
less = primitive("less")(lambda xp, x, y: x < y)
less_equal = primitive("less_equal")(lambda xp, x, y: x <= y)
greater = primitive("greater")(lambda xp, x, y: x > y)
greater_equal = primitive("greater_equal")(lambda xp, x, y: x >= y)
isnan = primitive("isnan")(lambda xp, x: xp.isnan(x))
isinf = primitive("isinf")(lambda xp, x: xp.isinf(x))
logical_not = primitive("logical_not")(lambda xp, x: xp.logical_not(x))
logical_and = primitive("logical_and")(lambda xp, x, y: xp.logical_and(x, y))
logical_or = primitive("logical_or")(lambda xp, x, y: xp.logical_or(x, y))
logical_xor = primitive("logical_xor")(lambda xp, x, y: xp.logical_xor(x, y))

# ---- unary math -------------------------------------------------------------------------


@primitive("neg", fresh=True)
def neg(xp, x):
    """-x"""
    return -x


@defvjp(neg)
def _(node, g):
    return (-g,)


@primitive("abs")
def abs_(xp, x):
    """|x|"""
    return xp.abs(x)


@defvjp(abs_)
def _(node, g):
    return (g * node.xp.sign(node.inputs[0]),)


@primitive("sign")
def sign(xp, x):
    """-1, 0 or 1; its gradient is zero"""
    return xp.sign(x)


@defvjp(sign)
def _(node, g):
    return (g * 0,)


@primitive("exp", fresh=True)
def exp(xp, x):
    """e ** x"""
    return xp.exp(x)


@defvjp(exp)
def _(node, g):
    return (g * node.out,)


@primitive("log")
def log(xp, x):
    """natural logarithm"""
    return xp.log(x)


@defvjp(log)
def _(node, g):
    return (g / node.inputs[0],)


@primitive("log1p")
def log1p(xp, x):
    """log(1 + x), accurate near 0"""
    return xp.log1p(x)


@defvjp(log1p)
def _(node, g):
    return (g / (1 + node.inputs[0]),)


@primitive("sqrt")
def sqrt(xp, x):
    """square root"""
    return xp.sqrt(x)


@defvjp(sqrt)
def _(node, g):
    return (g / (2 * node.out),)


@primitive("square")
def square(xp, x):
    """x * x"""
    return x * x


@defvjp(square)
def _(node, g):
    return (2 * g * node.inputs[0],)


@primitive("sin")
def sin(xp, x):
    """sine"""
    return xp.sin(x)


@defvjp(sin)
def _(node, g):
    return (g * node.xp.cos(node.inputs[0]),)


@primitive("cos")
def cos(xp, x):
    """cosine"""
    return xp.cos(x)


@defvjp(cos)
def _(node, g):
    return (-g * node.xp.sin(node.inputs[0]),)


@primitive("tanh")
def tanh(xp, x):
    """hyperbolic tangent"""
    return xp.tanh(x)


@defvjp(tanh)
def _(node, g):
    out = node.out
    return (g * (1 - out * out),)


def _sigmoid(xp, x):
    # 0.5 * (1 + tanh(x / 2)) never overflows, unlike 1 / (1 + exp(-x)).
    return 0.5 + 0.5 * xp.tanh(0.5 * x)


@primitive("sigmoid")
def sigmoid(xp, x):
    """1 / (1 + e ** -x)"""
    return _sigmoid(xp, x)


@defvjp(sigmoid)
def _(node, g):
    out = node.out
    return (g * out * (1 - out),)


@primitive("relu", fresh=True, in_place=InPlace("maximum", (0,), (0,)))
def relu(xp, x):
    """max(x, 0)"""
    return xp.maximum(x, 0)


@defvjp(relu, reads=("out",))
def _(node, g):
    return (g * (node.out > 0),)  # out > 0 exactly where x > 0; x itself may be reused


@primitive("leaky_relu")
def leaky_relu(xp, x, *, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise"""
    return xp.where(x > 0, x, x * negative_slope)


@defvjp(leaky_relu)
def _(node, g):
    slope = node.params["negative_slope"]
    return (node.xp.where(node.inputs[0] > 0, g, g * slope),)


_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


@primitive("gelu")
def gelu(xp, x):
    """x * Phi(x), the exact (erf) form; erf is the primitive, so the VJP records it"""
    return 0.5 * x * (1 + erf(xp, x * _SQRT_HALF))


@defvjp(gelu)
def _(node, g):
    xp, x = node.xp, node.inputs[0]
    cdf = 0.5 * (1 + erf(xp, x * _SQRT_HALF))
    pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
    return (g * (cdf + x * pdf),)


@primitive("silu")
def silu(xp, x):
    """x * sigmoid(x)"""
    return x * _sigmoid(xp, x)


@defvjp(silu)
def _(node, g):
    x = node.inputs[0]
    s = _sigmoid(node.xp, x)
    return (g * (s + x * s * (1 - s)),)


@primitive("softplus")
def softplus(xp, x):
    """log(1 + e ** x), computed without overflow"""
    return xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(x, 0)


@defvjp(softplus)
def _(node, g):
    return (g * _sigmoid(node.xp, node.inputs[0]),)


def _zero_grad(node, g):
    return (g * 0,)


# rounding: halves to even for round; all three have a zero gradient
round_ = primitive("round")(lambda xp, x: xp.round(x))
floor = primitive("floor")(lambda xp, x: xp.floor(x))
ceil = primitive("ceil")(lambda xp, x: xp.ceil(x))
for _p in (round_, floor, ceil):
    defvjp(_p)(_zero_grad)


@primitive("clip")
def clip(xp, x, *, lower=None, upper=None):
    """x limited to [lower, upper] (either bound may be None)"""
    return xp.clip(x, lower, upper)


@defvjp(clip)
def _(node, g):
    x = node.inputs[0]
    lower, upper = node.params["lower"], node.params["upper"]
    mask = True
    if lower is not None:
        mask = x >= lower
    if upper is not None:
        mask = node.xp.logical_and(mask, x <= upper)
    return (g * mask,)


@primitive("where")
def where(xp, cond, x, y):
    """x where cond is true, else y"""
    return xp.where(cond, x, y)


@defvjp(where)
def _(node, g):
    xp, cond = node.xp, node.inputs[0]
    return None, xp.where(cond, g, 0), xp.where(cond, 0, g)


@primitive("astype")
def astype(xp, x, *, dtype):
    """x converted to dtype (a copy)"""
    return x.astype(dtype)


@defvjp(astype)
def _(node, g):
    x = node.inputs[0]
    return (g.astype(x.dtype) if x.dtype.kind == "f" else None,)


def _near_int(inputs):
    x = inputs[0]
    return abs(x - np.round(x)) < 0.05


def _near_half(inputs):
    x = inputs[0]
    return abs(x - np.floor(x) - 0.5) < 0.05


for _p in (neg, exp, sin, cos, tanh, sigmoid, gelu, silu, softplus, square):
    defsamples(_p)(unary)
defsamples(abs_, kinks=lambda i: abs(i[0]) < 0.05)(unary)
defsamples(relu, kinks=lambda i: abs(i[0]) < 0.05)(unary)
defsamples(sign, kinks=lambda i: abs(i[0]) < 0.05)(unary)
defsamples(leaky_relu, kinks=lambda i: abs(i[0]) < 0.05)(lambda rng: unary(rng, negative_slope=0.1))
defsamples(log)(lambda rng: unary(rng, 0.2, 3.0))
defsamples(log1p)(lambda rng: unary(rng, -0.5, 3.0))
defsamples(sqrt)(lambda rng: unary(rng, 0.2, 3.0))
defsamples(floor, kinks=_near_int)(unary)
defsamples(ceil, kinks=_near_int)(unary)
defsamples(round_, kinks=_near_half)(unary)
defsamples(clip, kinks=lambda i: (abs(i[0] + 1) < 0.05) | (abs(i[0] - 0.5) < 0.05))(
    lambda rng: unary(rng, lower=-1.0, upper=0.5)
)
defsamples(astype)(lambda rng: unary(rng, dtype=np.dtype("float64")))
defsamples(where)(
    lambda rng: [
        ((rng.uniform(size=(2, 3)) > 0.5, rng.normal(size=(2, 3)), rng.normal(size=(3,))), {}),
        ((rng.uniform(size=(4,)) > 0.5, rng.normal(size=(4,)), rng.normal(size=())), {}),
    ]
)
