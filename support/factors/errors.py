"""Errors raised by the factor algebra (§1.2 of the notes: ops 1-4 are exact or raise)."""

from __future__ import annotations


class FactorError(ValueError):
    """A malformed factor or a bad argument (unknown variable, wrong shape, bad evidence)."""


class UnsupportedPairError(NotImplementedError):
    """Two representations that have no exact product rule; ``project`` one side first."""


class NotClosedError(NotImplementedError):
    """An operation whose exact result leaves the representation (e.g. a Gaussian mixture)."""
