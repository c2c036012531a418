"""PackKV (arXiv 2512.24449): LLM-aware lossy compression of the KV cache.

Modules follow the paper's pipeline: :mod:`quantize` (error-bounded per-token quantization after RoPE),
:mod:`blocks` (full-precision recent window, 64-token blocks, token reordering shared by K and V, the growing
cache), :mod:`bitpack` (per-channel frame-of-reference bit-packing of 16-token packs, real serialized bytes),
:mod:`kivi` (the KIVI-style baseline with the same accounting), :mod:`fused` (q·K^T and attn·V from packed
blocks, NumPy), :mod:`gpu` (CuPy RawKernel versions and the cuBLAS fp16 baseline), :mod:`accuracy` (KL, top-1,
attention error, perplexity, turning points) and :mod:`experiments` (what the notebook calls).
"""
