"""``mgectl predict``: run a trained model from a run directory or checkpoint on new data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mgectl.commands._options import examples

EPILOG = examples(
    "mgectl predict runs/iris_softmax --data engine/data/datasets/iris.csv",
    "mgectl predict runs/moons_mlp --data moons.csv --out predictions.csv",
    "mgectl predict runs/moons_mlp/20250101-120000-01/checkpoints/last.npz --data moons.npz",
)


def predict(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR_OR_CKPT",
            exists=True,
            help="A run directory (its best, else last checkpoint), a runs/<name> folder "
            "(its newest run) or a checkpoint file.",
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data", exists=True, dir_okay=False, help="CSV or NPZ file with the input features."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write predictions to this CSV file instead of stdout."),
    ] = None,
) -> None:
    """Predict with a trained model on the features in a CSV or NPZ file."""
    from mgectl.tools.predict import predict as run_prediction

    run_prediction(source, data=data, out=out)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("predict", epilog=EPILOG)(predict)
