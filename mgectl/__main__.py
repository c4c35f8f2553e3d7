"""Let ``python -m mgectl`` (and the ``mgectl`` script) run the CLI; Ctrl-C while starting: 130."""

import sys


def main() -> None:
    """Make stop signals act like Ctrl-C, then import and run the CLI (imports take a while)."""
    from mgectl.train.signals import exit_code_of, raise_on_stop_signals

    raise_on_stop_signals()
    try:
        from mgectl.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt as interrupt:  # before the error boundary is in place
        sys.stderr.write("interrupted\n")
        sys.exit(exit_code_of(interrupt))


if __name__ == "__main__":
    main()
