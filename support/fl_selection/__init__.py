"""Paper 07: data-heterogeneity-aware client selection and resource allocation (CSRA) for FL over wireless
networks (arXiv 2512.24286). Import the submodules directly.

``heterogeneity``: label-distribution divergences per client and of a selected mixture.
``generalization``: the generalization constraint c1 delta(S) + c2 / sqrt(D_S) <= eps and its calibration fit.
``system``: the FDMA uplink + on-device compute system of one round.
``allocation``: convex bandwidth/CPU-frequency allocation for a fixed selection (cvxpy, exp/power cones).
``csra``: relaxed joint selection, bisection on the round deadline, greedy rounding.
``oracles``: scipy KKT allocation and exhaustive subset enumeration.
``baselines``: random, best channel, all clients, Power-of-Choice, Oort-style selectors.
``experiments``: what the notebook calls.
"""
