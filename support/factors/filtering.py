"""Forward filtering on the five ops, with representation maps (notes §1.3): the same engine gives exact
CLG enumeration, GPB1/GPB2 (collapse by projection), Rao-Blackwellised and bootstrap particle filters,
and Gaussian ADF for non-linear likelihoods.

predict = product with the transition factors + marginalize the previous state;
update  = product with the (conditioned) likelihood + normalize (its log Z is the evidence increment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.factors import ops
from support.factors.errors import FactorError, UnsupportedPairError
from support.validate import check_int


@dataclass(frozen=True)
class RepresentationMap:
    """How each kind of state variable is represented, and where the engine projects.

    discrete: 'table' | 'particles'; continuous: 'gaussian' | 'particles';
    collapse (table+gaussian only): 'none' (exact, keeps the mode history), 'gpb1' (one Gaussian per step,
    p(s) N(x) product form), 'gpb2' (after each update the K² components (s_{t-1}, s_t) are collapsed
    over s_{t-1} to one Gaussian per current mode; funsor's moment_matching SLDS filter).
    n_particles: particles for sampled maps, or draws for ADF updates through non-linear likelihoods.
    """

    name: str
    discrete: str = "table"
    continuous: str = "gaussian"
    collapse: str = "none"
    n_particles: int = 0

    def __post_init__(self):
        if self.discrete not in ("table", "particles"):
            raise ValueError(f"discrete representation must be 'table' or 'particles', got {self.discrete!r}")
        if self.continuous not in ("gaussian", "particles"):
            raise ValueError(f"continuous representation must be 'gaussian' or 'particles', got {self.continuous!r}")
        if self.collapse not in ("none", "gpb1", "gpb2"):
            raise ValueError(f"collapse must be 'none', 'gpb1' or 'gpb2', got {self.collapse!r}")
        if self.discrete == "table" and self.continuous == "particles":
            raise ValueError("unsupported representation pair: discrete='table' with continuous='particles' "
                             "(sampling x needs a sampled mode); use discrete='particles'")
        if self.collapse != "none" and (self.discrete, self.continuous) != ("table", "gaussian"):
            raise ValueError("collapse applies only to the (table, gaussian) representation pair")
        check_int(self.n_particles, f"map {self.name!r}: n_particles", minimum=0, what="a non-negative integer")
        if "particles" in (self.discrete, self.continuous) and self.n_particles <= 0:
            raise ValueError(f"map {self.name!r} samples, so n_particles must be positive")

    @property
    def sampled(self) -> bool:
        return self.discrete == "particles" or self.continuous == "particles"


EXACT = RepresentationMap("exact")
# The exact map on a model with modes keeps s_1..s_t as axes; the predict product at step t holds them and the
# precision's two axes, so t + 2 <= 64 (NumPy's limit on dimensions).
MAX_MODE_HISTORY = 62
GPB1 = RepresentationMap("gpb1", collapse="gpb1")
GPB2 = RepresentationMap("gpb2", collapse="gpb2")


def rbpf(n: int) -> RepresentationMap:
    """Particles for the mode, exact Gaussian (Kalman) for the state."""
    return RepresentationMap("rbpf", discrete="particles", continuous="gaussian", n_particles=n)


def bootstrap_pf(n: int) -> RepresentationMap:
    """Particles for everything, proposals from the transition."""
    return RepresentationMap("pf", discrete="particles", continuous="particles", n_particles=n)


def adf(n: int) -> RepresentationMap:
    """Gaussian state; non-linear likelihoods enter by sample → reweight → moment-match."""
    return RepresentationMap("adf", continuous="gaussian", n_particles=n)


MAPS = {"exact": lambda n: EXACT, "gpb1": lambda n: GPB1, "gpb2": lambda n: GPB2, "rbpf": rbpf,
        "pf": bootstrap_pf, "adf": adf}


def representation_map(name: str, n_particles: int = 0) -> RepresentationMap:
    """A named map: exact | gpb1 | gpb2 | rbpf | pf | adf. The deterministic maps (exact, gpb1, gpb2) take
    no particle count: a non-zero one is refused rather than silently ignored."""
    if name not in MAPS:
        raise ValueError(f"unknown representation map {name!r}; expected one of {', '.join(MAPS)}")
    if name in ("exact", "gpb1", "gpb2") and n_particles != 0:
        raise ValueError(f"map {name!r} is deterministic and takes no particle count; got n_particles={n_particles!r}")
    return MAPS[name](n_particles)


@dataclass(frozen=True)
class FilterResult:
    """log p(y_1:T) and the filtered belief after each update (normalized factors)."""

    log_z: float
    log_z_steps: tuple[float, ...]
    beliefs: tuple
    rmap: RepresentationMap


def _multiply(belief, f, rmap: RepresentationMap, rng):
    """product, or (for a parametric belief and a black-box likelihood) project → product → project."""
    try:
        return ops.product(belief, f)
    except UnsupportedPairError:
        if rmap.sampled or rmap.n_particles <= 0:
            raise
        draws = ops.project(belief, "particles", n=rmap.n_particles, rng=rng)
        return ops.project(ops.product(draws, f), "gaussian")


def _update(belief, model, t: int, rmap: RepresentationMap, rng):
    for f in model.observation(t):
        belief = _multiply(belief, f, rmap, rng)
    if rmap.collapse == "gpb2" and t > 1 and getattr(model, "discrete_name", None):
        belief = ops.project(belief, "gaussian", over=[model.s(t - 1)])  # K² posterior components -> K
    return ops.normalize(belief)


def _after_update(belief, model, t: int, rmap: RepresentationMap, rng):
    disc = getattr(model, "discrete_name", None)
    if rmap.collapse == "gpb1" and disc:
        return ops.project(belief, "gaussian", over=[model.s(t)], keep_weights=True)
    if rmap.discrete == "particles" and disc:
        names = [model.s(t)] if rmap.continuous == "gaussian" else None
        return ops.project(belief, "particles", names=names, rng=rng, resample_=True)
    if rmap.sampled:
        return ops.project(belief, "particles", names=[], rng=rng, resample_=True)
    return belief


def _predict(belief, model, t: int, rmap: RepresentationMap, rng):
    disc = getattr(model, "discrete_name", None)
    joint = belief
    for f in model.transition(t):
        joint = ops.product(joint, f)
    joint = ops.marginalize(joint, [model.x(t - 1)])
    if disc:
        prev = model.s(t - 1)
        if rmap.sampled:
            joint = ops.marginalize(joint, [prev])
        elif rmap.collapse == "gpb1":
            joint = ops.marginalize(joint, [prev])  # exact: the GPB1 belief's Gaussian does not depend on s_{t-1}
    if rmap.continuous == "particles":
        joint = ops.project(joint, "particles", rng=rng)  # bootstrap proposal: draw (s_t, x_t)
    return joint


def _initial(model, rmap: RepresentationMap, rng):
    """Product of the initial factors; sampled maps draw particles (RBPF draws only the mode, from its exact
    marginal, and keeps the state's conditional exactly per particle, so any mass the x1 factors carry counts once)."""
    factors = model.initial()
    belief = factors[0]
    for f in factors[1:]:
        belief = ops.product(belief, f)
    if not rmap.sampled:
        return belief
    names = None
    if rmap.continuous == "gaussian" and getattr(model, "discrete_name", None):
        names = sorted(ops.scope(belief) - {model.x(1)})
    return ops.project(belief, "particles", n=rmap.n_particles, names=names, rng=rng)


def forward_filter(model, rmap: RepresentationMap, rng: np.random.Generator | None = None,
                   keep_beliefs: bool = True) -> FilterResult:
    """Run predict/update for t = 1..T with representation map ``rmap`` (same code for every map).

    ``model`` provides ``initial()``, ``transition(t)``, ``observation(t)``, ``x(t)``, ``s(t)`` (if it has
    a discrete mode), ``T``. Sampled maps need ``rng``.
    """
    if model.T < 1:
        raise FactorError("the model has no observations (call with_data first)")
    if rmap.sampled and rng is None:
        raise FactorError(f"map {rmap.name!r} samples: pass rng=np.random.Generator")
    if getattr(model, "discrete_name", None) and not rmap.sampled and rmap.collapse == "none" \
            and model.T > MAX_MODE_HISTORY:
        raise FactorError(f"map {rmap.name!r} keeps every past mode as an array axis, so it filters at most "
                          f"{MAX_MODE_HISTORY} steps (NumPy arrays have at most 64 dimensions); this model has "
                          f"T = {model.T}: use a collapsing or sampled map (gpb1, gpb2, rbpf)")
    belief = _initial(model, rmap, rng)
    steps, beliefs = [], []
    for t in range(1, model.T + 1):
        if t > 1:
            belief = _predict(belief, model, t, rmap, rng)
        belief, lz = _update(belief, model, t, rmap, rng)
        steps.append(lz)
        if keep_beliefs:
            beliefs.append(belief)
        if t < model.T:
            belief = _after_update(belief, model, t, rmap, rng)
    return FilterResult(float(np.sum(steps)), tuple(steps), tuple(beliefs), rmap)
