"""``mgectl verify-gradients``: check every primitive's VJP against central differences."""

from __future__ import annotations

import fnmatch
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from mgectl.commands._options import examples

EPILOG = examples(
    "mgectl verify-gradients",
    "mgectl verify-gradients --op 'soft*' --op matmul",
    "mgectl verify-gradients --dtype float32",
    "mgectl verify-gradients --seed 3 --json gradients.json",
)
DTYPES = ("float64", "float32")
FLOAT32_WARNING = (
    "warning: float32 central differences are noisy (tolerances loosened); "
    "float64 is the trustworthy check"
)


def select_primitives(patterns: list[str], registry: dict[str, Any]) -> list[str]:
    """Registry names matching any glob in `patterns` (all when empty), in registry order."""
    from mgectl.errors import UserError

    if not patterns:
        return list(registry)
    unmatched = [p for p in patterns if not fnmatch.filter(registry, p)]
    if unmatched:
        raise UserError(
            f"--op {', '.join(repr(p) for p in unmatched)} matches no primitive",
            hint="primitives: " + ", ".join(sorted(registry)),
        )
    return [n for n in registry if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def _fmt(x: float) -> str:
    return "-" if x != x else f"{x:.1e}"  # x != x: NaN


def _fmt_value(x: float) -> str:
    return "-" if x != x else f"{x:.6g}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _status_text(status: str, ok: bool) -> str:
    colour = "green" if ok else "red"
    return f"[{colour}]{status}[/{colour}]"


def render_table(results: list[Any], title: str) -> Any:
    """A rich Table with one row per (primitive, input)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in [
        ("op", "left"),
        ("input", "left"),
        ("cases", "right"),
        ("max abs err", "right"),
        ("max rel err", "right"),
        ("worst: case, index", "left"),
        ("analytic", "right"),
        ("numeric", "right"),
        ("ms", "right"),
        ("status", "left"),
    ]:
        table.add_column(name, justify=justify, no_wrap=name in ("op", "input", "status"))
    for r in results:
        if not r.inputs:
            table.add_row(
                r.name,
                "-",
                str(r.cases),
                "-",
                "-",
                "-",
                "-",
                "-",
                _ms(r.seconds),
                _status_text(r.status, r.passed),
            )
            continue
        for i, row in enumerate(r.inputs):
            worst = "-" if row.worst_case is None else f"#{row.worst_case} {row.worst_index}"
            if r.status == "pass":
                status = "pass"
            elif row.passed:
                status = r.status  # this input matched; the op failed another check
            else:
                status = "FAIL"
            table.add_row(
                r.name if i == 0 else "",
                row.name,
                str(row.cases),
                _fmt(row.max_abs),
                _fmt(row.max_rel),
                worst,
                _fmt_value(row.analytic),
                _fmt_value(row.numeric),
                _ms(r.seconds) if i == 0 else "",
                _status_text(status, r.passed and row.passed),
            )
    return table


def verify_gradients(
    config: Path | None,
    op: list[str],
    eps: float | None,
    atol: float | None,
    rtol: float | None,
    seed: int,
    dtype: str,
    json_out: Path | None,
) -> int:
    """Check the registry's VJPs (or the primitives a config's model uses); return the exit code."""
    from rich.console import Console

    import engine  # noqa: F401  (fills the registry)
    from engine.autodiff.check import DEFAULT_TOLERANCES, check_primitive, primitive_rng
    from engine.core.op import REGISTRY
    from mgectl.errors import UserError

    if dtype not in DTYPES:
        raise UserError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if config is not None:
        raise UserError(
            "verify-gradients CONFIG is not available yet (it needs mgectl/build.py to build "
            "the model and loss); run it without CONFIG to check every primitive"
        )
    d_eps, d_atol, d_rtol = DEFAULT_TOLERANCES[dtype]
    eps = d_eps if eps is None else eps
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    for flag, value in (("--eps", eps), ("--atol", atol), ("--rtol", rtol)):
        if not value >= 0 or (flag == "--eps" and value == 0):
            raise UserError(
                f"{flag} must be {'positive' if flag == '--eps' else '>= 0'}, got {value}"
            )

    out = Console(file=sys.stdout, highlight=False)
    if not out.is_terminal:  # CI logs and pipes: wide enough that rows never wrap
        out = Console(file=sys.stdout, highlight=False, width=150)
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    if dtype == "float32":
        err.print(f"[yellow]{FLOAT32_WARNING}[/yellow]")

    names = select_primitives(list(op or []), REGISTRY)
    no_grad = [n for n in names if not REGISTRY[n].differentiable]
    started = time.perf_counter()
    results = [
        check_primitive(
            REGISTRY[n], primitive_rng(n, seed), eps=eps, atol=atol, rtol=rtol, dtype=dtype
        )
        for n in names
        if REGISTRY[n].differentiable
    ]
    wall = time.perf_counter() - started

    passed = [r for r in results if r.status == "pass"]
    unchecked = [r for r in results if r.status == "unchecked"]
    failed = [r for r in results if r.status not in ("pass", "unchecked")]
    settings = f"{dtype}, eps={eps:g}, atol={atol:g}, rtol={rtol:g}, seed={seed}"
    if results:
        out.print(render_table(results, f"Gradient check ({settings})"))
    for r in results:
        for problem in r.problems:
            out.print(f"[red]{r.name}[/red]: {problem}", highlight=False)
    ok = not failed and not unchecked
    summary = (
        f"{len(results)} primitives checked: {len(passed)} passed, {len(failed)} failed, "
        f"{len(unchecked)} unchecked; {len(no_grad)} without gradient skipped; {wall:.2f} s"
    )
    out.print(f"[{'green' if ok else 'red'}]{summary}[/]")

    if json_out is not None:
        report = {
            "passed": ok,
            "dtype": dtype,
            "eps": eps,
            "atol": atol,
            "rtol": rtol,
            "seed": seed,
            "seconds": round(wall, 4),
            "summary": {
                "checked": len(results),
                "passed": len(passed),
                "failed": [r.name for r in failed],
                "unchecked": [r.name for r in unchecked],
                "not_differentiable": no_grad,
            },
            "ops": [r.to_dict() for r in results],
        }
        try:
            json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise UserError(f"{json_out}: cannot write: {error.strerror or error}") from None
        err.print(f"wrote {json_out}")
    return 0 if ok else 1


def verify_gradients_command(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="[CONFIG]",
            help="Check only the primitives this experiment's model and loss use (needs the "
            "model builder).",
        ),
    ] = None,
    op: Annotated[
        list[str] | None,
        typer.Option(
            "--op", metavar="NAME", help="Primitive name or glob, e.g. 'soft*'. Repeatable."
        ),
    ] = None,
    eps: Annotated[
        float | None, typer.Option("--eps", help="Central-difference step [1e-6; float32: 1e-3].")
    ] = None,
    atol: Annotated[
        float | None, typer.Option("--atol", help="Absolute tolerance [1e-5; float32: 1e-2].")
    ] = None,
    rtol: Annotated[
        float | None, typer.Option("--rtol", help="Relative tolerance [1e-4; float32: 1e-2].")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the sample inputs and cotangents.")
    ] = 0,
    dtype: Annotated[
        Literal["float64", "float32"],
        typer.Option("--dtype", help="Precision of the check (float32 loosens the tolerances)."),
    ] = "float64",
    json_out: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Also write the results as JSON.")
    ] = None,
) -> None:
    """Check each primitive's gradient (VJP) against central differences; exit 1 on a failure."""
    code = verify_gradients(config, op or [], eps, atol, rtol, seed, dtype, json_out)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("verify-gradients", epilog=EPILOG)(verify_gradients_command)
