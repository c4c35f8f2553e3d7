"""``mgectl gen-data``: the same numbers as engine.data.synthetic, saved as CSV or NPZ."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mgectl_support import MINIMAL

from engine.data.synthetic import GENERATORS, linear, moons
from engine.data.tabular import load_csv, load_npz
from mgectl.config.names import GENERATOR_NAMES


def test_the_light_generator_names_mirror_the_engine() -> None:
    assert GENERATOR_NAMES == tuple(GENERATORS)


def test_linear_prints_the_real_line_and_writes_the_points(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "line.csv"
    result = cli(
        "gen-data", "linear", "--n", "100", "--noise", "5", "--seed", "0", "--out", str(out)
    )
    assert result.exit_code == 0, result.stderr
    reference = linear(n=100, noise=5.0, seed=0)
    w, b = reference.meta["w"], reference.meta["b"]
    assert result.stdout.splitlines() == [
        f"The real w: {w}, b: {b}",
        f"wrote {out}: 100 samples, 1 feature, regression",
    ]
    table = load_csv(out)
    assert table.feature_names == ["x"] and table.label_name == "y"
    np.testing.assert_allclose(table.x[:, 0], reference.x.astype(np.float32))
    np.testing.assert_allclose(table.y, reference.y.astype(np.float32))


def test_default_seed_is_zero_and_output_is_kind_dot_csv(
    cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("gen-data", "moons")
    assert result.exit_code == 0, result.stderr
    table = load_csv(tmp_path / "moons.csv", task="classification")
    reference = moons(seed=0)
    np.testing.assert_array_equal(table.y, reference.y)
    np.testing.assert_allclose(table.x, reference.x)


def test_npz_from_the_out_suffix(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "moons.npz"
    result = cli("gen-data", "moons", "--n", "50", "--noise", "0.3", "--seed", "4", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    table = load_npz(out)
    reference = moons(n=50, noise=0.3, seed=4)
    np.testing.assert_array_equal(table.x, reference.x)
    np.testing.assert_array_equal(table.y, reference.y)


def test_params_reach_the_generator(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "s.npz"
    result = cli("gen-data", "spirals", "--param", "classes=3", "--n", "90", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("90 samples, 2 features, 3 classes\n")
    assert sorted(set(load_npz(out).y.tolist())) == [0, 1, 2]


def test_images_are_flattened_with_class_names(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "shapes.npz"
    result = cli("gen-data", "images", "--n", "12", "--format", "npz", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    table = load_npz(out)
    assert table.x.shape == (12, 28 * 28)
    assert table.class_names == ["square", "disc", "hbar", "vbar", "plus", "triangle"]


def test_plot_writes_a_png_next_to_the_output(cli: Callable, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "line.csv"
    result = cli("gen-data", "linear", "--n", "20", "--out", str(out), "--plot")
    assert result.exit_code == 0, result.stderr
    picture = tmp_path / "line.png"
    assert result.stdout.splitlines()[-1] == f"wrote {picture}"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_supplies_generator_and_flags_override_it(
    cli: Callable, write_config: Callable, tmp_path: Path
) -> None:
    config = write_config(
        "seed: 3\ndata: {generator: moons, n: 40, noise: 0.05}\nmodel: {type: mlp}\n"
    )
    out = tmp_path / "m.npz"
    result = cli("gen-data", "--config", str(config), "--n", "30", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    reference = moons(n=30, noise=0.05, seed=3)
    np.testing.assert_array_equal(load_npz(out).x, reference.x)


def test_config_with_file_data_is_refused(
    cli: Callable, write_config: Callable, tmp_path: Path
) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    config = write_config("data: {path: t.csv}\nmodel: {type: softmax}\n")
    result = cli("gen-data", "--config", str(config))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: {config}: data comes from the file {tmp_path / 't.csv'}, not a generator\n"
    )


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ["moon"],
            [
                "error: unknown generator 'moon'; did you mean 'moons'?",
                "hint: choose one of: linear, polynomial, blobs, moons, spirals, images",
            ],
        ),
        (
            [],
            [
                "error: missing generator KIND",
                "hint: choose one of: linear, polynomial, blobs, moons, spirals, images",
            ],
        ),
        (
            ["blobs", "--noise", "2"],
            [
                "error: generator blobs has no parameter 'noise'",
                "hint: blobs accepts: n, centers, n_features, std, seed",
            ],
        ),
        (
            ["blobs", "--param", "centres=2"],
            [
                "error: generator blobs has no parameter 'centres'; did you mean 'centers'?",
                "hint: blobs accepts: n, centers, n_features, std, seed",
            ],
        ),
        (["moons", "--n", "1"], ["error: generator moons: n must be >= 2, got 1"]),
        (
            ["moons", "--out", "x.txt"],
            ["error: --out x.txt: unknown file type .txt", "hint: use .csv or .npz"],
        ),
        (
            ["moons", "--out", "x.csv", "--format", "npz"],
            ["error: --out x.csv ends in .csv but --format is npz"],
        ),
        (
            ["moons", "--set", "a=1"],
            ["error: --set needs --config", "hint: use --param KEY=VALUE for generator params"],
        ),
    ],
)
def test_mistakes_are_one_line(cli: Callable, args: list[str], lines: list[str]) -> None:
    result = cli("gen-data", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == lines


def test_kind_and_config_together_are_refused(cli: Callable, write_config: Callable) -> None:
    result = cli("gen-data", "moons", "--config", str(write_config(MINIMAL)))
    assert result.exit_code == 2
    assert result.stderr == "error: give a generator KIND or --config, not both\n"
