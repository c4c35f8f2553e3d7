"""Second-order checks: a VJP's own VJP against central differences of the VJP (gradgradcheck).

`vjp_function(fn)` turns fn into the function (inputs..., dy) -> d<dy, fn>/d(inputs),
computed by an inner GradManager. Checking that function with check.py's first-order
machinery compares the outer manager's gradient of the recorded backward (second order)
with central differences of plain first-order backward passes, which is what PyTorch's
gradgradcheck does. The cotangent dy is an input too, so the VJP's linearity in dy is
checked along with its derivative in the inputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.device import as_device, put
from ..core.op import Primitive
from ..tensor import Tensor, apply
from .check import (
    GradCheckError,
    GradCheckResult,
    InputCheck,
    InputSummary,
    PrimitiveCheck,
    _as_array,
    _cast,
    analytic_grads,
    away_from_kinks,
    compare,
    input_names,
    numeric_grads,
    tolerances,
)
from .grad_manager import GradManager


def vjp_function(fn: Callable[..., Any]) -> Callable[..., list[Tensor]]:
    """(inputs..., dy) -> the gradient of <dy, fn(inputs)> for each float input, as Tensors.

    Run while another GradManager records, the gradients are recorded Tensors (the
    inner backward is recorded), so that manager can differentiate them again.
    """

    def vjp(*args: Tensor) -> list[Tensor]:
        *xs, dy = args
        diff = [x for x in xs if x.dtype.kind == "f"]
        gm = GradManager().attach(diff)
        with gm:
            gm.backward(fn(*xs), dy)
        grads = []
        for x in diff:
            g = x.grad
            x.grad = None  # the outer manager's gradient must not add onto this one
            grads.append(g if g is not None else Tensor(np.zeros(x.shape), dtype=x.dtype))
        return grads

    return vjp


def _output_like(fn: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Tensor:
    out = fn(*[Tensor(a, dtype=a.dtype) for a in arrays])
    if not isinstance(out, Tensor):
        raise TypeError(f"second-order checks need fn to return one Tensor, got {type(out)}")
    return out


def check_gradgrad(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    raise_on_fail: bool = True,
    names: Sequence[str] | None = None,
) -> GradCheckResult:
    """Compare the second-order gradient of fn (through its recorded VJP) with differences.

    The checked function is (inputs..., dy) -> fn's VJP; `dy` is drawn from `seed`. Rows
    are the float inputs then `dy`. Raises GradCheckError when `raise_on_fail` and any
    element disagrees.
    """
    arrays = [_as_array(x) for x in inputs]
    rng = np.random.default_rng(seed)
    out = _output_like(fn, arrays)
    dy = rng.standard_normal(out.shape).astype(out.dtype)
    result = _compare_vjp(fn, [*arrays, dy], rng, eps, atol, rtol)
    labels = list(names) if names is not None else [f"x{i}" for i in range(len(arrays))]
    for check, label in zip(result.inputs, [*labels, "dy"], strict=True):
        check.name = label
    if raise_on_fail and not result.passed:
        raise GradCheckError("second-order " + str(result))
    return result


def _compare_vjp(
    fn: Callable[..., Any],
    arrays: list[np.ndarray],
    rng: np.random.Generator,
    eps: float,
    atol: float,
    rtol: float,
) -> GradCheckResult:
    vjp = vjp_function(fn)
    analytic, cots = analytic_grads(vjp, arrays, None, rng)
    numeric = numeric_grads(vjp, arrays, cots, eps)
    checks = []
    for i, (a, an, nu) in enumerate(zip(arrays, analytic, numeric, strict=True)):
        if an is None or nu is None:
            checks.append(InputCheck(i, f"x{i}", tuple(a.shape), checked=False))
        else:
            checks.append(compare(an, nu, atol, rtol, i, f"x{i}"))
    return GradCheckResult(checks, analytic, numeric)


def check_primitive_second(
    prim: Primitive,
    rng: np.random.Generator | int = 0,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: str = "float64",
) -> PrimitiveCheck:
    """Check every sample case of `prim` to second order: its VJP's VJP against differences.

    Status "first-order only" for a primitive whose VJP runs on raw arrays only (it is
    not checked further); otherwise as check_primitive. The last row is the cotangent.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    eps, atol, rtol = tolerances(dtype, eps, atol, rtol)
    start = time.perf_counter()
    result = PrimitiveCheck(prim.name, "pass")
    if not prim.differentiable:
        result.status = "not differentiable"
        return result
    if not prim.higher_order:
        result.status = "first-order only"
        return result
    if prim.samples is None:
        result.status = "unchecked"
        result.problems.append("differentiable but has no sample inputs (use defsamples)")
        return result
    rows: dict[int, InputSummary] = {}
    try:
        for case, (inputs, params) in enumerate(prim.samples(rng)):
            arrays = away_from_kinks(prim, [np.array(x) for x in inputs], rng)
            if arrays is None:
                result.skipped += 1
                continue
            arrays = _cast(arrays, np.dtype(dtype))
            names = [*input_names(prim, len(arrays)), "dy"]
            on_device = {k: put(v, as_device(None)) for k, v in params.items()}

            def fn(*ts: Tensor, _params: dict = on_device) -> Tensor:
                return apply(prim, *ts, **_params)

            out = _output_like(fn, arrays)
            dy = rng.standard_normal(out.shape).astype(out.dtype)
            checked = _compare_vjp(fn, [*arrays, dy], rng, eps, atol, rtol)
            result.cases += 1
            for i, check in enumerate(checked.inputs):
                if check.checked:
                    check.name = names[i]
                    rows.setdefault(i, InputSummary(names[i])).add(case, check)
    except Exception as exc:  # a VJP that cannot be recorded is a finding, not a crash
        result.status = "error"
        result.problems.append(f"{type(exc).__name__}: {exc}")
    result.inputs = [rows[i] for i in sorted(rows)]
    result.seconds = time.perf_counter() - start
    if result.status == "pass":
        if result.cases == 0:
            result.status = "unchecked"
            result.problems.append("every sample case sat on a kink")
        elif not all(r.passed for r in result.inputs):
            result.status = "fail"
    return result


def first_order_only(names: Sequence[str] | None = None) -> list[str]:
    """Registered differentiable primitives whose VJP cannot be differentiated again."""
    from ..core.op import REGISTRY

    chosen = REGISTRY if names is None else {n: REGISTRY[n] for n in names}
    return [n for n, p in chosen.items() if p.differentiable and not p.higher_order]
