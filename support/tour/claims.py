"""Claims of the tour notebook: the classic birthday-problem numbers (textbook values)."""

from support.claims import AtMost, Claim, ClaimSet, Within

CLAIMS = ClaimSet("00_tour", [
    Claim("p23", "With 23 people, P(shared birthday) is about 0.507", 0.5073, "", "textbook (Feller, 1968)",
          Within(rel=0.03, partly_rel=0.06)),
    Claim("n_half", "23 is the smallest group with P > 1/2", 23, "people", "textbook (Feller, 1968)",
          Within(rel=0.0)),
    Claim("mc_z", "Simulation agrees with the exact formula: max |z-score| over group sizes", 0.0, "sd",
          "this project (oracle check)", AtMost(4.0, partly=5.0)),
])
