"""The tutorial's exercise: the summary shows the real w and b beside the learned ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mgectl_support import REPO
from trainer_support import run

from mgectl.train.events import Event, RunEnd


def test_summary_shows_the_real_w_and_b_and_fit_png_is_drawn(cli: Callable, tmp_path: Path) -> None:
    config = str(REPO / "configs" / "linear_regression.yaml")
    result = cli("train", config, "--output-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "learned  w = 8.997, b = 0.392" in result.output  # the tutorial's b ≈ 0.39
    assert "real     w = 9.000, b = 2.000  (the data generator's)" in result.output
    (fit,) = tmp_path.glob("linear_regression/*/plots/fit.png")
    assert fit.stat().st_size > 10_000


def test_standardised_features_show_no_real_values(tmp_path: Path) -> None:
    ends: list[RunEnd] = []

    def keep(event: Event) -> None:
        if isinstance(event, RunEnd):
            ends.append(event)

    config = REPO / "configs" / "linear_regression.yaml"
    run(config, "data.standardize=true", out=tmp_path, reporters=[keep])
    assert ends[0].params is not None and ends[0].truth is None  # w means w * std there
    run(config, out=tmp_path, reporters=[keep])
    assert ends[1].truth == {"w": 9.0, "b": 2.0}
