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


def consoles(dtype: str) -> tuple[Console, Console]:
    """(stdout, stderr) rich consoles; warns on stderr about float32."""
    out = Console(file=sys.stdout, highlight=False)
    if not out.is_terminal:  # CI logs and pipes: wide enough that rows never wrap
        out = Console(file=sys.stdout, highlight=False, width=150)
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


def primitive_table(results: list[PrimitiveCheck], title: str) -> Table:
    """A rich Table with one row per (primitive, input)."""
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
    table = _table(title, columns, ("op", "input", "status"))
    for r in results:
        if not r.inputs:
            blank = ["-"] * 5
            table.add_row(
                r.name, "-", str(r.cases), *blank, _ms(r.seconds), _status_text(r.status, r.passed)
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


def primitives_report(
    out: Console,
    results: list[PrimitiveCheck],
    not_differentiable: list[str],
    settings: str,
    seconds: float,
) -> dict[str, Any]:
    """Print the table, each problem and a summary line; return the JSON report's body."""
    passed = [r for r in results if r.status == "pass"]
    unchecked = [r for r in results if r.status == "unchecked"]
    failed = [r for r in results if r.status not in ("pass", "unchecked")]
    if results:
        out.print(primitive_table(results, f"Gradient check ({settings})"))
    for r in results:
        for problem in r.problems:
            out.print(f"[red]{r.name}[/red]: {problem}", highlight=False)
    ok = not failed and not unchecked
    summary = (
        f"{len(results)} primitives checked: {len(passed)} passed, {len(failed)} failed, "
        f"{len(unchecked)} unchecked; {len(not_differentiable)} without gradient skipped; "
        f"{seconds:.2f} s"
    )
    out.print(f"[{'green' if ok else 'red'}]{summary}[/]")
    return {
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
