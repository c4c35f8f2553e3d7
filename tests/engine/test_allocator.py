"""The allocator tuning is opt-out and never overrides a user's own malloc settings."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _tuned(env: dict) -> str:
    code = "from engine.core.allocator import tune_allocator; print(tune_allocator())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_allocator_is_tuned_by_default_and_can_be_left_alone(monkeypatch):
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    base.pop("ENGINE_ALLOCATOR", None)
    assert _tuned(base) == "True"
    assert _tuned({**base, "ENGINE_ALLOCATOR": "system"}) == "False"
    assert _tuned({**base, "MALLOC_ARENA_MAX": "2"}) == "False"
