"""Token track: SmolLM2-135M generating tool calls under a JSON grammar with SMT checks during decoding."""
