"""PackKV's headline claims (arXiv 2512.24449, abstract) and the exactness properties its design states."""

from support.claims import AtLeast, AtMost, Claim, ClaimSet, IsTrue

ABSTRACT = "arXiv 2512.24449, abstract"

CLAIMS = ClaimSet("08_packkv", [
    Claim("k_cr_gain_vs_kivi",
          "K: compression ratio gain over KIVI-style quantization at the same accuracy (turning points)",
          153.2, "%", ABSTRACT + " (mean over models x benchmarks, Table: turning-point CR)",
          AtLeast(114.9, partly=5.0)),
    Claim("v_cr_gain_vs_quant",
          "V: compression ratio gain of packing over quantization alone (a plain quantizer with the same step) at "
          "the turning point",
          179.6, "%", ABSTRACT + " (mean over models x benchmarks)", AtLeast(134.7, partly=5.0)),
    Claim("v_gain_grows_with_rel", "V packing gain grows with the error bound (Spearman rho > 0.5 over the grid)",
          True, "", "paper, turning-point tables (gain largest at the coarsest turning points)", IsTrue()),
    Claim("heldback_dppl", "accuracy drop at the turning points stays minimal: perplexity change on held-back text "
          "(upper end of its paired 95 % CI, worst PackKV turning point)",
          5.0, "%", ABSTRACT + " ('minimal accuracy drop'); our pre-registered limit +5 %", AtMost(5.0),
          scales=("default", "paper")),  # smoke scores 63 tokens: a 95 % CI about as wide as the limit itself
    Claim("k_throughput_gain", "K: fused decompress + q.K^T throughput over the faster fp16 mat-vec per row "
          "(cuBLAS, or the same kernels on the dense fp16 cache)", 75.7, "%",
          ABSTRACT + " (mean over contexts, A100 and RTX Pro 6000; the paper's baseline is cuBLAS)",
          AtLeast(56.8, partly=0.0)),
    Claim("v_throughput_gain", "V: fused decompress + attn.V throughput over the faster fp16 mat-vec per row "
          "(cuBLAS, or the same kernels on the dense fp16 cache)", 171.7, "%",
          ABSTRACT + " (mean over contexts, A100 and RTX Pro 6000; the paper's baseline is cuBLAS)",
          AtLeast(128.8, partly=0.0)),
    Claim("lossless_packing", "bit-packing is lossless: every packed layer decodes to the exact codes", True, "",
          "paper §3 (lossless stage)", IsTrue()),
    Claim("error_bounded", "every reconstructed element is within its per-token error bound: rel/2 of the token's "
          "value range", True, "",
          "paper §3 (error-bounded quantization)", IsTrue()),
    Claim("fused_exact", "fused q.K^T and attn.V on packed blocks equal decompress-then-matmul: the worse relative "
          "error of the two (tolerance 1e-6)", 1e-6, "", "paper §4 (decompression moved after the dot product)",
          AtMost(1e-6)),
])
