"""The model's byte-level BPE tokenizer, rebuilt from the GGUF metadata with the ``tokenizers`` library."""

from __future__ import annotations

import functools

import numpy as np


class Tokenizer:
    """GPT-2-style byte-level BPE (SmolLM2: digits split individually, no prefix space)."""

    def __init__(self, tokens: list[str], merges: list[str], bos_id: int = 1, eos_id: int = 2,
                 specials: list[str] | None = None):
        from tokenizers import AddedToken, decoders, models, pre_tokenizers
        from tokenizers import Tokenizer as HFTokenizer

        if not tokens or not merges:
            raise ValueError("tokenizer needs a vocabulary and merges (GGUF tokenizer.ggml.tokens/.merges)")
        vocab = {t: i for i, t in enumerate(tokens)}
        pairs = [tuple(m.split(" ", 1)) for m in merges]
        tok = HFTokenizer(models.BPE(vocab, pairs))
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False)])
        tok.decoder = decoders.ByteLevel()
        if specials:  # control tokens (ChatML ``<|im_start|>`` ...) are matched whole in text, skipped by decode
            tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
        self._tok = tok
        self.vocab_size = len(tokens)
        self.bos_id, self.eos_id = bos_id, eos_id

    def encode(self, text: str, bos: bool = False) -> np.ndarray:
        ids = self._tok.encode(text).ids
        return np.asarray(([self.bos_id] if bos else []) + ids, dtype=np.int64)

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids])

    @property
    def hf(self):
        """The underlying ``tokenizers.Tokenizer`` (e.g. ``hf.to_str()`` for grammar engines like llguidance)."""
        return self._tok


@functools.lru_cache(maxsize=1)
def smollm2_tokenizer() -> Tokenizer:
    from support.lm.gguf_loader import load_smollm2

    w = load_smollm2()
    specials = [t for t, ty in zip(w.metadata["tokens"], w.metadata.get("token_types", [])) if ty == 3]  # CONTROL
    return Tokenizer(w.metadata["tokens"], w.metadata["merges"], w.config.bos_id, w.config.eos_id, specials)
