"""Shared fixtures for the mgectl tests: a CLI runner and a helper that writes config files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from mgectl_support import REPO
from typer.testing import CliRunner, Result

from mgectl.cli import app


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run mgectl in-process: cli("validate", "x.yaml") -> Result with stdout/stderr/exit_code."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML text to tmp_path/NAME and return its path."""

    def write(text: str, name: str = "exp.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, where configs name their data files."""
    monkeypatch.chdir(REPO)
    return REPO
