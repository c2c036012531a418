"""SLH-DSA parameter sets (FIPS 205 §11, Table 2) and derived sizes.

``get_params("SLH-DSA-SHA2-128f")`` (or the short ``"sha2-128f"``) returns a frozen :class:`Params`.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil


class UnknownParameterSet(ValueError):
    """Raised for a parameter-set name that FIPS 205 does not define."""


@dataclass(frozen=True)
class Params:
    """One FIPS 205 parameter set: n, h, d, h', a, k, lg w = 4 and the hash family.

    Sizes follow FIPS 205 §11 (Table 2); ``family`` is ``"sha2"`` or ``"shake"``.
    """

    name: str
    family: str
    n: int
    h: int
    d: int
    hp: int
    a: int
    k: int
    m: int
    category: int
    lg_w: int = 4

    @property
    def w(self) -> int:
        return 1 << self.lg_w

    @property
    def len1(self) -> int:
        return ceil(8 * self.n / self.lg_w)

    @property
    def len2(self) -> int:
        return ((self.len1 * (self.w - 1)).bit_length() - 1) // self.lg_w + 1

    @property
    def len(self) -> int:
        return self.len1 + self.len2

    @property
    def short(self) -> str:
        return self.name.removeprefix("SLH-DSA-").lower()

    @property
    def pk_bytes(self) -> int:
        return 2 * self.n

    @property
    def sk_bytes(self) -> int:
        return 4 * self.n

    @property
    def fors_sig_bytes(self) -> int:
        return self.k * (self.a + 1) * self.n

    @property
    def ht_sig_bytes(self) -> int:
        return (self.h + self.d * self.len) * self.n

    @property
    def sig_bytes(self) -> int:
        return self.n + self.fors_sig_bytes + self.ht_sig_bytes

    @property
    def md_bytes(self) -> int:
        return ceil(self.k * self.a / 8)

    @property
    def tree_bytes(self) -> int:
        return ceil((self.h - self.hp) / 8)

    @property
    def leaf_bytes(self) -> int:
        return ceil(self.hp / 8)

    @property
    def big_sha2(self) -> bool:
        """True when H, T_l, H_msg and PRF_msg use SHA-512 (SHA2 sets of category 3 and 5, §11.2.2)."""
        return self.family == "sha2" and self.category > 1

    def fors_tree_calls(self) -> int:
        """Hash calls of FORS_Sign's k trees per signature: PRF and F for each leaf, H for each inner node (FIPS 205
        Alg. 14-16); T_k, which compresses the roots, is not counted."""
        return 2 * (self.k << self.a) + self.k * ((1 << self.a) - 1)

    def hash_calls(self) -> dict[str, int]:
        """Tweakable-hash calls per signature (full trees, as FIPS 205 Alg. 9/15/16 compute them)."""
        fl = self.k << self.a
        leaves = self.d << self.hp
        return {"PRF_msg": 1, "H_msg": 1,
                "PRF": fl + leaves * self.len, "F": fl + leaves * self.len * (self.w - 1),
                "H": self.k * ((1 << self.a) - 1) + self.d * ((1 << self.hp) - 1),
                "T": 1 + leaves}


def _p(fam: str, size: str, n: int, h: int, d: int, a: int, k: int, m: int, cat: int) -> Params:
    return Params(f"SLH-DSA-{fam.upper()}-{size}", fam, n, h, d, h // d, a, k, m, cat)


_TABLE = []
for _fam in ("sha2", "shake"):
    _TABLE += [
        _p(_fam, "128s", 16, 63, 7, 12, 14, 30, 1),
        _p(_fam, "128f", 16, 66, 22, 6, 33, 34, 1),
        _p(_fam, "192s", 24, 63, 7, 14, 17, 39, 3),
        _p(_fam, "192f", 24, 66, 22, 8, 33, 42, 3),
        _p(_fam, "256s", 32, 64, 8, 14, 22, 47, 5),
        _p(_fam, "256f", 32, 68, 17, 9, 35, 49, 5),
    ]
PARAMS: dict[str, Params] = {p.name: p for p in _TABLE}
F_SETS = tuple(p.short for p in _TABLE if p.short.endswith("f"))


def get_params(name: str | Params) -> Params:
    """The parameter set called ``name`` (``"SLH-DSA-SHAKE-256f"``, ``"shake-256f"``, case-insensitive)."""
    if isinstance(name, Params):
        return name
    if not isinstance(name, str):
        raise UnknownParameterSet(f"parameter set must be a name string, got {type(name).__name__}")
    key = name.strip().upper()
    if not key.startswith("SLH-DSA-"):
        key = "SLH-DSA-" + key
    for full, p in PARAMS.items():
        if full.upper() == key:
            return p
    raise UnknownParameterSet(f"unknown SLH-DSA parameter set {name!r}; known: "
                              + ", ".join(p.short for p in PARAMS.values()))
