"""Representation-agnostic factors (Fenske et al., arXiv 2512.23740): five operations over tables,
canonical-form (conditional linear) Gaussians and weighted particles, and engines written against them.

Modules: :mod:`table`, :mod:`gaussian`, :mod:`particles`, :mod:`density` (representations);
:mod:`ops` (the five-op interface); :mod:`project` (conversions); :mod:`elimination`,
:mod:`filtering`, :mod:`sum_product` (engines); :mod:`models`, :mod:`experiments`, :mod:`claims`.
"""

from support.factors.errors import FactorError, NotClosedError, UnsupportedPairError

__all__ = ["FactorError", "NotClosedError", "UnsupportedPairError"]
