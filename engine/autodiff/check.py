"""Finite-difference gradient checking: `check_grad` for any function, `check_primitive` per op,
`check_parameters` for a model's loss.

The analytic gradient is the VJP the engine computes through a GradManager for a random
cotangent `c`; the numeric one is the central difference of the scalar `<c, fn(x)>`,
one input element at a time. An element passes when |analytic - numeric| <= atol +
rtol * |numeric| (torch.autograd.gradcheck's rule). The tolerance defaults, the seeded
generators and the kink rule live here once; callers (tests, `mgectl verify-gradients`) ask.
"""

from __future__ import annotations

import inspect
import math
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.device import as_device, put
from ..core.op import Primitive
from ..tensor import Tensor, apply
from .grad_manager import GradManager

#: Default (eps, atol, rtol) per dtype; float32 differences are much noisier.
DEFAULT_TOLERANCES: dict[str, tuple[float, float, float]] = {
    "float64": (1e-6, 1e-5, 1e-4),
    "float32": (1e-3, 1e-2, 1e-2),
}


def tolerances(
    dtype: Any = "float64",
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> tuple[float, float, float]:
    """(eps, atol, rtol): DTYPE's defaults for those not given."""
    name = np.dtype(dtype).name
    if name not in DEFAULT_TOLERANCES:
        raise ValueError(
            f"no default gradient-check tolerances for {name}; use one of "
            + ", ".join(DEFAULT_TOLERANCES)
        )
    d_eps, d_atol, d_rtol = DEFAULT_TOLERANCES[name]
    return (
        d_eps if eps is None else eps,
        d_atol if atol is None else atol,
        d_rtol if rtol is None else rtol,
    )


def json_float(x: float) -> float | str | None:
    """NaN -> None and infinities -> 'inf'/'-inf', so a report is valid JSON."""
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def primitive_rng(name: str, seed: int = 0) -> np.random.Generator:
    """The generator checking NAME (a primitive, a parameter) draws from: fixed by (seed, name)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


class GradCheckError(AssertionError):
    """Raised by `check_grad(..., raise_on_fail=True)` when a gradient disagrees."""


@dataclass
class InputCheck:
    """How one input's analytic gradient compared with the numeric one."""

    position: int
    name: str
    shape: tuple
    checked: bool  # False for integer/bool inputs, which are not differentiated
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple | None = None
    analytic: float = math.nan
    numeric: float = math.nan
    excess: float = -math.inf  # max over elements of |a - n| / (atol + rtol |n|); > 1 fails
    passed: bool = True

    def describe(self) -> str:
        """One line naming the worst element."""
        if not self.checked:
            return f"{self.name}: not differentiated"
        return (
            f"{self.name} {self.shape}: max abs err {self.max_abs:.3g}, max rel err "
            f"{self.max_rel:.3g}; worst at {self.worst_index}: analytic {self.analytic:.8g}, "
            f"numeric {self.numeric:.8g}"
        )


@dataclass
class GradCheckResult:
    """Per-input comparison of analytic and numeric gradients for one point."""

    inputs: list[InputCheck]
    analytic: list[np.ndarray | None] = field(default_factory=list)
    numeric: list[np.ndarray | None] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every differentiated input's gradient matches."""
        return all(i.passed for i in self.inputs)

    @property
    def max_abs(self) -> float:
        """Largest absolute error over all inputs."""
        return max((i.max_abs for i in self.inputs if i.checked), default=0.0)

    @property
    def max_rel(self) -> float:
        """Largest relative error over all inputs."""
        return max((i.max_rel for i in self.inputs if i.checked), default=0.0)

    def __str__(self) -> str:
        head = "gradient check passed" if self.passed else "gradient check FAILED"
        return "\n".join([head] + ["  " + i.describe() for i in self.inputs if i.checked])

    def __bool__(self) -> bool:
        return self.passed


# ---- check_grad -----------------------------------------------------------------------------


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()
    return np.array(x, copy=True)


def _is_diff(a: np.ndarray) -> bool:
    return a.dtype.kind == "f"


def _outputs(out: Any) -> list[Tensor]:
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"check_grad: fn must return Tensor(s), got {type(o).__name__}")
        if o.dtype.kind != "f":
            raise TypeError(f"check_grad: fn returned a {o.dtype} tensor, which has no gradient")
    return outs


