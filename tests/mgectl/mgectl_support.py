"""Constants the mgectl tests share (kept out of conftest.py so imports stay unambiguous)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
MINIMAL = """
data:
  generator: moons
model:
  type: mlp
"""
