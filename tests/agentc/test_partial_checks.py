"""Decode-time (partial-call) checks against an independent oracle: the reference evaluator on completions.

A partial candidate (tool name, some arguments) is ``sat`` iff some completion complies. The oracle: a ``sat``
answer must come with a witness whose completion the reference evaluator accepts (or some completion over the
value pools must comply); an ``unsat`` answer must leave no complying completion over the pools. The pools are the
fuzz pools plus the values the prefix holds under the same key.
"""

import itertools

import numpy as np
import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, builtin_policy, normalize_tools
from support.agentc.fuzz import POOLS, random_trace, toy_policy
from support.agentc.smt import Candidate, SmtMonitor

_ABSENT = object()
_LISTS = ([], ["1"], ["1", "2", "3"], ["p", "bad"])


def _pool(prefix, key: str) -> list:
    if key in ("passengers", "item_ids", "new_item_ids", "flights", "items"):
        return list(_LISTS) + [e.args[key] for e in prefix if isinstance(e.args.get(key), list)]
    vals = set(POOLS.get(key, ["s", "t"]))

    def same_key(x, depth=0):
        if isinstance(x, dict) and depth < 5:
            for k, y in x.items():
                if k == key and isinstance(y, (str, int, float)) and not isinstance(y, bool):
                    vals.add(y)
                same_key(y, depth + 1)
        elif isinstance(x, list) and depth < 5:
            for y in x:
                same_key(y, depth + 1)

    for e in prefix:
        if e.is_call:
            same_key(e.args)
            same_key(e.ret)
    return sorted(vals, key=lambda v: (type(v).__name__, str(v)))


def _some_completion_complies(pol, prefix, cand: Candidate) -> bool:
    """Brute force over the pools for the open arguments a rule's trigger reads (the only ones a rule sees: the
    trigger's return value is not visible); an optional one may also stay absent."""
    schema = pol.tools[cand.name]
    required = set(schema.get("required", []))
    keys = sorted({k for r in pol.safety for k, _ in r.formula.pat.args if r.formula.pat.matches_name(cand.name)}
                  - set(cand.args))
    keys = [k for k in keys if k in schema.get("properties", {})]
    choices = [_pool(prefix, k) if k in required else [_ABSENT] + _pool(prefix, k) for k in keys]
    for combo in itertools.product(*choices):
        args = {**cand.args, **{k: v for k, v in zip(keys, combo) if v is not _ABSENT}}
        if not ref.check_candidate(pol, prefix, Event(cand.name, args)):
            return True
    return False


def oracle_agrees(pol, prefix, cand: Candidate, res) -> bool:
    """Whether a partial check's answer ``res`` is right by the reference evaluator (see the module docstring)."""
    if not res.ok:
        return not _some_completion_complies(pol, prefix, cand)
    done = Event(cand.name, {**cand.args, **{k: v for k, v in res.witness.items() if k != "__name__"}})
    return not ref.check_candidate(pol, prefix, done) or _some_completion_complies(pol, prefix, cand)


def test_partial_candidates_of_random_traces_agree_with_the_brute_force_oracle():
    rng = np.random.default_rng(5)
    n_sat = n_unsat = 0
    for pol in (builtin_policy("retail"), builtin_policy("airline"), toy_policy()):
        mon = SmtMonitor(pol)
        for _ in range(30):
            tr = random_trace(pol, rng, 6)
            for j, e in enumerate(tr):
                if not e.is_call:
                    continue
                keys = list(e.args)
                for i in range(len(keys)):  # the name alone, then each argument as it closes
                    cand = Candidate(e.name, {k: e.args[k] for k in keys[:i]}, complete=False)
                    mon.reset(tr[:j])
                    res = mon.check(cand)
                    assert oracle_agrees(pol, tr[:j], cand, res), (pol.domain, cand, res, [x.short() for x in tr[:j]])
                    n_sat += res.ok
                    n_unsat += not res.ok
    assert n_sat > 100 and n_unsat > 100  # both answers are exercised


# ---------------------------------------------------------------------------------------------- decoding
class _Cache:
    def __init__(self):
        self.ids: list[int] = []

    def length(self) -> int:
        return len(self.ids)

    def truncate(self, n: int) -> None:
        del self.ids[n:]


class _Steered:
    """A stand-in model whose logits spell the first target the generated text is a prefix of; a target further
    down the list gets a lower logit, so when the decoder bans a token the next target takes over."""

    def __init__(self, tok, prompt_len: int, targets: list[str]):
        self.tok, self.prompt_len, self.targets = tok, prompt_len, targets
        self.config = type("Config", (), {"vocab_size": tok.vocab_size})()

    def new_cache(self) -> _Cache:
        return _Cache()

    def forward(self, ids, cache, logits="last"):
        cache.ids += list(ids)
        text = self.tok.decode(cache.ids[self.prompt_len:])
        lg = np.zeros(self.config.vocab_size)
        for r, t in enumerate(self.targets):
            if t.startswith(text) and len(t) > len(text):
                i = int(self.tok.encode(t[len(text)])[0])
                lg[i] = max(lg[i], 40.0 - 10 * r)
        return lg[None, :]


