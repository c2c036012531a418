"""Selection policies compared with CSRA (arXiv 2512.24286 Sec. V baselines, reconstructed).

Every policy maps (FedAvg round context, this round's wireless system) to an :class:`Allocation`:
random selection with equal bandwidth and f_max (the conventional scheme), random with the optimized
allocation, best channel, all clients, Power-of-Choice (Cho, Wang, Joshi, AISTATS 2022), an Oort-style
utility selector (Lai et al., OSDI 2021), and CSRA with and without its heterogeneity term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from support.fl.fedavg import RoundContext
from support.fl_selection.allocation import Allocation, CostWeights, equal_allocation, joint_allocation
from support.fl_selection.csra import csra, min_generalization_selection, solo_round
from support.fl_selection.generalization import GenConstraint
from support.fl_selection.system import WirelessSystem
from support.opt import InfeasibleError


@dataclass
class Policy:
    """Base class: ``name``, participation ``m``; subclasses implement ``choose``.

    ``fallbacks`` counts the rounds in which the policy could not apply its own rule and chose by a fallback
    instead (only CSRA has one); ``experiments.run_method`` reads it to flag those rounds."""

    m: int
    weights: CostWeights
    name: str = "policy"
    fallbacks: int = 0

    def choose(self, ctx: RoundContext, system: WirelessSystem) -> Allocation:  # pragma: no cover - abstract
        raise NotImplementedError

    def aggregation_weights(self, sizes: np.ndarray) -> np.ndarray:
        """FedAvg's weights for the selected clients' models, given their data sizes: the sizes (McMahan et al.)."""
        return np.asarray(sizes, float)


@dataclass
class RandomEqual(Policy):
    """m clients uniformly at random; equal bandwidth B/m and every CPU at f_max."""

    name: str = "random"

    def choose(self, ctx, system):
        return equal_allocation(system, np.sort(ctx.rng.choice(system.K, self.m, replace=False)))


@dataclass
class BestChannel(Policy):
    """The m clients with the strongest channel this round; optimized allocation."""

    name: str = "best_channel"

    def choose(self, ctx, system):
        return joint_allocation(system, np.sort(np.argsort(-system.gain)[: self.m]), self.weights)


@dataclass
class AllClients(Policy):
    """Every client every round; optimized allocation."""

    name: str = "all_clients"

    def choose(self, ctx, system):
        return joint_allocation(system, np.arange(system.K), self.weights)


@dataclass
class PowerOfChoice(Policy):
    """Sample d candidates with probability proportional to D_k, keep the m with the highest current loss, and
    average their models with equal weights (Cho, Wang, Joshi, Sec. 2: the data share is already in the sampling,
    so weighting by D_k again, as FedAvg does for the other selectors, would count it twice)."""

    d: int = 0  # 0: 2m
    name: str = "power_of_choice"

    def choose(self, ctx, system):
        d = min(system.K, self.d or 2 * self.m)
        if d < self.m:
            raise ValueError(f"Power-of-Choice samples d = {self.d} candidates, fewer than the m = {self.m} it must "
                             "keep; use d >= m (0 means 2m)")
        cand = ctx.rng.choice(system.K, d, replace=False, p=system.D / system.D.sum())
        loss = np.array([ctx.client_loss(int(k)) for k in cand])
        return joint_allocation(system, np.sort(cand[np.argsort(-loss)[: self.m]]), self.weights)

    def aggregation_weights(self, sizes: np.ndarray) -> np.ndarray:
        return np.ones(len(sizes))


def oort_temporal_bonus(t: int, last_round: np.ndarray) -> np.ndarray:
    """Oort's temporal-uncertainty term sqrt(0.1 ln R / L(i)) (Lai et al., OSDI'21, Alg. 1): R is the current
    round and L(i) the round client i last took part in (both 1-based here), so a client left out longest gains most.
    ``t`` and ``last_round`` are the 0-based rounds of FedAvg."""
    R = t + 1
    L = np.asarray(last_round, float) + 1
    return np.sqrt(0.1 * math.log(max(R, 2)) / L)


@dataclass
class OortStyle(Policy):
    """Oort's utility: D_k * last training loss (statistical) plus the temporal-uncertainty bonus
    (:func:`oort_temporal_bonus`), times (T_pref / t_k)^alpha for clients slower than the preferred round time;
    a fraction ``explore`` of the slots goes to never-selected clients (fastest first)."""

    alpha: float = 2.0
    explore: float = 0.2
    pref_quantile: float = 0.5
    name: str = "oort"
    last_round: dict = field(default_factory=dict)

    def choose(self, ctx, system):
        K, m = system.K, self.m
        t_k = solo_round(system, m)[0]  # each client's round time alone (B/m, f_max)
        T_pref = float(np.quantile(t_k, self.pref_quantile))
        seen = ~np.isnan(ctx.last_loss)
        util = np.where(seen, system.D * np.nan_to_num(ctx.last_loss), 0.0)
        last = np.array([self.last_round.get(k, 0) for k in range(K)], float)
        util = util + np.where(seen, oort_temporal_bonus(ctx.t, last) * util.max(), 0)
        util = util * np.where(t_k > T_pref, (T_pref / t_k) ** self.alpha, 1.0)
        n_exp = min(round(self.explore * m), int((~seen).sum()))
        if seen.sum() < m - n_exp:
            n_exp = m - int(seen.sum())
        unexplored = np.flatnonzero(~seen)
        chosen = list(unexplored[np.argsort(t_k[unexplored])][:n_exp])
        for k in np.argsort(-util):
            if len(chosen) == m:
                break
            if seen[k] and k not in chosen:
                chosen.append(int(k))
        S = np.sort(np.array(chosen[:m], dtype=np.int64))
        for k in S:
            self.last_round[int(k)] = ctx.t
        return joint_allocation(system, S, self.weights)


@dataclass
class CSRA(Policy):
    """The paper's method: relaxed joint selection + allocation under the generalization constraint."""

    gen: GenConstraint = None  # type: ignore[assignment]
    P: np.ndarray = None  # type: ignore[assignment]
    name: str = "csra"
    T_prev: float | None = None

    def choose(self, ctx, system):
        """CSRA warm-started at the previous round's relaxed deadline; when no m-subset can meet the
        generalization constraint this round, the greedy min-constraint set is used (counted in ``fallbacks``)."""
        try:
            res = csra(system, self.P, self.m, self.gen, self.weights, T_hint=self.T_prev)
        except InfeasibleError as e:
            if e.binding != "generalization":
                raise
            self.fallbacks += 1
            S = np.sort(min_generalization_selection(self.P, system.D, self.m, self.gen))
            return joint_allocation(system, S, self.weights)
        self.T_prev = res.T_relaxed
        return res.allocation
