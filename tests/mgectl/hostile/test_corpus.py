"""Run the hostile corpus through the CLI: promised exit code and message, never a traceback."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from hostile_cases import BASE, CASES, Case
from typer.testing import CliRunner, Result

from mgectl.cli import app

FORBIDDEN = ("internal error", "Traceback", "Warning:", "warnings.warn")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-epoch run of BASE (name tiny), the material checkpoint cases craft from."""
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "c.yaml").write_text(BASE)
    result = CliRunner().invoke(app, ["train", str(folder / "c.yaml"), "-q", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    (run,) = (folder / "tiny").iterdir()
    return run


def prepare(case: Case, folder: Path, tiny_run: Path) -> None:
    """Write the case's files and run its setup inside FOLDER."""
    for name, content in case.files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.setup is not None:
        case.setup(folder, tiny_run)


def invoke(args: tuple[str, ...] | list[str]) -> Result:
    """mgectl ARGS in-process, output not on a terminal."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def outcome(result: Result) -> str:
    """stdout and stderr together, for the fragment and the forbidden words."""
    return result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(case, tmp_path, tiny_run)
    monkeypatch.chdir(tmp_path)
    result = invoke(case.args)
    text = outcome(result)
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception  # an escape past the error boundary: show its traceback
    assert result.exit_code == case.code, text
    assert case.fragment in text, text
    for word in FORBIDDEN:
        assert word not in text, text


def config_cases() -> list[Case]:
    """The cases that train a config file (validate must give the same verdict)."""
    wanted = ("config", "data")
    return [c for c in CASES if c.category in wanted and c.args[:2] == ("train", "c.yaml")]


@pytest.mark.parametrize("case", config_cases(), ids=[c.id for c in config_cases()])
def test_validate_agrees_with_train(
    case: Case, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(case, tmp_path, tiny_run)
    monkeypatch.chdir(tmp_path)
    sets = [a for a in case.args[2:] if a != "-q"]
    result = invoke(["validate", "c.yaml", *sets])
    text = outcome(result)
    assert result.exit_code == (0 if case.code == 0 else 2), text
    if case.code:
        assert case.fragment in text, text
    for word in FORBIDDEN:
        assert word not in text, text


def test_the_corpus_is_large_and_covers_every_category() -> None:
    counts = collections.Counter(c.category for c in CASES)
    assert sum(counts.values()) >= 150, counts
    assert set(counts) == {"config", "flags", "data", "predict", "checkpoint", "rundir"}
    assert len({c.id for c in CASES}) == len(CASES), "case ids are unique"
