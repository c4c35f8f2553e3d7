"""The computing graph of one training step of a config's model (for `mgectl graph`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import engine.random
from engine.core.device import default_device
from engine.jit import Graph, trace
from mgectl.build.builder import build
from mgectl.train.device import resolve_device
from mgectl.train.events import Broadcast
from mgectl.train.loop import Loop

if TYPE_CHECKING:
    from mgectl.config.experiment import ExperimentConfig


def step_graph(cfg: ExperimentConfig) -> Graph:
    """Trace the training loop's forward + loss + backward on the config's first batch."""
    resolve_device(cfg.device)  # a missing GPU is one clear line, not a traceback
    with default_device(cfg.device) as device:
        engine.random.seed(cfg.seed)
        loop = Loop(cfg, build(cfg), device, Broadcast([]))
        batch = next(iter(loop.batches))
        traced = trace(loop.forward_backward)
        traced(batch.x, batch.y)
    return traced.graph.rename_tensors(loop.built.model.named_tensors())
