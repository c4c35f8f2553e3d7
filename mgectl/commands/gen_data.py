"""``mgectl gen-data``: write a synthetic dataset (from flags or a config) to CSV or NPZ."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from mgectl.commands._options import SetOption, examples
from mgectl.config.names import GENERATOR_NAMES

EPILOG = examples(
    "mgectl gen-data linear --n 100 --noise 5 --seed 0 --plot",
    "mgectl gen-data moons --n 500 --noise 0.2 --out moons.npz",
    "mgectl gen-data spirals --param classes=3 --out spirals.csv --plot",
    "mgectl gen-data --config configs/moons_mlp.yaml --out moons.csv",
)


def gen_data(
    kind: Annotated[
        str | None,
        typer.Argument(
            metavar="KIND",
            help=f"Generator: {', '.join(GENERATOR_NAMES)}. Leave out with --config.",
            show_default=False,
        ),
    ] = None,
    n: Annotated[int | None, typer.Option("--n", min=1, help="Number of samples.")] = None,
    noise: Annotated[float | None, typer.Option("--noise", min=0.0, help="Noise level.")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (default 0, or the config's).")
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=VALUE",
            help="Extra generator parameter, e.g. --param classes=3. Repeatable.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file (default: KIND.csv or KIND.npz)."),
    ] = None,
    fmt: Annotated[
        Literal["csv", "npz"] | None,
        typer.Option("--format", "-f", help="File format (default: from --out, else csv)."),
    ] = None,
    plot: Annotated[
        bool, typer.Option("--plot", help="Also draw the data to a PNG next to the output.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Take generator and parameters from a config's data."),
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Generate a synthetic dataset and save it as CSV or NPZ (optionally with a plot)."""
    from mgectl.build import synthetic as datagen
    from mgectl.errors import UserError

    kwargs = _generator_kwargs(kind, config, overrides, n, noise, seed, params)
    fmt = datagen.output_format(out, fmt)
    out = out if out is not None else Path(f"{kwargs['kind']}.{fmt}")
    data = datagen.generate(**kwargs)
    real = datagen.truth(data)
    if real is not None:
        typer.echo(real)
    if out.parent != Path() and not out.parent.is_dir():
        raise UserError(f"--out {out}: directory {out.parent} does not exist")
    datagen.save(data, out, fmt)
    typer.echo(f"wrote {out}: {datagen.describe(data)}")
    if plot:
        from mgectl.report.dataplot import plot_dataset

        picture = out.with_suffix(".png")
        plot_dataset(data, picture)
        typer.echo(f"wrote {picture}")


def _generator_kwargs(
    kind: str | None,
    config: Path | None,
    overrides: list[str] | None,
    n: int | None,
    noise: float | None,
    seed: int | None,
    params: list[str] | None,
) -> dict[str, Any]:
    """Merge KIND and flags, or a config's data section and flags, into generate() kwargs."""
    from mgectl.errors import UserError

    extra = _parse_params(params or [])
    if kind is not None and config is not None:
        raise UserError("give a generator KIND or --config, not both")
    if overrides and config is None:
        raise UserError("--set needs --config", hint="use --param KEY=VALUE for generator params")
    if config is None:
        if kind is None:
            raise UserError(
                "missing generator KIND", hint=f"choose one of: {', '.join(GENERATOR_NAMES)}"
            )
        return {
            "kind": kind,
            "n": n,
            "noise": noise,
            "seed": 0 if seed is None else seed,
            "params": extra,
        }
    from mgectl.config.experiment import SyntheticDataConfig, load_config

    data = load_config(config, overrides or []).data
    if not isinstance(data, SyntheticDataConfig):
        raise UserError(f"{config}: data comes from the file {data.path}, not a generator")
    return {
        "kind": data.generator,
        "n": data.n if n is None else n,
        "noise": data.noise if noise is None else noise,
        "seed": data.seed if seed is None else seed,
        "params": {**data.params, **extra},
    }


def _parse_params(items: list[str]) -> dict[str, Any]:
    """Turn ``--param classes=3`` flags into {"classes": 3} (values parsed as YAML)."""
    from mgectl.config.overrides import parse_override
    from mgectl.errors import UserError

    result: dict[str, Any] = {}
    for item in items:
        keys, value = parse_override(item)
        if len(keys) != 1:
            raise UserError(f"--param {item!r}: the key must be one name, like classes=3")
        result[keys[0]] = value
    return result


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("gen-data", epilog=EPILOG)(gen_data)
