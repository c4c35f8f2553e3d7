"""Elementwise functions (F.add, F.exp, F.relu, ...): thin wrappers over the primitives.

Operands may be Tensors, ndarrays or Python numbers. Mixed dtypes promote as
MegEngine does: int with float gives the float dtype (int32 + 1.5 is float32), and
math that is float by nature (division, exp, log, sqrt, ...) turns ints into float32.
"""

from __future__ import annotations

from typing import Any

from ..ops import activation as A
from ..ops import elementwise as P
from ..ops import transcendental as T
from ..tensor import Tensor, apply, as_float, as_tensor, binary, bool_operands, operands


def astype(x: Any, dtype: Any) -> Tensor:
    """x converted to dtype (a new tensor)."""
    return as_tensor(x).astype(dtype)


def add(x: Any, y: Any) -> Tensor:
    """Elementwise x + y with broadcasting."""
    return binary(P.add, x, y)


def sub(x: Any, y: Any) -> Tensor:
    """Elementwise x - y with broadcasting."""
    return binary(P.sub, x, y)


def mul(x: Any, y: Any) -> Tensor:
    """Elementwise x * y with broadcasting."""
    return binary(P.mul, x, y)


def div(x: Any, y: Any) -> Tensor:
    """Elementwise true division x / y; integers give float32."""
    return binary(P.div, x, y, float_result=True)


def floor_div(x: Any, y: Any) -> Tensor:
    """Elementwise x // y."""
    return binary(P.floor_div, x, y)


def mod(x: Any, y: Any) -> Tensor:
    """Elementwise x % y (integers: the sign of y; floats: the sign of x, like fmod)."""
    return binary(P.mod, x, y)


def pow(x: Any, y: Any) -> Tensor:  # noqa: A001 - MegEngine's name
    """Elementwise x ** y; integers give float32 (as MegEngine: int32 ** 2 is float32)."""
    return binary(P.pow_, x, y, float_result=True)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum of x and y."""
    return binary(P.maximum, x, y)


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum of x and y."""
    return binary(P.minimum, x, y)


def _comparison(prim: Any, doc: str) -> Any:
    def compare(x: Any, y: Any) -> Tensor:
        return binary(prim, x, y)

    compare.__name__ = prim.name
    compare.__doc__ = doc
    return compare


equal = _comparison(P.equal, "Elementwise x == y (bool).")
not_equal = _comparison(P.not_equal, "Elementwise x != y (bool).")
less = _comparison(P.less, "Elementwise x < y (bool).")
less_equal = _comparison(P.less_equal, "Elementwise x <= y (bool).")
greater = _comparison(P.greater, "Elementwise x > y (bool).")
greater_equal = _comparison(P.greater_equal, "Elementwise x >= y (bool).")


def _logical(prim: Any, doc: str) -> Any:
    def logical(x: Any, y: Any) -> Tensor:
        return apply(prim, *bool_operands(prim.name, x, y))

    logical.__name__ = prim.name
    logical.__doc__ = doc
    return logical


logical_and = _logical(P.logical_and, "Elementwise logical and of bool tensors.")
logical_or = _logical(P.logical_or, "Elementwise logical or of bool tensors.")
logical_xor = _logical(P.logical_xor, "Elementwise logical xor of bool tensors.")


def logical_not(x: Any) -> Tensor:
    """Elementwise logical not of a bool tensor."""
    return apply(P.logical_not, *bool_operands("logical_not", x))


def isnan(x: Any) -> Tensor:
    """Elementwise test for NaN (bool)."""
    return apply(P.isnan, as_tensor(x))


def isinf(x: Any) -> Tensor:
    """Elementwise test for +-inf (bool)."""
    return apply(P.isinf, as_tensor(x))


def neg(x: Any) -> Tensor:
    """Elementwise -x."""
    return apply(P.neg, as_tensor(x))


def abs(x: Any) -> Tensor:  # noqa: A001 - MegEngine's name
    """Elementwise |x|."""
    return apply(P.abs_, as_tensor(x))


def sign(x: Any) -> Tensor:
    """Elementwise sign: -1, 0 or 1."""
    return apply(P.sign, as_tensor(x))


def _float_unary(prim: Any, doc: str) -> Any:
    def fn(x: Any) -> Tensor:
        return apply(prim, as_float(x))

    fn.__name__ = prim.name
    fn.__doc__ = doc
    return fn