def _make_tensors(arrays: Sequence[np.ndarray]) -> list[Tensor]:
    return [Tensor(a, dtype=a.dtype) for a in arrays]


def analytic_grads(
    fn: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    cotangents: list[np.ndarray] | None,
    rng: np.random.Generator | None = None,
) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
    """VJP of fn at `arrays` for `cotangents` (drawn from rng when None) through a GradManager."""
    tensors = _make_tensors(arrays)
    diff = [t for t, a in zip(tensors, arrays, strict=True) if _is_diff(a)]
    gm = GradManager().attach(diff)
    with gm:
        outs = _outputs(fn(*tensors))
        if cotangents is None:
            assert rng is not None
            cotangents = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
        gm.backward(outs, [Tensor(c, dtype=c.dtype) for c in cotangents])
    grads: list[np.ndarray | None] = []
    for t, a in zip(tensors, arrays, strict=True):
        if not _is_diff(a):
            grads.append(None)
        elif t.grad is None:
            grads.append(np.zeros(a.shape, dtype=np.float64))
        else:
            grads.append(t.grad.numpy().astype(np.float64))
    return grads, cotangents


def numeric_grads(
    fn: Callable[..., Any], arrays: Sequence[np.ndarray], cotangents: list[np.ndarray], eps: float
) -> list[np.ndarray | None]:
    """Central differences of <cotangents, fn(arrays)> with respect to each float input."""
    tensors = _make_tensors(arrays)
    cots = [c.astype(np.float64) for c in cotangents]

    def value() -> float:
        outs = _outputs(fn(*tensors))
        return float(
            sum(np.sum(c * o.numpy().astype(np.float64)) for c, o in zip(cots, outs, strict=True))
        )

    grads: list[np.ndarray | None] = []
    for t, a in zip(tensors, arrays, strict=True):
        if not _is_diff(a):
            grads.append(None)
            continue
        data = t._data  # owned by this tensor (Tensor() copies), so perturbing it is safe
        g = np.zeros(a.shape, dtype=np.float64)
        for idx in np.ndindex(*a.shape):
            orig = data[idx].copy()
            data[idx] = orig + eps
            plus = value()
            data[idx] = orig - eps
            minus = value()
            data[idx] = orig
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def compare(
    analytic: np.ndarray,
    numeric: np.ndarray,
    atol: float,
    rtol: float,
    position: int = 0,
    name: str = "",
) -> InputCheck:
    """Compare two gradients element by element; the worst element is the one furthest out."""
    check = InputCheck(position, name or f"x{position}", tuple(analytic.shape), checked=True)
    if analytic.size == 0:
        return check
    err = np.abs(analytic - numeric)
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), 0.0)
    tol = atol + rtol * np.abs(numeric)
    # error as a multiple of the tolerance: the worst element is the one furthest out
    excess = np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.where(err > 0, np.inf, 0.0))
    bad = ~np.isfinite(analytic) | ~np.isfinite(numeric)
    excess = np.where(bad, np.inf, excess)
    flat = int(np.argmax(excess))
    worst = np.unravel_index(flat, analytic.shape) if analytic.ndim else ()
    check.max_abs = float(np.nanmax(np.where(bad, np.inf, err)))
    check.max_rel = float(np.nanmax(np.where(bad, np.inf, rel)))
    check.worst_index = tuple(int(i) for i in worst)
    check.analytic = float(analytic[worst]) + 0.0  # + 0.0 turns -0.0 into 0.0
    check.numeric = float(numeric[worst]) + 0.0
    check.excess = float(excess[worst])
    check.passed = bool(np.all(excess <= 1))
    return check


