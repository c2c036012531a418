"""Constrained decoding of one tool call with SMT checks during generation and backtracking.

Per token, ``llguidance`` masks the logits to the JSON grammar of ``{"name": <tool>, "arguments": {...}}``
(compiled from the tool schemas). At grammar-symbol boundaries (the tool name string closes; an
argument value completes) the partial call is checked by the SMT monitor; if no completion can comply
(``unsat``), the decoder rolls the matcher and the KV cache back to the first token of the offending
value, bans the token it had sampled there and that value, and resamples (IterGen-style backtracking).
After ``max_backtracks`` it emits a fixed compliant fallback call instead.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from support.agentc.dsl import Event, Policy
from support.agentc.smt import Candidate, SmtMonitor


def call_schema(tools: dict[str, dict], allowed: list[str] | None = None) -> dict:
    """JSON schema of one call: anyOf over tools, each ``{"name": const, "arguments": parameters}``."""
    variants = []
    for name in allowed or sorted(tools):
        params = dict(tools[name])
        params.setdefault("type", "object")
        params = {k: v for k, v in params.items() if k in ("type", "properties", "required")}
        params["additionalProperties"] = False
        props = {k: _short(v) for k, v in params.get("properties", {}).items()}
        params["properties"] = props
        variants.append({"type": "object", "properties": {"name": {"const": name}, "arguments": params},
                         "required": ["name", "arguments"], "additionalProperties": False})
    return {"anyOf": variants}


def _short(schema: dict, max_len: int = 48) -> dict:
    """A property schema without descriptions, strings capped at ``max_len`` characters (decoding budget)."""
    out = {k: v for k, v in schema.items() if k != "description"}
    if out.get("type") == "string" and "enum" not in out:
        out["maxLength"] = max_len
    if out.get("type") == "array" and isinstance(out.get("items"), dict):
        out["items"] = _short(out["items"], max_len)
        out["maxItems"] = 4
    return out


_NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_ARGS = re.compile(r'"arguments"\s*:\s*\{')


def scan(text: str) -> tuple[str | None, int, list[tuple[str, Any, int]], bool]:
    """(tool name if its string closed, char offset where it starts, completed arguments as
    (key, value, value_start_offset), whether the arguments object closed)."""
    m = _NAME.search(text)
    name, name_at = (json.loads(f'"{m.group(1)}"'), m.start(1) - 1) if m else (None, -1)
    args: list[tuple[str, Any, int]] = []
    a = _ARGS.search(text)
    if not a:
        return name, name_at, args, False
    i = a.end()
    depth, in_str, esc, seg_start = 0, False, False, i
    closed = False
    while i < len(text):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            if depth == 0:
                closed = True
                _pair(text[seg_start:i], seg_start, args)
                break
            depth -= 1
        elif ch == "," and depth == 0:
            _pair(text[seg_start:i], seg_start, args)
            seg_start = i + 1
        i += 1
    return name, name_at, args, closed


def _pair(seg: str, offset: int, out: list) -> None:
    if not seg.strip():
        return
    try:
        d = json.loads("{" + seg + "}")
    except json.JSONDecodeError:
        return
    (k, v), = d.items()
    colon = seg.index(":", seg.index('"', seg.index('"') + 1))
    start = offset + colon + 1
    while start < offset + len(seg) and seg[start - offset] == " ":
        start += 1
    out.append((k, v, start))


def rollback_cache(cache, base: int, cut: int) -> None:
    """Truncate the KV cache for a rollback to generated token ``cut``: keep the prompt (``base`` cached
    tokens plus the prompt's last token) and ``out[:cut-1]``; the decoder then re-feeds ``out[cut-1]``
    (or, for ``cut == 0``, reuses the logits of the first step), so positions continue correctly."""
    if cut < 0 or base < 0:
        raise ValueError(f"rollback needs base >= 0 and cut >= 0; got base={base}, cut={cut}")
    cache.truncate(base + max(cut, 1))


class StepLogits:
    """Step logits by generated-token prefix: from ``memo`` when a decode after the same cached prompt reached it, else
    from one-token passes as plain decoding makes them (bit-identical reuse: a step depends only on its prefix)."""

    def __init__(self, model, cache, last_prompt_token: int, memo: dict | None = None):
        self.model, self.cache, self.first = model, cache, int(last_prompt_token)
        self.memo = {} if memo is None else memo
        self.base = cache.length()
        self.fed = 0  # the cache holds ``([first] + out)[:fed]`` after its first ``base`` positions

    def at(self, out: list[int]):
        """Logits of the step after ``out``; the cache is brought up to date only when they must be computed."""
        key = tuple(out)
        if key not in self.memo:
            seq = [self.first, *out]
            while self.fed <= len(out):
                lg = self.model.forward([seq[self.fed]], cache=self.cache, logits="last")[0]
                self.memo.setdefault(tuple(out[: self.fed]), lg)
                self.fed += 1
        return self.memo[key]

    def rollback(self, cut: int) -> None:
        """Forget generated tokens from ``cut`` on (see :func:`rollback_cache`)."""
        rollback_cache(self.cache, self.base, cut)
        self.fed = min(self.fed, max(cut, 1))


@dataclass
class Generated:
    call: Event | None  # None when the fallback was used
    text: str
    tokens: int
    backtracks: int
    checks_ms: list[float] = field(default_factory=list)
    fallback: bool = False
    rejected: list[str] = field(default_factory=list)  # what the monitor vetoed (rule cores)
    seconds: float = 0.0


class CallDecoder:
    """Generates one tool call for a prompt, optionally enforcing a policy with the SMT monitor."""

    def __init__(self, model, tokenizer, policy: Policy, tools: dict[str, dict], *, max_backtracks: int = 6,
                 temperature: float = 0.9):
        import llguidance as L
        import llguidance.numpy as LN

        self.L, self.LN = L, LN
        self.model, self.tok, self.policy = model, tokenizer, policy
        self.tools = tools
        self.llt = L.LLTokenizer(tokenizer.hf.to_str())
        self.grammar = L.LLMatcher.grammar_from_json_schema(json.dumps(call_schema(tools)),
                                                            defaults={"whitespace_flexible": False})
        self.max_backtracks = max_backtracks
        self.temperature = temperature
        self.vocab = self.llt.vocab_size
        self.n_logits = model.config.vocab_size

    def _mask(self, m) -> np.ndarray:
        bm = self.LN.allocate_token_bitmask(1, self.vocab)
        self.LN.fill_next_token_bitmask(m, bm, 0)
        return np.unpackbits(bm.view(np.uint8), bitorder="little")[: self.vocab].astype(bool)

    def generate(self, prompt_ids: list[int], cache, prefix: list[Event], rng: np.random.Generator, enforce: bool,
                 max_tokens: int = 160, memo: dict | None = None) -> Generated:
        """Decode one call after ``prompt_ids`` (the cache already holds all but the last prompt token); ``memo``
        shares step logits between decodes after the same cached prompt (see :class:`StepLogits`)."""
        t_start = time.perf_counter()
        m = self.L.LLMatcher(self.llt, self.grammar)
        base = cache.length()
        steps = StepLogits(self.model, cache, prompt_ids[-1], memo)
        mon = SmtMonitor(self.policy) if enforce else None
        if mon is not None:
            mon.reset(prefix)
        out: list[int] = []
        ends: list[int] = []  # text length after each generated token
        text = ""
        banned: dict[int, set[int]] = {}
        banned_values: set[tuple[str, str]] = set()
        checked: set[tuple] = set()
        res = Generated(None, "", 0, 0)
        while len(out) < max_tokens:
            pos = len(out)
            lg = steps.at(out)
            lg = np.asarray(lg.get() if hasattr(lg, "get") else lg, dtype=np.float64)[: self.vocab]
            allow = self._mask(m)
            for b in banned.get(pos, ()):
                if allow.sum() > 1:
                    allow[b] = False
            if not allow.any():
                break
            z = np.where(allow, lg / self.temperature, -np.inf)
            z = z - z.max()
            p = np.exp(z)
            p /= p.sum()
            t = int(rng.choice(self.vocab, p=p))
            if not m.consume_token(t):
                break
            out.append(t)
            text = self.tok.decode(out)
            ends.append(len(text))
            name, name_at, args, closed = scan(text)
            done = m.is_stopped() or (closed and text.rstrip().endswith("}") and m.is_accepting())
            if mon is not None and name is not None:
                # the boundaries reached so far, in order; check each new one once
                bounds = [("name", name, name_at)] + [(k, v, s) for k, v, s in args]
                for i in range(len(bounds)):
                    key = tuple((b[0], json.dumps(b[1], sort_keys=True)) for b in bounds[: i + 1]) + ((closed and done),)
                    if key in checked:
                        continue
                    checked.add(key)
                    k_name, k_val, k_at = bounds[i]
                    cand_args = {k: v for k, v, _ in args[:i]} if i else {}
                    if i:
                        cand_args[k_name] = k_val
                    complete = closed and done and i == len(bounds) - 1
                    t0 = time.perf_counter()
                    bad_val = (k_name, json.dumps(k_val, sort_keys=True)) in banned_values
                    r = None if bad_val else mon.check(Candidate(name, cand_args, complete=complete))
                    res.checks_ms.append(1e3 * (time.perf_counter() - t0))
                    if bad_val or not r.ok:
                        res.rejected.append(",".join(r.core) if r is not None else f"banned {k_name}")
                        res.backtracks += 1
                        if res.backtracks > self.max_backtracks:
                            res.fallback = True
                            res.tokens = len(out)
                            res.text = text
                            res.seconds = time.perf_counter() - t_start
                            cache.truncate(base)
                            return res
                        banned_values.add((k_name, json.dumps(k_val, sort_keys=True)))
                        # first token whose text reaches into the value
                        cut = next(j for j, e in enumerate(ends) if e > k_at + (1 if isinstance(k_val, str) else 0))
                        banned.setdefault(cut, set()).add(out[cut])
                        m.rollback(len(out) - cut)
                        del out[cut:]
                        del ends[cut:]
                        steps.rollback(cut)
                        text = self.tok.decode(out)
                        done = False
                        break
            if done:
                break
        res.tokens = len(out)
        res.text = text
        try:
            obj = json.loads(text)
            res.call = Event(obj["name"], obj.get("arguments", {}))
        except (json.JSONDecodeError, KeyError, TypeError):
            res.call = None
        cache.truncate(base)
        res.seconds = time.perf_counter() - t_start
        return res
