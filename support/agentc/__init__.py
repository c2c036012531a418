"""Agent-C (arXiv 2512.23738): temporal tool-call policies, an SMT monitor, enforcement on tau-bench."""
