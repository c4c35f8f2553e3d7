"""``mgectl verify-gradients``: check every primitive's VJP, or a config's model, numerically."""

from __future__ import annotations

import fnmatch
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from mgectl.commands._options import SetOption, examples

EPILOG = examples(
    "mgectl verify-gradients",
    "mgectl verify-gradients --op 'soft*' --op matmul",
    "mgectl verify-gradients --dtype float32",
    "mgectl verify-gradients --seed 3 --json gradients.json",
    "mgectl verify-gradients configs/spirals_mlp.yaml",
    "mgectl verify-gradients configs/images_cnn.yaml --set model.channels=[4] --entries 64",
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


def _tolerances(
    dtype: str, eps: float | None, atol: float | None, rtol: float | None
) -> tuple[float, float, float]:
    """The (eps, atol, rtol) to use: the dtype's defaults for those not given, validated."""
    from engine.autodiff.check import DEFAULT_TOLERANCES
    from mgectl.errors import UserError

    if dtype not in DTYPES:
        raise UserError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    d_eps, d_atol, d_rtol = DEFAULT_TOLERANCES[dtype]
    eps = d_eps if eps is None else eps
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    for flag, value in (("--eps", eps), ("--atol", atol), ("--rtol", rtol)):
        if not value >= 0 or (flag == "--eps" and value == 0):
            raise UserError(
                f"{flag} must be {'positive' if flag == '--eps' else '>= 0'}, got {value}"
            )
    return eps, atol, rtol


def _consoles(dtype: str) -> tuple[Any, Any]:
    """(stdout, stderr) rich consoles; warns on stderr about float32."""
    from rich.console import Console

    out = Console(file=sys.stdout, highlight=False)
    if not out.is_terminal:  # CI logs and pipes: wide enough that rows never wrap
        out = Console(file=sys.stdout, highlight=False, width=150)
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    if dtype == "float32":
        err.print(f"[yellow]{FLOAT32_WARNING}[/yellow]")
    return out, err


def _write_json(path: Path, report: dict, err: Any) -> None:
    """Write REPORT to PATH as indented JSON (a UserError when that fails)."""
    from mgectl.errors import UserError

    try:
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror or error}") from None
    err.print(f"wrote {path}")


def verify_gradients(
    config: Path | None,
    op: list[str],
    eps: float | None,
    atol: float | None,
    rtol: float | None,
    seed: int,
    dtype: str,
    json_out: Path | None,
    *,
    overrides: list[str] | None = None,
    entries: int | None = None,
    batch: int | None = None,
) -> int:
    """Check the registry's VJPs, or CONFIG's model and loss per parameter; return the exit code."""
    from mgectl.errors import UserError

    eps, atol, rtol = _tolerances(dtype, eps, atol, rtol)
    if config is not None:
        if op:
            raise UserError(
                "--op selects primitives and cannot be combined with CONFIG",
                hint="CONFIG checks every parameter of the model; drop --op or CONFIG",
            )
        return verify_config(
            config, overrides or [], eps, atol, rtol, seed, dtype, json_out, entries, batch
        )
    flags = (
        ("--set", bool(overrides)),
        ("--entries", entries is not None),
        ("--batch", batch is not None),
    )
    given = [flag for flag, on in flags if on]
    if given:
        raise UserError(
            f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} CONFIG",
            hint="without CONFIG every primitive is checked on its own sample inputs",
        )
    return verify_primitives(op, eps, atol, rtol, seed, dtype, json_out)


def verify_primitives(
    op: list[str],
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    dtype: str,
    json_out: Path | None,
) -> int:
    """Check the registry's VJPs (those --op selects) and print one row per input."""
    import engine  # noqa: F401  (fills the registry)
    from engine.autodiff.check import check_primitive, primitive_rng
    from engine.core.op import REGISTRY

    out, err = _consoles(dtype)
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
        _write_json(json_out, report, err)
    return 0 if ok else 1


