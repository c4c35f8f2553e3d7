"""Automatic differentiation: GradManager, and the finite-difference checkers (check.py)."""

from typing import Any

from .grad_manager import GradManager

__all__ = [
    "GradCheckResult",
    "GradManager",
    "check_grad",
    "check_parameters",
    "check_primitive",
]


def __getattr__(name: str) -> Any:
    # The checker is a tool, not part of training: load it on first use to keep imports fast.
    if name in ("GradCheckResult", "check_grad", "check_parameters", "check_primitive"):
        from . import check

        return getattr(check, name)
    raise AttributeError(f"module 'engine.autodiff' has no attribute {name!r}")
