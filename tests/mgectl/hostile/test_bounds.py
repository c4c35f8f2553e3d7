"""Any config is accepted or refused quickly: alias bombs and deep nesting are bounded."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostile_cases import BASE, BOMB
from typer.testing import CliRunner

from mgectl.cli import app

LIMIT = 10.0  # the test's own timeout: a hang fails here instead of stalling the suite


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail the test when the block runs longer than SECONDS (SIGALRM, main thread)."""

    def expire(*_: object) -> None:
        pytest.fail(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "text",
    [
        BOMB,
        BOMB.replace("data: *i", "data: {generator: moons, n: *i}"),  # rendered in the error
        "data: " + "[" * 20000 + "]" * 20000 + "\n",
        BASE + "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    ],
    ids=["alias-bomb", "alias-bomb-in-a-value", "deep-lists", "deep-maps"],
)
def test_a_hostile_config_is_refused_within_a_second(text: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with deadline(LIMIT):
        result = CliRunner().invoke(app, ["validate", str(path)])
    seconds = time.perf_counter() - started
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
    assert seconds < LIMIT / 2, f"{seconds:.2f} s"  # about 0.1 s on an idle machine


def test_yaml_merge_keys_with_a_later_override_are_standard_yaml(tmp_path: Path) -> None:
    from mgectl.config.experiment import load_config

    path = tmp_path / "m.yaml"
    merged = "optimizer:\n  <<: {type: sgd, lr: 0.5, momentum: 0.5}\n  lr: 0.2"
    path.write_text(BASE.replace("optimizer: {type: sgd, lr: 0.1}", merged))
    cfg = load_config(path)
    assert (cfg.optimizer.type, cfg.optimizer.lr, cfg.optimizer.momentum) == ("sgd", 0.2, 0.5)
