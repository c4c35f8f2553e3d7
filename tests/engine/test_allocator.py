"""Malloc tuning is an explicit call (never an import side effect), opt-out, and never overrides
a user's own malloc settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def _run(code: str, env: dict) -> str:
    env = {**env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def clean_env() -> dict:
    """The environment without the user's malloc settings or the opt-out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("ENGINE_ALLOCATOR", None)
    return env


def test_tuning_is_explicit_and_can_be_left_alone(clean_env):
    call = "from engine.core.allocator import tune_allocator; print(tune_allocator())"
    assert _run(call, clean_env) == "True"
    assert _run(call, {**clean_env, "ENGINE_ALLOCATOR": "system"}) == "False"
    assert _run(call, {**clean_env, "MALLOC_ARENA_MAX": "2"}) == "False"


def test_importing_the_engine_leaves_malloc_alone(clean_env):
    code = (
        "import engine, engine.functional, engine.autodiff, engine.optimizer, engine.data\n"
        "from engine.core import allocator\n"
        "print(allocator.TUNED)"
    )
    assert _run(code, clean_env) == "False"


def test_mgectl_train_tunes_before_training(clean_env, tmp_path):
    code = (
        "from mgectl.cli import app\n"
        "from engine.core import allocator\n"
        "try:\n"
        f"    app(['train', 'configs/linear_regression.yaml', '--quiet', '-o', {str(tmp_path)!r},\n"
        "         '--set', 'train.epochs=1'], prog_name='mgectl')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(allocator.TUNED)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean_env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"