def _byte_tokenizer():
    """A byte-level tokenizer (one token per byte, two control tokens): enough for llguidance's JSON grammar."""
    from tokenizers.pre_tokenizers import ByteLevel

    from support.lm.tokenizer import Tokenizer

    specials = ["<|endoftext|>", "<|im_end|>"]
    return Tokenizer(specials + sorted(ByteLevel.alphabet()) + ["ĠĠ"], ["Ġ Ġ"], bos_id=0, eos_id=1,
                     specials=specials)


SCENARIOS = [  # (prefix, [violating call, compliant call]): the model prefers the first
    ([Event("user", {"text": "where is my order?", "yes": False})],
     ['{"name":"get_order_details","arguments":{"order_id":"#W1"}}',  # before authentication
      '{"name":"find_user_id_by_email","arguments":{"email":"a@b.c"}}']),
    ([Event("user", {"text": "my details", "yes": False}), Event("find_user_id_by_email", {"email": "a@b.c"}, "u1")],
     ['{"name":"get_user_details","arguments":{"user_id":"x9"}}',  # another user's record
      '{"name":"get_user_details","arguments":{"user_id":"u1"}}']),
]


@pytest.mark.parametrize(("prefix", "targets"), SCENARIOS)
def test_decoding_with_smt_checks_emits_only_calls_the_reference_accepts(monkeypatch, prefix, targets):
    """The same stand-in model without the check emits the violating call; with it every partial check the decoder
    makes agrees with the oracle, the decoder backtracks, and the emitted call is the compliant one."""
    pytest.importorskip("llguidance")
    from support.agentc.taubench.data import tool_schemas
    from support.agentc.token_track import decode

    checks = []

    class Recording(SmtMonitor):
        def check(self, cand, prefer=None, exclude=None):
            res = super().check(cand, prefer=prefer, exclude=exclude)
            checks.append((list(self.prefix), cand, res))
            return res

    monkeypatch.setattr(decode, "SmtMonitor", Recording)
    pol = builtin_policy("retail")
    tok = _byte_tokenizer()
    prompt = tok.encode("call:").tolist()
    model = _Steered(tok, len(prompt), targets)
    dec = decode.CallDecoder(model, tok, pol, normalize_tools(tool_schemas("retail")))
    calls = {}
    for enforce in (False, True):
        cache = model.new_cache()
        model.forward(prompt[:-1], cache=cache, logits="none")
        g = dec.generate(prompt, cache, prefix, np.random.default_rng(0), enforce, max_tokens=120)
        assert g.call is not None and not g.fallback, g.text
        calls[enforce] = (g, ref.check_candidate(pol, prefix, g.call))
    (off, off_viol), (on, on_viol) = calls[False], calls[True]
    assert off.text == targets[0] and off_viol, "without the check the model's first choice violates"
    assert on.text == targets[1] and on_viol == [] and on.backtracks >= 1
    assert any(not c.complete for _, c, _ in checks) and any(not r.ok for _, _, r in checks)
    for pre, cand, res in checks:
        assert oracle_agrees(pol, pre, cand, res), (cand, res)


@pytest.mark.parametrize(("prefix", "targets"), SCENARIOS)
def test_decodes_sharing_a_step_memo_emit_the_same_calls_with_fewer_forward_passes(prefix, targets):
    """The run with the check shares step logits with the run without it (same prompt, same seed): its call, tokens,
    backtracks and vetoes are those of a decode without the memo, and the sampled path they share is not re-run."""
    pytest.importorskip("llguidance")
    from support.agentc.taubench.data import tool_schemas
    from support.agentc.token_track import decode

    class Counting(_Steered):
        calls = 0

        def forward(self, ids, cache, logits="last"):
            Counting.calls += 1
            return super().forward(ids, cache, logits)

    pol, tok = builtin_policy("retail"), _byte_tokenizer()
    prompt = tok.encode("call:").tolist()
    model = Counting(tok, len(prompt), targets)
    dec = decode.CallDecoder(model, tok, pol, normalize_tools(tool_schemas("retail")))
    seen, passes = {}, {}
    for shared in (False, True):
        memo, Counting.calls = {}, 0
        for enforce in (False, True):
            cache = model.new_cache()
            model.forward(prompt[:-1], cache=cache, logits="none")
            g = dec.generate(prompt, cache, prefix, np.random.default_rng(0), enforce, max_tokens=120,
                             memo=memo if shared else None)
            seen[shared, enforce] = (g.text, g.tokens, g.backtracks, g.rejected, g.fallback)
        passes[shared] = Counting.calls
    assert all(seen[True, e] == seen[False, e] for e in (False, True))
    assert seen[False, True][2] >= 1 and passes[True] < passes[False]
