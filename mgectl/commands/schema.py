"""``mgectl schema``: print the JSON Schema of the experiment config (for editors and docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import examples

EPILOG = examples(
    "mgectl schema",
    "mgectl schema --out mgectl.schema.json",
    "mgectl schema | python -m json.tool | less",
)


def schema(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the schema to this file instead of stdout."),
    ] = None,
) -> None:
    """Print the JSON Schema of an experiment config: every section, key, type and default."""
    import json

    from mgectl.config.experiment import ExperimentConfig
    from mgectl.errors import UserError

    text = json.dumps(ExperimentConfig.model_json_schema(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"{out}: cannot write: {error.strerror or error}") from None
    typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("schema", epilog=EPILOG)(schema)
