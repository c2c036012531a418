"""Errors of the optimization layer."""

from __future__ import annotations


class OptError(RuntimeError):
    """Base class: an optimization could not be carried out."""


class InfeasibleError(OptError, ValueError):
    """The problem has no feasible point; ``binding`` names the constraint that cannot be met."""

    def __init__(self, message: str, binding: str | None = None):
        super().__init__(message)
        self.binding = binding
