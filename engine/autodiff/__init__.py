"""Automatic differentiation: GradManager (and check_grad, the finite-difference checker)."""

from .check import GradCheckResult, check_grad, check_primitive
from .grad_manager import GradManager

__all__ = ["GradCheckResult", "GradManager", "check_grad", "check_primitive"]