def check_grad(
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
    """Compare fn's analytic VJP with central differences at `inputs` (float64 recommended).

    `fn` maps Tensors to a Tensor (or a list of Tensors); float inputs are differentiated,
    integer and bool inputs are passed through unchanged. Raises GradCheckError naming the
    worst element when `raise_on_fail` and any gradient disagrees.
    """
    arrays = [_as_array(x) for x in inputs]
    rng = np.random.default_rng(seed)
    analytic, cots = analytic_grads(fn, arrays, None, rng)
    numeric = numeric_grads(fn, arrays, cots, eps)
    checks = []
    for i, (a, an, nu) in enumerate(zip(arrays, analytic, numeric, strict=True)):
        name = names[i] if names is not None else f"x{i}"
        if an is None or nu is None:
            checks.append(InputCheck(i, name, tuple(a.shape), checked=False))
        else:
            checks.append(compare(an, nu, atol, rtol, i, name))
    result = GradCheckResult(checks, analytic, numeric)
    if raise_on_fail and not result.passed:
        raise GradCheckError(str(result))
    return result


# ---- check_primitive ------------------------------------------------------------------------


@dataclass
class InputSummary:
    """One (primitive, input position) row: the worst over every sample case."""

    name: str
    cases: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_case: int | None = None
    worst_index: tuple | None = None
    analytic: float = math.nan
    numeric: float = math.nan
    excess: float = -math.inf
    passed: bool = True

    def add(self, case: int, check: InputCheck) -> None:
        """Fold one case's comparison into the row."""
        self.cases += 1
        self.max_abs = max(self.max_abs, check.max_abs)
        self.max_rel = max(self.max_rel, check.max_rel)
        self.passed = self.passed and check.passed
        if check.worst_index is not None and (
            self.worst_case is None or check.excess > self.excess
        ):
            self.worst_case = case
            self.worst_index = check.worst_index
            self.analytic, self.numeric, self.excess = check.analytic, check.numeric, check.excess

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "input": self.name,
            "cases": self.cases,
            "max_abs_error": json_float(self.max_abs),
            "max_rel_error": json_float(self.max_rel),
            "worst_case": self.worst_case,
            "worst_index": list(self.worst_index) if self.worst_index is not None else None,
            "analytic": json_float(self.analytic),
            "numeric": json_float(self.numeric),
            "passed": self.passed,
        }


@dataclass
class PrimitiveCheck:
    """Everything `check_primitive` found about one primitive."""

    name: str
    status: str  # "pass", "fail", "unchecked", "error" or "not differentiable"
    inputs: list[InputSummary] = field(default_factory=list)
    cases: int = 0
    skipped: int = 0  # sample cases dropped because they stayed on a kink
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the primitive passed (not differentiable counts as nothing to check)."""
        return self.status in ("pass", "not differentiable")

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "op": self.name,
            "status": self.status,
            "cases": self.cases,
            "skipped_cases": self.skipped,
            "seconds": round(self.seconds, 4),
            "problems": list(self.problems),
            "inputs": [i.to_dict() for i in self.inputs],
        }


def input_names(prim: Primitive, count: int) -> list[str]:
    """Names of a primitive's positional inputs, read from its forward's signature."""
    names: list[str] = []
    star: str | None = None
    try:
        params = list(inspect.signature(prim.forward).parameters.values())[1:]  # skip xp
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            star = p.name
    if star is not None:
        names += [f"{star}[{i}]" for i in range(count)]
    names = names[:count]
    return names + [f"x{i}" for i in range(len(names), count)]


def _reduce_mask(mask: np.ndarray, shape: tuple) -> np.ndarray:
    """Fold a (possibly broadcast) kink mask onto an input of `shape`."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape == shape:
        return mask
    extra = mask.ndim - len(shape)
    if extra < 0:
        return np.broadcast_to(mask, shape).copy()
    if extra:
        mask = mask.any(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and mask.shape[i] != 1)
    if axes:
        mask = mask.any(axis=axes, keepdims=True)
    return np.broadcast_to(mask, shape).copy()


