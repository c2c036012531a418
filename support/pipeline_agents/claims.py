"""Claims of arXiv 2512.23737 (agentic governance of cloud data pipelines) and the acceptance of issue 13.

Only the abstract was available: "mean recovery time down up to 45%", "operational cost down about 25%",
"manual interventions down by over 70%", freshness and policy compliance maintained. Thresholds marked
"issue" are the issue's reconstruction of what a faithful simulation must show.
"""

from support.claims import AtLeast, AtMost, Claim, ClaimSet, IsTrue, Within

ABS = "arXiv 2512.23737, abstract"
ISSUE = "issue 13 acceptance"

CLAIMS = ClaimSet("05_pipeline_agents", [
    Claim("mttr_reduction", "Mean time to recover (fault onset to healthy) of the agentic controller vs static "
          "orchestration, relative reduction of the seed means (batch and streaming faults together)", 0.45, "",
          ABS + " (up to 45%); threshold " + ISSUE, AtLeast(0.30, partly=0.20)),
    Claim("cost_reduction", "Operational cost (worker-hours x price, recomputed from the event log), relative "
          "reduction of the seed means", 0.25, "", ABS + " (about 25%); band [15%, 35%] " + ISSUE,
          Within(0.4, partly_rel=0.6)),
    Claim("manual_reduction", "Manual interventions (on-call pages), relative reduction of the seed means", 0.70,
          "", ABS + " (over 70%); threshold " + ISSUE, AtLeast(0.50, partly=0.35)),
    Claim("freshness_kept", "Freshness/lag SLO attainment, agentic minus static, worse of batch and streaming "
          "(percentage points)", 0.0, "pp", ABS + " (freshness maintained); -1 pp " + ISSUE, AtLeast(-1.0)),
    Claim("zero_violations", "Executed agent actions that violate a policy when re-validated by the Rego engine",
          0, "actions", ABS + " (all actions validated against policies)", AtMost(0)),
    Claim("sweep_directions", "All four directions (MTTR, cost, manual down; freshness not worse by more than "
          "1 pp) hold at every fault-rate multiplier of the x0.5-x2 sweep", True, "", ISSUE, IsTrue()),
    Claim("z3_rego_agree", "z3 and Rego (regopy) give identical verdicts and violated-rule sets on random "
          "(state, action) pairs (10,000 at default scale)", True, "", ISSUE, IsTrue()),
    Claim("new_rule_enforced", "A rule file added to the policy directory (no code change) is enforced in the "
          "next run", True, "", ISSUE, IsTrue()),
    Claim("hand_scenario", "Hand-computed 3-stage scenario (one worker loss) matches the simulator exactly "
          "(MTTR, cost, completion) for both controllers", True, "", ISSUE, IsTrue()),
    Claim("lindley_exact", "simpy FIFO queue equals the Lindley recursion on the same random streams", True, "",
          ISSUE, IsTrue()),
    Claim("des_vs_analytic", "simpy M/M/1 (rho 0.8) and M/M/3 mean sojourn vs the closed forms: worst relative "
          "error", 0.05, "", ISSUE, AtMost(0.05, partly=0.08)),
])
