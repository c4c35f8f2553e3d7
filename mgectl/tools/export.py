"""Export a trained run's model: ONNX (engine.onnx) or the engine's own graph format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import engine as mge
from engine.jit import trace
from mgectl.errors import UserError
from mgectl.tools.predict import load_model, model_inputs

SUFFIX = {"onnx": ".onnx", "engine": ".mge"}


def export_run(source: Path, fmt: str, out: Path | None, batch: int = 1) -> Path:
    """Write the run's best (else last) model to OUT (default: <run>/model.onnx|.mge)."""
    from mgectl.train.checkpoint import load_checkpoint
    from mgectl.train.rundir import find_checkpoint

    if fmt not in SUFFIX:
        raise UserError(f"--format must be onnx or engine, got {fmt!r}")
    checkpoint = find_checkpoint(Path(source), ("best", "last"))
    saved = load_checkpoint(checkpoint)
    model = load_model(saved)  # in eval mode: batch norm uses its running statistics
    meta = saved["data"]
    width = int(np.prod(meta["sample_shape"]))
    example = mge.tensor(model_inputs(np.zeros((batch, width), np.float32), meta))
    if out is None:
        out = checkpoint.parent.parent / f"model{SUFFIX[fmt]}"
    if fmt == "onnx":
        from engine.onnx import export

        try:
            export(model, example, out)
        except ImportError:
            raise UserError(
                "ONNX export needs the onnx package", hint='pip install "mgectl[onnx]"'
            ) from None
        except ValueError as error:
            raise UserError(str(error)) from None
        return out
    traced = trace(lambda x: model(x), capture_as_const=True)
    traced(example)
    traced.dump(out)
    return out
