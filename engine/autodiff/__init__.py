"""Automatic differentiation: GradManager, and the finite-difference checkers (check.py)."""

from typing import Any

from .grad_manager import GradManager, GradManagerGroup

__all__ = [
    "Function",
    "GradCheckResult",
    "GradManager",
    "GradManagerGroup",
    "check_grad",
    "check_parameters",
    "check_gradgrad",
    "check_primitive",
]


def __getattr__(name: str) -> Any:
    # The checkers and Function are not part of every training loop: load them on first use
    # to keep `import engine` fast.
    if name == "Function":
        from .function import Function

        return Function
    if name in ("GradCheckResult", "check_grad", "check_parameters", "check_primitive"):
        from . import check

        return getattr(check, name)
    if name == "check_gradgrad":
        from .gradgrad import check_gradgrad

        return check_gradgrad
    raise AttributeError(f"module 'engine.autodiff' has no attribute {name!r}")
