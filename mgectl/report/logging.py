"""Loggers beside metrics.jsonl (``train.log``): TensorBoard event files through tensorboardX."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mgectl.config.experiment import resolved_yaml
from mgectl.errors import UserError
from mgectl.train.events import EpochEnd, Event, Reporter, RunEnd, RunStart

if TYPE_CHECKING:
    from mgectl.config.experiment import ExperimentConfig

NOT_SCALARS = ("epoch",)  # the step itself, not a value to plot


class TensorBoardReporter:
    """Writes each epoch's record as scalars (step = epoch) and the config as text."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise UserError(
                "train.log: tensorboard needs tensorboardX, which is not installed",
                hint='pip install "mgectl[sweep]"  (Optuna and tensorboardX)',
            ) from None
        self.writer_class = SummaryWriter
        self.config_text = resolved_yaml(cfg)
        self.writer: Any = None

    def __call__(self, event: Event) -> None:
        """Open the writer in the run dir, log each epoch, close at the end."""
        if isinstance(event, RunStart):
            self.writer = self.writer_class(logdir=str(event.run_dir))
            if event.start_epoch == 0:
                # TensorBoard's text tab renders Markdown: indent to keep the YAML as code
                code = "\n".join(f"    {line}" for line in self.config_text.splitlines())
                self.writer.add_text("config", code, 0)
        elif isinstance(event, EpochEnd) and self.writer is not None:
            step = int(event.record["epoch"])
            for key, value in event.record.items():
                if key in NOT_SCALARS or isinstance(value, bool):
                    continue
                if isinstance(value, int | float) and math.isfinite(value):
                    self.writer.add_scalar(key, float(value), step)
            self.writer.flush()
        elif isinstance(event, RunEnd) and self.writer is not None:
            self.writer.close()
            self.writer = None


def log_reporters(cfg: ExperimentConfig) -> list[Reporter]:
    """The reporters ``train.log`` asks for."""
    return [TensorBoardReporter(cfg)] if "tensorboard" in cfg.train.log else []
