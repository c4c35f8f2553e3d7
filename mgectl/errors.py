"""Exceptions that mean "the user asked for something wrong": printed as one line, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix: shown as one line (plus an optional hint), exit code 2."""

    exit_code: int = 2
    label: str = "error"  # the word before each printed line

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The message lines to print, one per problem."""
        return [self.message]


class ConfigError(UserError):
    """Every problem found in one experiment config, each already formatted as one line."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        super().__init__("\n".join(problems), hint)
        self.problems = list(problems)

    def lines(self) -> list[str]:
        """One line per problem."""
        return list(self.problems)


class TrainingInterruptedError(UserError):
    """Ctrl-C (or SIGTERM/SIGHUP) during training: a checkpoint was saved; exit 128 + signal."""

    exit_code = 130
    label = "interrupted"

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 130) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code


class TrainingDivergedError(UserError):
    """The loss or a gradient became NaN/inf; the weights were not updated with it. Exit 1."""

    exit_code = 1
