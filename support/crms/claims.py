"""Claims of CRMS (arXiv 2512.23952) and the acceptance criteria of issue 10, declared once.

Only the abstract and introduction were available; the fit value 0.9987 is quoted from a third-party
summary of the paper. Thresholds marked "issue" are the issue's reconstruction.
"""

from support.claims import Above, AtLeast, AtMost, Claim, ClaimSet, IsTrue

ABS = "arXiv 2512.23952, abstract"
SUM = "arXiv 2512.23952 (fit quality as quoted by a third-party summary)"
ISSUE = "issue 10 acceptance"

CLAIMS = ClaimSet("06_crms", [
    Claim("fit_adj_r2", "The profiled nonlinear latency model fits every workload (paper: adjusted R^2 0.9987 on its "
          "DNN containers); ours: worst held-back adjusted R^2 of the corrected monotone form over the live-profiled "
          "workloads", 0.9987, "", SUM + "; threshold " + ISSUE, AtLeast(0.95, partly=0.9), scales=("default", "paper")),
    Claim("paper_form_r2", "The paper's literal form k1(1-exp(-k2 c)) + exp(k3 m) fits our profiles: worst "
          "held-back R^2 over workloads", 0.9987, "", SUM, AtLeast(0.95, partly=0.8), scales=("default", "paper")),
    Claim("stage1_dcp", "Stage 1 (fixed container counts) is a convex program: cvxpy verifies DCP and DPP", True, "",
          ABS + " (convex subproblems)", IsTrue()),
    Claim("scip_2pct", "CRMS objective within 2% of the SCIP global MINLP optimum: fraction of random small instances",
          0.9, "of instances", ISSUE, AtLeast(0.9, partly=0.8)),
    Claim("scip_5pct_all", "CRMS within 5% of the SCIP optimum on all small instances: worst relative gap", 0.05, "",
          ISSUE, AtMost(0.05, partly=0.1)),
    # Pre-registered before the first run (2026-11-29): the issue's bar, applied to the screened greedy path
    # (2N > exhaustive_below, so moves are screened by shadow prices and only the top_k re-solved), judged on
    # the instances SCIP proves optimal, as scip_2pct does; the gap to SCIP's dual bound is reported beside it.
    Claim("screened_scip_2pct", "Screened path (N = 7-8 apps, shadow-price screening of the +/-1 moves): CRMS "
          "objective within 2% of SCIP's best primal value: fraction of the instances SCIP proves optimal", 0.9,
          "of instances", ISSUE + " (bar applied to N = 7-8)", AtLeast(0.9, partly=0.8)),
    Claim("screened_scip_5pct_all", "Screened path (N = 7-8) within 5% of the SCIP optimum on every instance SCIP "
          "proves optimal: worst relative gap", 0.05, "", ISSUE + " (bar applied to N = 7-8)",
          AtMost(0.05, partly=0.1)),
    Claim("grid_dp", "CRMS no worse than the exact grid DP (N <= 3) beyond 0.5%", True, "", ISSUE, IsTrue()),
    Claim("latency_vs_heuristic", "Mean latency reduction of CRMS over the best heuristic baseline (equal, "
          "load-proportional, demand-proportional (VPA-style), static request=limit; best per seed by latency), "
          "default scenario, median over seeds", 0.14, "", ABS,
          AtLeast(0.14, partly=0.10)),
    Claim("seeds_10pct", "Fraction of seeds on which CRMS cuts mean latency by >= 10% vs the best heuristic, the "
          "VPA-style share we added included", 0.8, "of seeds",
          ISSUE + " bar, applied also to the VPA-style share we added", AtLeast(0.8, partly=0.6)),
    # Issue 10's acceptance as written: its Build section names the heuristic baselines (equal share,
    # load-proportional share, static request=limit sizing); the VPA-style share was added by an audit on
    # 2026-11-29. Declared on 2026-12-01, after sixteen notes had asked which reading the issue meant and got no
    # answer; the values on that reading had been seen (reported as metrics since 2026-11-30: 90% of seeds in
    # every default run). The stricter rows above stay judged beside these two.
    Claim("seeds_10pct_named", "Issue 10's acceptance with the issue's own heuristic baselines (equal share, "
          "load-proportional, static request=limit; not the VPA-style share we added): fraction of seeds on which "
          "CRMS cuts mean latency by >= 10% vs the best of them", 0.8, "of seeds", ISSUE + " (its named heuristics)",
          AtLeast(0.8, partly=0.6)),
    Claim("power_not_worse_named", "Issue 10's acceptance, power not worse: modeled power (reserved CPUs and memory) "
          "of CRMS relative to the best of the issue's three named heuristics by latency (mean over the seeds where "
          "one is stable)", 1.0, "x", ISSUE + " (its named heuristics)", AtMost(1.0)),
    Claim("latency_vs_search", "Mean latency reduction of CRMS over the best search baseline (random search, "
          "dual annealing) with the same wall-clock budget, median over seeds", 0.14, "", ABS, AtLeast(0.14, partly=0.05)),
    # No partly band: when every method reserves all CPUs the ratio cannot exceed ~1.008, so a 1.05 band
    # could not fail (audit 2026-11-29).
    Claim("power_not_worse", "Modeled power (reserved CPUs and memory, the notes' formula) of CRMS relative to "
          "the best heuristic baseline by latency (mean over seeds)", 1.0, "x",
          ABS + " (better energy efficiency); " + ISSUE, AtMost(1.0)),
    Claim("energy_efficiency", "Energy efficiency (requests per joule) of CRMS relative to the best heuristic "
          "baseline (mean over seeds); at equal throughput this is 1 / the power ratio, the same measurement",
          1.0, "x", ABS, Above(1.0)),  # "better": a tie is not
    Claim("runtime_n50", "CRMS solves N = 50 apps in under 10 s (2 CPU cores)", 10.0, "s", ISSUE, AtMost(10.0),
          scales=("default", "paper")),
    Claim("poly_slope", "Polynomial time: log-log slope of CRMS runtime vs N", 3.0, "", ABS + " (polynomial time)",
          AtMost(3.0, partly=4.0)),
    # The 10% margin was added after an audit (2026-11-29) had seen the per-epoch margins: any strict win counted
    # before, which CRMS gets almost by construction (it minimises latency + w_pow * power over a set that holds
    # every heuristic's allocation). The margin is the headline's (seeds_10pct); the rule is unchanged.
    Claim("quasi_dynamic", "Quasi-dynamic re-solve per 5-min epoch of the Azure trace: fraction of epochs where CRMS's "
          "mean latency is at least 10% below the best heuristic's (the headline's margin, per epoch)", 0.8,
          "of epochs", ABS + " (quasi-dynamic execution); margin as " + ISSUE + " (seeds_10pct)",
          AtLeast(0.8, partly=0.6)),
    Claim("des_5pct", "Simulated mean sojourn of the CRMS allocation matches the M/M/1 formula (load <= 0.8): worst "
          "relative error", 0.05, "", ISSUE, AtMost(0.05, partly=0.08)),
    Claim("lindley_simpy", "Lindley recursion equals the simpy simulation on the same random streams", True, "",
          ISSUE, IsTrue()),
    Claim("infeasible_named", "Demand above capacity raises one error naming the binding constraint", True, "", ISSUE,
          IsTrue()),
])
