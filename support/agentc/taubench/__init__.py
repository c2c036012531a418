"""tau-bench retail and airline environments, re-implemented from the mirrored data, schemas and wiki."""
