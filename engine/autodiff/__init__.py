"""Automatic differentiation: GradManager (and check_grad, the finite-difference checker)."""

from .grad_manager import GradManager

__all__ = ["GradManager"]
