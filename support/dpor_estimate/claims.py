"""The claims of arXiv 2512.23996 (State Space Estimation for DPOR-based Model Checkers), declared once.

Values without a number in the abstract (the "20 % band", "a few hundred trials") are made concrete
as in the issue: 20 independent runs, 300 trials, >= 80 % of runs within +/-20 %, on >= 3 of 4
benchmarks with 1e5-1e6 classes; order policy and SE budget fixed before running. The statements describe
that pre-registered protocol: paper scale judges its first 20 runs, and other ``trials`` or ``se_budget``
values leave the SE claims not applicable (``experiments.protocol_mismatch``).
"""

from __future__ import annotations

from support.claims import AtLeast, AtMost, Claim, ClaimSet, IsTrue

CLAIMS = ClaimSet("04_dpor_estimate", [
    Claim("hardness",
          "Counting Mazurkiewicz trace classes is #P-hard and inapproximable within any subexponential factor",
          "theorem", "", "abstract; §3", IsTrue()),
    Claim("exact_counts",
          "Exhaustive optimal DPOR (our TruSt) reproduces the class counts of the benchmarks (GenMC's published "
          "counts where GenMC lists the size, closed forms or prototype counts otherwise)",
          "GenMC expected counts", "", "GenMC tests/correct/synthetic expected.sc.mo.in; §7", IsTrue()),
    Claim("knuth_unbiased",
          "Knuth's estimator on the optimal-DPOR tree is unbiased (programs where the exact expectation over "
          "all probe paths, in fractions, differs from the exhaustive class count, the known (published or "
          "closed-form) count or the node count)",
          0, "mismatches", "abstract; §4 (Algorithm T)", AtMost(0)),
    Claim("se_unbiased",
          "Stochastic enumeration is unbiased (|SE(4) mean over 2e4 trials - exact| in standard errors on "
          "lastzero(5) and inc(4))",
          0, "std. errors", "abstract; §5 (Algorithm S)", AtMost(3.0), scales=("default", "paper")),
    Claim("within_20pct",
          "Estimates within a 20% band after a few hundred trials on 1e5-1e6-class benchmarks "
          "(benchmarks of {big1, lastzero(15), CO-2+2W(5), fib_bench(5)} where >= 80% of 20 runs of 300 "
          "SE(8) trials land within +/-20%)",
          "typically", "benchmarks of 4", "abstract; §7", AtLeast(3, partly=2), scales=("default", "paper")),
    Claim("se_variance",
          "Stochastic enumeration keeps variance low (benchmarks of 4 where per-trial Var[SE(8)] <= "
          "0.25 x Var[Knuth], over 20 runs of 300 trials)",
          "low variance", "benchmarks of 4", "abstract; §5", AtLeast(3, partly=2), scales=("default", "paper")),
    Claim("cost_estimate",
          "The same machinery estimates model-checking cost: worst |median of 20 runs of 1000-probe "
          "explored-graph estimates - exhaustive node count| / node count over big0 and big1",
          "estimates cost", "rel. error", "abstract; §6", AtMost(0.15, partly=0.3), scales=("default", "paper")),
    Claim("estimate_vs_exhaustive_time",
          "A +/-20% estimate of big1 (1.8M classes) costs a small fraction of exhaustive exploration "
          "(time to reach and stay in the +/-20% band: trials to the band x median SE(8) time per trial, "
          "over the exhaustive time)",
          "few hundred trials", "ratio", "abstract; §7 (issue: <= 2%)", AtMost(0.02, partly=0.05),
          scales=("default", "paper")),
])