exp = _float_unary(P.exp, "Elementwise e ** x.")
log = _float_unary(P.log, "Elementwise natural logarithm.")
log1p = _float_unary(P.log1p, "Elementwise log(1 + x).")
sqrt = _float_unary(P.sqrt, "Elementwise square root.")
sin = _float_unary(P.sin, "Elementwise sine.")
cos = _float_unary(P.cos, "Elementwise cosine.")
tanh = _float_unary(P.tanh, "Elementwise hyperbolic tangent.")
sigmoid = _float_unary(P.sigmoid, "Elementwise logistic sigmoid 1 / (1 + e ** -x).")
gelu = _float_unary(P.gelu, "Gaussian error linear unit, exact erf form: x * Phi(x).")
silu = _float_unary(P.silu, "Sigmoid linear unit: x * sigmoid(x).")
softplus = _float_unary(P.softplus, "Elementwise log(1 + e ** x).")
erf = _float_unary(T.erf, "Elementwise error function (not in MegEngine 1.13's F; for gelu).")
sinh = _float_unary(T.sinh, "Elementwise hyperbolic sine.")
cosh = _float_unary(T.cosh, "Elementwise hyperbolic cosine.")
asinh = _float_unary(T.asinh, "Elementwise inverse hyperbolic sine.")
acosh = _float_unary(T.acosh, "Elementwise inverse hyperbolic cosine (NaN below 1).")
atanh = _float_unary(T.atanh, "Elementwise inverse hyperbolic tangent (+-inf at +-1).")
hsigmoid = _float_unary(A.hsigmoid, "Hard sigmoid: relu6(x + 3) / 6.")


def logaddexp(x: Any, y: Any) -> Tensor:
    """Elementwise log(e ** x + e ** y), computed without overflow; ints give float32."""
    x, y = operands(x, y)
    x = as_float(x) if isinstance(x, Tensor) else x
    y = as_float(y) if isinstance(y, Tensor) else y
    return apply(T.logaddexp, x, y)


def logsigmoid(inp: Any) -> Tensor:
    """log(sigmoid(inp)) = -softplus(-inp), exact for large |inp|."""
    return neg(softplus(neg(as_float(inp))))


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6); integer tensors stay integer, as in MegEngine."""
    return apply(A.relu6, as_tensor(x))


def hswish(x: Any) -> Tensor:
    """Hard swish: x * relu6(x + 3) / 6, for float tensors (MegEngine refuses integers)."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"hswish needs a float tensor, got dtype {x.dtype}")
    return apply(A.hswish, x)


def square(x: Any) -> Tensor:
    """Elementwise x * x."""
    return apply(P.square, as_tensor(x))


def relu(x: Any) -> Tensor:
    """Rectified linear unit: max(x, 0)."""
    return apply(P.relu, as_tensor(x))


def leaky_relu(inp: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return apply(P.leaky_relu, as_float(inp), negative_slope=negative_slope)


def round(x: Any) -> Tensor:  # noqa: A001 - MegEngine's name
    """Elementwise rounding to the nearest integer (halves to even)."""
    return apply(P.round_, as_tensor(x))


def floor(x: Any) -> Tensor:
    """Elementwise floor."""
    return apply(P.floor, as_tensor(x))


def ceil(x: Any) -> Tensor:
    """Elementwise ceiling."""
    return apply(P.ceil, as_tensor(x))


def clip(inp: Any, lower: float | None = None, upper: float | None = None) -> Tensor:
    """inp limited to [lower, upper]; either bound may be None."""
    if lower is None and upper is None:
        raise ValueError("clip needs at least one of lower and upper")
    return apply(P.clip, as_tensor(inp), lower=lower, upper=upper)


def where(mask: Any, x: Any, y: Any) -> Tensor:
    """Elements of x where mask is true, of y elsewhere."""
    x, y = operands(x, y)
    like = x if isinstance(x, Tensor) else y
    mask = as_tensor(mask, like)
    if mask.dtype.kind != "b":
        raise TypeError(f"where: mask must be a bool tensor, got dtype {mask.dtype}")
    if not isinstance(x, Tensor):
        x = Tensor(x, dtype=y.dtype, device=y._device)
    if not isinstance(y, Tensor):
        y = Tensor(y, dtype=x.dtype, device=x._device)
    return apply(P.where, mask, x, y)
