"""The mgectl command line: global flags and the verbs; each verb lives in mgectl/commands/."""

from __future__ import annotations

from typing import Annotated

import typer

from mgectl import __version__
from mgectl.boundary import DEBUG_KEY, ErrorBoundaryGroup
from mgectl.commands import (
    compare,
    export,
    gen_data,
    graph,
    predict,
    runs,
    schema,
    sweep,
    train,
    validate,
    verify_gradients,
)
from mgectl.commands._options import examples

app = typer.Typer(
    name="mgectl",
    cls=ErrorBoundaryGroup,
    epilog=examples(
        "mgectl validate configs/*.yaml",
        "mgectl gen-data linear --n 100 --noise 5 --plot",
        "mgectl train configs/linear_regression.yaml",
        "mgectl train configs/moons_mlp.yaml --set optimizer.lr=0.05",
        "mgectl schema --out mgectl.schema.json",
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mgectl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when something fails.")
    ] = False,
) -> None:
    """Train and inspect models described by YAML experiment configs, on the engine package."""
    ctx.meta[DEBUG_KEY] = debug


for _verb in (
    validate,
    train,
    sweep,
    runs,
    compare,
    graph,
    export,
    gen_data,
    predict,
    schema,
    verify_gradients,
):
    _verb.register(app)


def main() -> None:
    """Console-script entry point: ``mgectl ...``."""
    app(prog_name="mgectl")