def away_from_kinks(
    prim: Primitive, arrays: list[np.ndarray], rng: np.random.Generator, tries: int = 20
) -> list[np.ndarray] | None:
    """Nudge flagged points off `prim.kinks`; None when that does not succeed."""
    if prim.kinks is None:
        return arrays
    arrays = [a.copy() for a in arrays]
    targets = [i for i, a in enumerate(arrays) if _is_diff(a) and a.size]
    for attempt in range(tries):
        mask = np.asarray(prim.kinks(tuple(arrays)), dtype=bool)
        if not mask.any():
            return arrays
        if not targets:
            return None
        i = targets[attempt % len(targets)]
        near = _reduce_mask(mask, arrays[i].shape)
        step = rng.uniform(0.1, 0.3, size=arrays[i].shape) * rng.choice(
            [-1.0, 1.0], arrays[i].shape
        )
        arrays[i] = np.where(near, arrays[i] + step, arrays[i])
    return None


def _cast(arrays: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


def check_primitive(
    prim: Primitive,
    rng: np.random.Generator | int = 0,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: str = "float64",
) -> PrimitiveCheck:
    """Check every sample case of `prim`: gradients, backward twice, and cotangent scaling.

    Sample inputs come in float64 and are cast to `dtype`; integer inputs are not
    differentiated; points flagged by `prim.kinks` are nudged away (or the case skipped).
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    eps, atol, rtol = tolerances(dtype, eps, atol, rtol)
    start = time.perf_counter()
    result = PrimitiveCheck(prim.name, "pass")
    if not prim.differentiable:
        result.status = "not differentiable"
        return result
    if prim.samples is None:
        result.status = "unchecked"
        result.problems.append("differentiable but has no sample inputs (use defsamples)")
        return result
    # exact for powers of two, so only rounding in nonlinear VJPs can show up here
    same_tol = 1e-12 if np.dtype(dtype) == np.float64 else 1e-6
    rows: dict[int, InputSummary] = {}
    try:
        cases = prim.samples(rng)
        for case, (inputs, params) in enumerate(cases):
            arrays = away_from_kinks(prim, [np.array(x) for x in inputs], rng)
            if arrays is None:
                result.skipped += 1
                continue
            arrays = _cast(arrays, np.dtype(dtype))
            names = input_names(prim, len(arrays))

            # index arrays in the params go where the inputs are (the default device)
            on_device = {k: put(v, as_device(None)) for k, v in params.items()}

            def fn(*ts: Tensor, _params: dict = on_device) -> Tensor:
                return apply(prim, *ts, **_params)

            analytic, cots = analytic_grads(fn, arrays, None, rng)
            numeric = numeric_grads(fn, arrays, cots, eps)
            again, _ = analytic_grads(fn, arrays, cots)
            doubled, _ = analytic_grads(fn, arrays, [2 * c for c in cots])
            result.cases += 1
            for i, (an, nu) in enumerate(zip(analytic, numeric, strict=True)):
                if an is None or nu is None:
                    continue
                check = compare(an, nu, atol, rtol, i, names[i])
                rows.setdefault(i, InputSummary(names[i])).add(case, check)
                if not np.allclose(again[i], an, rtol=same_tol, atol=0):
                    result.problems.append(f"case {case}, {names[i]}: backward twice differs")
                if not np.allclose(doubled[i], 2 * an, rtol=same_tol, atol=same_tol):
                    result.problems.append(
                        f"case {case}, {names[i]}: doubling the cotangent does not double the "
                        "gradient"
                    )
    except Exception as exc:  # a crashing forward/VJP is a finding, not a crash of the run
        result.status = "error"
        result.problems.append(f"{type(exc).__name__}: {exc}")
    result.inputs = [rows[i] for i in sorted(rows)]
    result.seconds = time.perf_counter() - start
    if result.status == "pass":
        if result.cases == 0:
            result.status = "unchecked"
            result.problems.append("every sample case sat on a kink")
        elif result.problems or not all(r.passed for r in result.inputs):
            result.status = "fail"
    return result


def check_registry(
    names: Sequence[str] | None = None,
    *,
    seed: int = 0,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: str = "float64",
) -> list[PrimitiveCheck]:
    """Run `check_primitive` over the registry (or the given names), each seeded from `seed`."""
    from ..core.op import REGISTRY

    chosen = list(REGISTRY) if names is None else list(names)
    return [
        check_primitive(
            REGISTRY[n], primitive_rng(n, seed), eps=eps, atol=atol, rtol=rtol, dtype=dtype
        )
        for n in chosen
    ]


# ---- check_parameters -----------------------------------------------------------------------


@dataclass
class ParameterCheck:
    """How one parameter's analytic gradient compared with central differences of the loss."""

    name: str
    shape: tuple[int, ...]
    size: int
    entries: int = 0  # elements compared
    kinks: int = 0  # of those, elements on a kink (compared with a one-sided slope)
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple[int, ...] | None = None
    analytic: float = math.nan
    numeric: float = math.nan
    seconds: float = 0.0
    passed: bool = True

    @property
    def status(self) -> str:
        """'pass' or 'FAIL'."""
        return "pass" if self.passed else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "parameter": self.name,
            "shape": list(self.shape),
            "size": self.size,
            "entries": self.entries,
            "kinks": self.kinks,
            "max_abs_error": json_float(self.max_abs),
            "max_rel_error": json_float(self.max_rel),
            "worst_index": None if self.worst_index is None else list(self.worst_index),
            "analytic": json_float(self.analytic),
            "numeric": json_float(self.numeric),
            "seconds": round(self.seconds, 4),
            "passed": self.passed,
        }


