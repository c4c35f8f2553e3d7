"""mgectl: a config-driven training CLI on top of the engine package."""

__version__ = "0.1.0"
