"""Claims of arXiv 2512.23740 (Fenske et al.), declared once.

The paper body was not available (notes §0): the abstract states the design claims qualitatively.
The thresholds below are the quantitative acceptance criteria of issue 5 / notes §6 that make those
claims checkable, except rbpf_mixed's 0.1, which is ours (the prototype's 1-D RBPF range, notes §1.4a);
sources say which sentence each one tests and where each bar comes from.
"""

from __future__ import annotations

from support.claims import Above, AtLeast, AtMost, Claim, ClaimSet, IsTrue, Within

ABSTRACT = "abstract"
_ALL = ("smoke", "default", "paper")
_BIG = ("default", "paper")

CLAIMS = ClaimSet("02_factors", [
    Claim("five_ops", "Engines (VE, forward filter, tree sum-product) use only the five factor operations "
          "(plus the read-only scope); exact runs call no project", True, "",
          f"{ABSTRACT}: 'five fundamental operations … universal interface'; notes A1", IsTrue(), _ALL),
    Claim("discrete_exact", "Discrete tables: max |P_ours − P_pgmpy| over fixed queries/evidence on the shipped "
          "networks", 1e-10, "", f"{ABSTRACT}: 'discrete tables'; issue 5 acceptance", AtMost(1e-10), _ALL),
    Claim("andes_seconds", "andes (223 nodes): our VE time for the fixed queries", 5.0, "s",
          "issue 5 acceptance (andes under 5 s)", AtMost(5.0), _BIG),
    Claim("discrete_peak_memory", "Peak traced memory of VE on the discrete networks", 2048.0, "MiB",
          "issue 5 acceptance (peak memory under 2 GiB)", AtMost(2048.0), _ALL),
    Claim("gaussian_exact", "Gaussian BNs: max |diff| of posterior mean/cov vs the closed form "
          "(pgmpy to_joint_gaussian, rounded to 8 decimals)", 1e-6, "", f"{ABSTRACT}: 'Gaussian distributions'; "
          "issue 5 acceptance", AtMost(1e-6), _ALL),
    Claim("kalman_exact", "Forward filter on a linear-Gaussian model vs a Kalman filter (max relative error)",
          1e-10, "", "issue 5 acceptance", AtMost(1e-10), _ALL),
    Claim("hybrid_vs_enumeration", "SLDS exact CLG map: max error of log Z, P(s_T|y), E/Cov[x_T|y] vs "
          "brute-force enumeration (K=2, T<=12; K=3, T<=7)", 1e-9, "", f"{ABSTRACT}: 'practical inference in "
          "complex hybrid models'; issue 5 acceptance", AtMost(1e-9), _ALL),
    Claim("hybrid_vs_funsor", "SLDS: ours vs funsor (exact eager, GPB2 moment matching, GPB1) — max difference "
          "of every summary", 1e-9, "", "issue 5 acceptance (funsor as peer)", AtMost(1e-9), _ALL),
    Claim("funsor_speedup", "SLDS runtime ratio funsor / ours (numpy backend; geometric mean over sizes and "
          "maps)", 1.0, "x", "issue 5 acceptance ('ours should be faster')", Above(1.0), _ALL),
    Claim("pf_logz_error", "Bootstrap PF on the 1-D SLDS (K=2, T=10): mean |Δ log Z| at N=10^4 over 5 "
          "simulated data sets x 20 filter seeds", 0.05, "",
          f"{ABSTRACT}: 'sample-based approaches'; issue 5 acceptance", AtMost(0.05), _BIG),
    Claim("pf_slope", "PF error-vs-N log-log slope (1-D SLDS, K=2, T=10; mean of the slopes of 5 simulated "
          "data sets, 20 filter seeds each)", -0.5, "", "Monte Carlo rate N^-1/2; issue 5 acceptance "
          "[-0.7, -0.3]", Within(0.4), _BIG),
    Claim("rbpf_mixed", "Mixed representation (particles for the mode, Gaussian for the state) on the 4-D "
          "constant-velocity SLDS (K=2, T=10; T=8 at smoke, 12 at paper scale): RBPF with N = n_particles // 10 "
          "(200 at the default n_particles = 2000), mean |Δ log Z| vs enumeration over 5 simulated data sets x "
          "20 filter seeds", 0.1, "", f"{ABSTRACT}: 'freely mix different representations'; bar: ours: the "
          "prototype's 1-D range, notes section 1.4a (not the issue)", AtMost(0.1), _ALL),
    Claim("circular_pf_tv", "Range-only (circular) observations: particle TV to the grid at the final step "
          "(mean over seeds)", 0.25, "", "tech-oracle summary of the paper's figure; issue 5 acceptance",
          AtMost(0.25), _ALL),
    Claim("circular_tv_ratio", "Circular observations: Gaussian TV / particle TV at the final step", 2.0, "x",
          "sampling vs parametric figure; issue 5 acceptance", AtLeast(2.0), _ALL),
])
