"""``mgectl verify-gradients``: check every primitive's VJP, or a config's model, numerically."""

from __future__ import annotations

import fnmatch
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from mgectl.commands._options import SetOption, examples

EPILOG = examples(
    "mgectl verify-gradients",
    "mgectl verify-gradients --op 'soft*' --op matmul",
    "mgectl verify-gradients --order 2",
    "mgectl verify-gradients --dtype float32",
    "mgectl verify-gradients --seed 3 --json gradients.json",
    "mgectl verify-gradients configs/spirals_mlp.yaml",
    "mgectl verify-gradients configs/images_cnn.yaml --set model.channels=[4] --entries 64",
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


def _tolerances(
    dtype: str, eps: float | None, atol: float | None, rtol: float | None
) -> tuple[float, float, float]:
    """The (eps, atol, rtol) to use: the engine's defaults for DTYPE where not given, validated."""
    from engine.autodiff.check import DEFAULT_TOLERANCES, tolerances
    from mgectl.errors import UserError

    if dtype not in DEFAULT_TOLERANCES:
        raise UserError(f"--dtype must be one of {', '.join(DEFAULT_TOLERANCES)}, got {dtype!r}")
    eps, atol, rtol = tolerances(dtype, eps, atol, rtol)
    for flag, value in (("--eps", eps), ("--atol", atol), ("--rtol", rtol)):
        if not value >= 0 or (flag == "--eps" and value == 0):
            raise UserError(
                f"{flag} must be {'positive' if flag == '--eps' else '>= 0'}, got {value}"
            )
    return eps, atol, rtol


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
    order: int = 1,
) -> int:
    """Check the registry's VJPs, or CONFIG's model and loss per parameter; return the exit code."""
    from mgectl.errors import UserError

    eps, atol, rtol = _tolerances(dtype, eps, atol, rtol)
    if order not in (1, 2):
        raise UserError(f"--order must be 1 or 2, got {order}")
    if config is not None:
        if order != 1:
            raise UserError(
                "--order 2 checks primitives and cannot be combined with CONFIG",
                hint="CONFIG checks first-order parameter gradients; drop --order or CONFIG",
            )
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
    return verify_primitives(op, eps, atol, rtol, seed, dtype, json_out, order)


def verify_primitives(
    op: list[str],
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    dtype: str,
    json_out: Path | None,
    order: int = 1,
) -> int:
    """Check the registry's VJPs (those --op selects), to ORDER; print one row per input."""
    import engine  # noqa: F401  (fills the registry)
    import engine.functional.distributed  # noqa: F401  (its collectives load lazily: check them too)
    from engine.autodiff.check import check_primitive, primitive_rng
    from engine.autodiff.gradgrad import check_primitive_second
    from engine.core.op import REGISTRY
    from mgectl.report.gradients import consoles, primitives_report, settings_text, write_json

    out, err = consoles(dtype, extra_width=30 if order == 2 else 0)  # the order-2 columns
    names = select_primitives(list(op or []), REGISTRY)
    no_grad = [n for n in names if not REGISTRY[n].differentiable]
    tolerance = {"eps": eps, "atol": atol, "rtol": rtol, "dtype": dtype}
    started = time.perf_counter()
    results, second = [], {}
    for n in names:
        if not REGISTRY[n].differentiable:
            continue
        results.append(check_primitive(REGISTRY[n], primitive_rng(n, seed), **tolerance))
        if order == 2:
            second[n] = check_primitive_second(REGISTRY[n], primitive_rng(n, seed), **tolerance)
    wall = time.perf_counter() - started
    settings = settings_text(dtype, eps, atol, rtol, seed)
    report = primitives_report(
        out, results, no_grad, settings, wall, second if order == 2 else None
    )
    if json_out is not None:
        settings_json = {"dtype": dtype, "eps": eps, "atol": atol, "rtol": rtol, "seed": seed}
        settings_json["order"] = order
        write_json(json_out, {"passed": report["passed"], **settings_json, **report}, err)
    return 0 if report["passed"] else 1


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
    from mgectl.report.gradients import config_report, consoles, write_json
    from mgectl.tools.gradcheck import DEFAULT_BATCH, DEFAULT_ENTRIES, check_config

    cfg = load_config(config, overrides)
    out, err = consoles(dtype)
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
    config_report(out, result, config)
    if json_out is not None:
        write_json(json_out, {"config": str(config), **result.to_dict()}, err)
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
    order: Annotated[
        int,
        typer.Option(
            "--order",
            min=1,
            max=2,
            help="2: also check each VJP's own VJP against central differences of the VJP "
            "(second order, like gradgradcheck), in its own column.",
        ),
    ] = 1,
    json_out: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Also write the results as JSON.")
    ] = None,
) -> None:
    """Check gradients against central differences: every primitive's VJP, or CONFIG's model.

    Exit 0 when everything matches, 1 on a mismatch (first-order-only primitives are listed
    under --order 2 but do not fail the run).
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
        order=order,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("verify-gradients", epilog=EPILOG)(verify_gradients_command)
