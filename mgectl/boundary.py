"""The one place where exceptions become messages and exit codes (2 user, 1 internal, 130 ^C)."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import typer
from typer.core import TyperGroup

from mgectl.errors import UserError

DEBUG_KEY = "mgectl.debug"
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 1  # as Click exits when the reader of its output went away


class ErrorBoundaryGroup(TyperGroup):
    """The top-level command group: runs a verb and maps whatever it raises to an exit code."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        """The group's options, flags shown as flags in --help."""
        return show_flags_as_flags(super().get_params(ctx))

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        """A verb, its flags (--quiet, --help, ...) shown without a <bool> value in --help."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            show_flags_as_flags([*command.params, command.get_help_option(ctx)])
        return command

    def invoke(self, ctx: typer.Context) -> Any:
        """Run the chosen verb; print known errors as one line and exit, re-raise with --debug."""
        try:
            with warnings.catch_warnings():
                if not ctx.meta.get(DEBUG_KEY):
                    # NaN/inf are reported once, by name (never a source line above the error)
                    warnings.simplefilter("ignore", RuntimeWarning)
                return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own exits and usage errors already print and choose their code
        except UserError as error:
            if ctx.meta.get(DEBUG_KEY):
                raise
            report_user_error(error)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM/SIGHUP (mgectl.train.signals)
            if ctx.meta.get(DEBUG_KEY):
                raise
            print_error("interrupted")
            raise typer.Exit(getattr(interrupt, "exit_code", EXIT_INTERRUPTED)) from None
        except BrokenPipeError:
            # the reader went away (`mgectl ... | head`): not an error of ours; point stdout at
            # /dev/null so the interpreter's final flush does not complain either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as error:
            if ctx.meta.get(DEBUG_KEY):
                raise
            print_error(f"internal error: {describe(error)} (run with --debug for the traceback)")
            raise typer.Exit(EXIT_INTERNAL) from None


def show_flags_as_flags(params: list[Any]) -> list[Any]:
    """Give boolean flags an empty metavar: Typer's help would show them taking a <bool> value."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


def describe(error: BaseException) -> str:
    """``TypeName: first line of the message``, kept to one line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def report_user_error(error: UserError) -> None:
    """Print each line of a UserError as ``error: ...`` in red, then its hint, to stderr."""
    for line in error.lines():
        print_error(f"{error.label}: {line}")
    if error.hint:
        print_error(f"hint: {error.hint}", style="yellow")


def print_error(text: str, style: str = "red") -> None:
    """Print one unwrapped, unmarked-up line to stderr (coloured only on a terminal)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    console.print(Text(text, style=style))
