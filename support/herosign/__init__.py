"""HERO-Sign (arXiv 2512.23969): batched SLH-DSA (FIPS 205) signing on lanes, CPU (NumPy) and GPU (CuPy).

Every hash call of a batch is a *lane*; signing is a handful of batched phases (H_msg, FORS,
TREE, WOTS+) -- the three-kernel split HERO-Sign tunes on the GPU. The CPU path needs only NumPy
and ``hashlib``; the GPU path (``support.herosign.gpu``) imports CuPy lazily.
"""

from support.herosign.params import PARAMS, Params, get_params

__all__ = ["PARAMS", "Params", "get_params"]