@dataclass
class ParameterChecks:
    """What `check_parameters` found: the loss at the point, the settings, one row per parameter."""

    loss: float
    eps: float
    atol: float
    rtol: float
    parameters: list[ParameterCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every parameter's gradient matched."""
        return all(p.passed for p in self.parameters)

    @property
    def failed(self) -> list[str]:
        """Names of the parameters whose gradient did not match."""
        return [p.name for p in self.parameters if not p.passed]


def sample_entries(name: str, size: int, k: int | None, seed: int = 0) -> np.ndarray:
    """Sorted flat indices to check: all when K is None or SIZE <= K, else K drawn by NAME."""
    if k is None or size <= k:
        return np.arange(size)
    return np.sort(primitive_rng(name, seed).choice(size, size=k, replace=False))


def cast_in_place(tensors: Iterable[Tensor], dtype: Any) -> int:
    """Give each float tensor DTYPE in place and return how many changed.

    The Tensor objects stay (optimizers and GradManagers holding them keep working); only
    their arrays are replaced. This is how a check runs a float32 model in float64.
    """
    dtype = np.dtype(dtype)
    changed = 0
    for tensor in tensors:
        if tensor.dtype.kind == "f" and tensor.dtype != dtype:
            tensor._data = tensor._data.astype(dtype)
            changed += 1
    return changed


def kink_slope(
    analytic: float, central: float, right: float, left: float, atol: float, rtol: float
) -> float | None:
    """The one-sided slope to compare with when the element sits on a kink, else None.

    On a kink (ReLU at 0, a max-pooling tie) the central difference averages two one-sided
    slopes; an element that fails the central comparison while the slopes jump, and whose
    analytic value matches one side, is compared with that side.
    """
    tol = atol + rtol * abs(central)
    if abs(analytic - central) <= tol or abs(right - left) <= tol:
        return None  # the central difference agrees, or there is no slope jump
    side = min((right, left), key=lambda s: abs(analytic - s))
    return side if abs(analytic - side) <= atol + rtol * abs(side) else None


def _slopes(
    loss_at: Callable[[], float], data: Any, index: tuple[int, ...], eps: float, base: float
) -> tuple[float, float, float]:
    """(central, right, left) difference quotients of the loss in one element of DATA."""
    orig = data[index].copy()
    data[index] = orig + eps
    plus = loss_at()
    data[index] = orig - eps
    minus = loss_at()
    data[index] = orig
    return (plus - minus) / (2 * eps), (plus - base) / eps, (base - minus) / eps


def _check_one(
    name: str,
    param: Tensor,
    grad: np.ndarray,
    loss_at: Callable[[], float],
    base: float,
    indices: np.ndarray,
    eps: float,
    atol: float,
    rtol: float,
) -> ParameterCheck:
    """Compare GRAD with central differences of LOSS_AT at INDICES of PARAM."""
    started = time.perf_counter()
    shape = tuple(int(n) for n in param.shape)
    row = ParameterCheck(name, shape, int(param.size), entries=len(indices))
    analytic = np.empty(len(indices))
    numeric = np.empty(len(indices))
    data = param._data  # perturbed in place and restored element by element
    for i, flat in enumerate(indices):
        index = tuple(int(j) for j in np.unravel_index(int(flat), shape))
        a = float(grad[index])
        central, right, left = _slopes(loss_at, data, index, eps, base)
        side = kink_slope(a, central, right, left, atol, rtol)
        row.kinks += int(side is not None)
        analytic[i], numeric[i] = a, central if side is None else side
    if len(indices):
        found = compare(analytic, numeric, atol, rtol, name=name)
        worst = int(indices[found.worst_index[0]])
        row.max_abs, row.max_rel, row.passed = found.max_abs, found.max_rel, found.passed
        row.worst_index = tuple(int(j) for j in np.unravel_index(worst, shape))
        row.analytic, row.numeric = found.analytic, found.numeric
    row.seconds = time.perf_counter() - started
    return row


def check_parameters(
    loss_fn: Callable[[], Tensor],
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]],
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    entries: int | None = None,
) -> ParameterChecks:
    """Compare the gradient of the scalar `loss_fn()` with central differences, per parameter.

    `params` are (name, tensor) pairs, e.g. `model.named_parameters()`; each is perturbed in
    place and restored. Up to `entries` elements per parameter are compared (drawn by (seed,
    name); all when None). Kinks get the one-sided slope (`kink_slope`). Tolerances default
    to the parameters' precision (float32's when any parameter is float32).
    """
    named = list(params.items()) if isinstance(params, Mapping) else list(params)
    if entries is not None and entries < 1:
        raise ValueError(f"entries must be >= 1 or None, got {entries}")
    widest = "float64" if all(p.dtype == np.float64 for _, p in named) else "float32"
    eps, atol, rtol = tolerances(widest, eps, atol, rtol)
    held = [p.grad for _, p in named]  # backward adds to .grad: start from none, then restore
    for _, p in named:
        p.grad = None
    gm = GradManager().attach([p for _, p in named])
    with gm:
        gm.backward(loss_fn())
    grads = {
        n: np.zeros(p.shape) if p.grad is None else p.grad.numpy().astype(np.float64)
        for n, p in named
    }
    for (_, p), g in zip(named, held, strict=True):
        p.grad = g

    def loss_at() -> float:
        return float(loss_fn().numpy())

    base = loss_at()
    result = ParameterChecks(base, eps, atol, rtol)
    for name, param in named:
        indices = sample_entries(name, int(param.size), entries, seed)
        result.parameters.append(
            _check_one(name, param, grads[name], loss_at, base, indices, eps, atol, rtol)
        )
    return result