def render_parameter_table(rows: list[Any], title: str) -> Any:
    """A rich Table with one row per model parameter, styled like the primitive table."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in [
        ("parameter", "left"),
        ("shape", "left"),
        ("entries", "right"),
        ("max abs err", "right"),
        ("max rel err", "right"),
        ("worst index", "left"),
        ("analytic", "right"),
        ("numeric", "right"),
        ("ms", "right"),
        ("status", "left"),
    ]:
        table.add_column(name, justify=justify, no_wrap=name in ("parameter", "shape", "status"))
    for r in rows:
        table.add_row(
            r.name,
            str(r.shape),
            f"{r.entries}/{r.size}",
            _fmt(r.max_abs),
            _fmt(r.max_rel),
            "-" if r.worst_index is None else str(r.worst_index),
            _fmt_value(r.analytic),
            _fmt_value(r.numeric),
            _ms(r.seconds),
            _status_text(r.status, r.passed),
        )
    return table


def verify_config(
    config: Path,
    overrides: list[str],
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    dtype: str,
    json_out: Path | None,
    entries: int | None,
    batch: int | None,
) -> int:
    """Check the gradient of CONFIG's loss for every model parameter; one row per parameter."""
    from mgectl.config.experiment import load_config
    from mgectl.tools.gradcheck import DEFAULT_BATCH, DEFAULT_ENTRIES, check_config

    cfg = load_config(config, overrides)
    out, err = _consoles(dtype)
    result = check_config(
        cfg,
        eps=eps,
        atol=atol,
        rtol=rtol,
        seed=seed,
        entries=DEFAULT_ENTRIES if entries is None else entries,
        batch=DEFAULT_BATCH if batch is None else batch,
        dtype=dtype,
    )
    out.print(f"model: {result.model}")
    out.print(
        f"loss: {result.loss_type} = {result.loss:.6g} on {result.rows} training rows "
        f"(device {result.device})"
    )
    if result.dropout_layers:
        out.print(
            f"{result.dropout_layers} Dropout layer(s) in eval mode (a random mask would make "
            "the loss random); batch norm uses the batch's statistics"
        )
    settings = f"{dtype}, eps={eps:g}, atol={atol:g}, rtol={rtol:g}, seed={seed}"
    out.print(render_parameter_table(result.parameters, f"Gradient check of {config} ({settings})"))
    for r in result.parameters:
        if r.kinks:
            out.print(
                f"[yellow]{r.name}[/yellow]: {r.kinks} of {r.entries} entries sit on a kink "
                "(ReLU or max pooling at a tie); compared with the one-sided slope the analytic "
                "gradient follows"
            )
    checked = sum(r.entries for r in result.parameters)
    total = sum(r.size for r in result.parameters)
    failed = result.failed
    summary = (
        f"{len(result.parameters)} parameters checked ({checked:,} of {total:,} entries): "
        f"{len(result.parameters) - len(failed)} passed, {len(failed)} failed; "
        f"{result.seconds:.2f} s"
    )
    out.print(f"[{'green' if result.passed else 'red'}]{summary}[/]")
    if failed:
        out.print(f"[red]gradient mismatch in: {', '.join(failed)}[/red]")
    if json_out is not None:
        _write_json(json_out, {"config": str(config), **result.to_dict()}, err)
    return 0 if result.passed else 1


def verify_gradients_command(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="[CONFIG]",
            help="Check this experiment's model instead: the gradient of its loss on a small "
            "float64 batch for every parameter (sampled entries of large ones), with dropout "
            "in eval mode.",
        ),
    ] = None,
    op: Annotated[
        list[str] | None,
        typer.Option(
            "--op", metavar="NAME", help="Primitive name or glob, e.g. 'soft*'. Repeatable."
        ),
    ] = None,
    overrides: SetOption = None,
    entries: Annotated[
        int | None,
        typer.Option(
            "--entries",
            min=1,
            metavar="K",
            help="With CONFIG: entries checked per parameter, sampled when larger [32].",
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            min=2,
            metavar="N",
            help="With CONFIG: training rows in the batch, drawn with --seed [8].",
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
        int,
        typer.Option(
            "--seed",
            help="Seed of the sample inputs and cotangents (CONFIG: the "
            "batch rows and sampled entries; the model starts from the config's seed).",
        ),
    ] = 0,
    dtype: Annotated[
        Literal["float64", "float32"],
        typer.Option("--dtype", help="Precision of the check (float32 loosens the tolerances)."),
    ] = "float64",
    json_out: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Also write the results as JSON.")
    ] = None,
) -> None:
    """Check gradients against central differences: every primitive's VJP, or CONFIG's model.

    Exit 0 when everything matches, 1 on a mismatch.
    """
    code = verify_gradients(
        config,
        op or [],
        eps,
        atol,
        rtol,
        seed,
        dtype,
        json_out,
        overrides=overrides or [],
        entries=entries,
        batch=batch,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("verify-gradients", epilog=EPILOG)(verify_gradients_command)
