"""Let ``python -m mgectl`` run the CLI."""

from mgectl.cli import main

if __name__ == "__main__":
    main()
