"""Gradient-check output: the rich tables, notes and summaries `verify-gradients` prints, and its
JSON reports. No checking happens here; the results come from engine.autodiff.check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Protocol

from rich import box
from rich.console import Console
from rich.table import Table

from engine.autodiff.check import ParameterCheck, PrimitiveCheck
from mgectl.errors import UserError

FLOAT32_WARNING = (
    "warning: float32 central differences are noisy (tolerances loosened); "
    "float64 is the trustworthy check"
)


def _fmt(x: float) -> str:
    return "-" if x != x else f"{x:.1e}"  # x != x: NaN


def _fmt_value(x: float) -> str:
    return "-" if x != x else f"{x:.6g}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _status_text(status: str, ok: bool) -> str:
    colour = "green" if ok else "red"
    return f"[{colour}]{status}[/{colour}]"


def _table(title: str, columns: list[tuple[str, str]], no_wrap: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=name in no_wrap)
    return table


def settings_text(dtype: str, eps: float, atol: float, rtol: float, seed: int) -> str:
    """The check's settings as the table titles show them."""
    return f"{dtype}, eps={eps:g}, atol={atol:g}, rtol={rtol:g}, seed={seed}"


def consoles(dtype: str, extra_width: int = 0) -> tuple[Console, Console]:
    """(stdout, stderr) rich consoles; warns on stderr about float32."""
    out = Console(file=sys.stdout, highlight=False)
    if not out.is_terminal:  # CI logs and pipes: wide enough that rows never wrap
        out = Console(file=sys.stdout, highlight=False, width=150 + extra_width)
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    if dtype == "float32":
        err.print(f"[yellow]{FLOAT32_WARNING}[/yellow]")
    return out, err


def write_json(path: Path, report: dict, err: Console) -> None:
    """Write REPORT to PATH as indented JSON (a UserError when that fails)."""
    try:
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror or error}") from None
    err.print(f"wrote {path}")


# ---- primitives -----------------------------------------------------------------------------


def _second_cells(check: PrimitiveCheck | None) -> list[str]:
    """The second-order columns of an op's first row: worst error and status."""
    if check is None:
        return ["", ""]
    worst = max((r.max_abs for r in check.inputs), default=float("nan"))
    status = "FAIL" if check.status == "fail" else check.status
    ok = check.passed or check.status == "first-order only"
    return [_fmt(worst), _status_text(status, ok)]


def primitive_table(
    results: list[PrimitiveCheck],
    title: str,
    second: dict[str, PrimitiveCheck] | None = None,
) -> Table:
    """A rich Table with one row per (primitive, input); with `second`, two order-2 columns."""
    columns = [
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
    ]
    if second is not None:
        columns += [("2nd-order err", "right"), ("2nd order", "left")]
    table = _table(title, columns, ("op", "input", "status", "2nd order"))
    for r in results:
        extra = _second_cells(second.get(r.name)) if second is not None else []
        if not r.inputs:
            blank = ["-"] * 5
            status = _status_text(r.status, r.passed)
            table.add_row(r.name, "-", str(r.cases), *blank, _ms(r.seconds), status, *extra)
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
                *(extra if i == 0 else ["", ""][: len(extra)]),
            )
    return table


def primitives_report(
    out: Console,
    results: list[PrimitiveCheck],
    not_differentiable: list[str],
    settings: str,
    seconds: float,
    second: dict[str, PrimitiveCheck] | None = None,
) -> dict[str, Any]:
    """Print the table, each problem and a summary line; return the JSON report's body.

    With `second` (the order-2 checks by op name) a second summary line counts them and
    names the first-order-only primitives; a failed or crashed order-2 check fails the run.
    """
    passed = [r for r in results if r.status == "pass"]
    unchecked = [r for r in results if r.status == "unchecked"]
    failed = [r for r in results if r.status not in ("pass", "unchecked")]
    if results:
        out.print(primitive_table(results, f"Gradient check ({settings})", second))
    for r in results:
        for problem in r.problems:
            out.print(f"[red]{r.name}[/red]: {problem}", highlight=False)
    ok = not failed and not unchecked
    summary = (
        f"{len(results)} primitives checked: {len(passed)} passed, {len(failed)} failed, "
        f"{len(unchecked)} unchecked; {len(not_differentiable)} without gradient skipped; "
        f"{seconds:.2f} s"
    )
    second_report = None
    if second is not None:
        second_ok, line, second_report = _second_order_summary(out, second)
        ok = ok and second_ok
    out.print(f"[{'green' if ok else 'red'}]{summary}[/]")
    if second is not None:
        out.print(f"[{'green' if second_ok else 'red'}]{line}[/]")
    report: dict[str, Any] = {
        "passed": ok,
        "seconds": round(seconds, 4),
        "summary": {
            "checked": len(results),
            "passed": len(passed),
            "failed": [r.name for r in failed],
            "unchecked": [r.name for r in unchecked],
            "not_differentiable": not_differentiable,
        },
        "ops": [r.to_dict() for r in results],
    }
    if second_report is not None:
        report["summary"]["second_order"] = second_report
        for entry in report["ops"]:
            entry["second_order"] = second[entry["op"]].to_dict()
    return report


def _second_order_summary(
    out: Console, second: dict[str, PrimitiveCheck]
) -> tuple[bool, str, dict[str, Any]]:
    """Print order-2 problems; return (ok, the summary line, the JSON summary)."""
    checks = list(second.values())
    for c in checks:
        for problem in c.problems:
            out.print(f"[red]{c.name}[/red] (2nd order): {problem}", highlight=False)
    passed = [c.name for c in checks if c.status == "pass"]
    only = [c.name for c in checks if c.status == "first-order only"]
    unchecked = [c.name for c in checks if c.status == "unchecked"]
    failed = [c.name for c in checks if c.status in ("fail", "error")]
    line = (
        f"second order: {len(passed) + len(failed)} primitives checked: {len(passed)} passed, "
        f"{len(failed)} failed, {len(unchecked)} unchecked; {len(only)} first-order only"
        + (f" ({', '.join(only)})" if only else "")
    )
    summary = {
        "checked": len(passed) + len(failed),
        "passed": len(passed),
        "failed": failed,
        "unchecked": unchecked,
        "first_order_only": only,
    }
    return not failed and not unchecked, line, summary


# ---- a config's parameters ------------------------------------------------------------------


class CheckedConfig(Protocol):
    """What `config_report` reads of mgectl.tools.gradcheck.ConfigCheck (tools sits above us)."""

    model: str
    loss_type: str
    loss: float
    rows: int
    device: str
    dtype: str
    eps: float
    atol: float
    rtol: float
    seed: int
    dropout_layers: int
    parameters: list[ParameterCheck]
    seconds: float

    @property
    def passed(self) -> bool: ...  # noqa: D102

    @property
    def failed(self) -> list[str]: ...  # noqa: D102


def parameter_table(rows: list[ParameterCheck], title: str) -> Table:
    """A rich Table with one row per model parameter, styled like the primitive table."""
    columns = [
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
    ]
    table = _table(title, columns, ("parameter", "shape", "status"))
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


def config_report(out: Console, result: CheckedConfig, config: Path) -> None:
    """Print a ConfigCheck (mgectl.tools.gradcheck): setting, table, kink notes and summary."""
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
    settings = settings_text(result.dtype, result.eps, result.atol, result.rtol, result.seed)
    out.print(parameter_table(result.parameters, f"Gradient check of {config} ({settings})"))
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
