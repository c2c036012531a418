"""Token track pieces that run without the model: the call grammar, the boundary scanner, cache rollback and reuse."""

import itertools
import json
from typing import ClassVar

import pytest

from support.agentc.claims import CLAIMS
from support.agentc.dsl import normalize_tools
from support.agentc.taubench.data import tool_schemas
from support.agentc.token_track.decode import call_schema, scan
from support.claims import ClaimRecorder


def test_scanner_finds_closed_name_and_completed_arguments():
    text = '{"name":"return_delivered_order_items","arguments":{"order_id":"#W1","item_ids":["1","2"],"payment'
    name, at, args, closed = scan(text)
    assert name == "return_delivered_order_items" and text[at] == '"'
    assert [(k, v) for k, v, _ in args] == [("order_id", "#W1"), ("item_ids", ["1", "2"])]
    assert text[args[0][2]] == '"' and not closed
    assert scan(text[:20])[0] is None
    full = text + '_method_id":"gift_card_1"}}'
    assert scan(full)[3] and json.loads(full)["arguments"]["payment_method_id"] == "gift_card_1"


def test_call_schema_accepts_exactly_the_tools():
    tools = normalize_tools(tool_schemas("retail"))
    s = call_schema(tools)
    assert len(s["anyOf"]) == 16
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate({"name": "get_order_details", "arguments": {"order_id": "#W1"}}, s)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "get_order_details", "arguments": {"oops": 1}}, s)


@pytest.mark.slow
def test_smollm2_episodes_are_compliant_with_enforcement():
    pytest.importorskip("llguidance")
    from support.agentc.token_track.episodes import run_token_track

    rows = run_token_track(2, 1, 1, 48, seed=0)
    on = [r for r in rows if r["enforce"]]
    assert on and all(r["compliant"] and r["schema_valid"] for r in on)


def test_unconstrained_violations_count_only_complete_calls():
    """A call cut off by the token budget is not a policy violation: counted apart (hand-made rows)."""
    import pandas as pd

    from support.agentc.experiments import token_violation_counts

    rows = pd.DataFrame([
        {"enforce": False, "complete": True, "compliant": True, "violations": []},
        {"enforce": False, "complete": True, "compliant": False, "violations": ["authenticate_first"]},
        {"enforce": False, "complete": False, "compliant": False, "violations": []},
        {"enforce": False, "complete": False, "compliant": False, "violations": []},
    ])
    assert token_violation_counts(rows) == {"calls": 4, "violating": 1, "incomplete": 2}


def _tiny_llama(seed: int = 0):
    """A 2-layer random Llama with a vocabulary of 40 (the shared test model, at the size these tests used)."""
    from tests.lm.tiny_llama import tiny_llama

    return tiny_llama(seed, vocab_size=40, d_model=16, n_heads=2, n_kv_heads=1, head_dim=8, d_ff=24, bos_id=0, eos_id=1)


def test_rollback_then_refeed_gives_the_logits_of_a_fresh_forward_pass():
    """The decoder's cache rollback: after generating 5 tokens and rolling back to token ``cut``, the
    logits at step ``cut`` and after a new token there equal a fresh cache-free pass on the same prefix."""
    import numpy as np

    from support.agentc.token_track.decode import rollback_cache

    model = _tiny_llama()
    prompt, out, new = [2, 7, 11, 5, 3, 9], [4, 8, 15, 16, 23], 30
    for cut in range(len(out)):
        cache = model.new_cache()
        model.forward(prompt[:-1], cache=cache, logits="none")
        base = cache.length()
        first = model.forward(prompt[-1:], cache=cache, logits="last")[0]
        for t in out[:-1]:  # the decoder feeds each sampled token to get the next step's logits
            model.forward([t], cache=cache, logits="last")
        rollback_cache(cache, base, cut)
        at_cut = first if cut == 0 else model.forward([out[cut - 1]], cache=cache, logits="last")[0]
        after = model.forward([new], cache=cache, logits="last")[0]
        fresh = model.forward(prompt + out[:cut] + [new])
        np.testing.assert_allclose(at_cut, fresh[-2], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(after, fresh[-1], rtol=1e-4, atol=1e-5)


def _token_rows(n_calls: int, n_fallbacks: int):
    import pandas as pd

    on = [{"task": k, "seed": 0, "enforce": True, "schema_valid": True, "compliant": True, "complete": True,
           "backtracks": 7 if k < n_fallbacks else 0, "fallback": k < n_fallbacks, "violations": []}
          for k in range(n_calls)]
    off = [{**r, "enforce": False, "fallback": False, "violations": ["authenticate_first"], "compliant": False}
           for r in on]
    return {"available": True, "rows": pd.DataFrame(on + off), "check_ms_median": 1.0, "seconds": 1.0}


def test_token_compliance_claim_fails_when_fallbacks_exceed_a_quarter_of_calls(tmp_path):
    """Fallback calls are compliant by construction: 3 of 8 (37.5%) is over the 25% bound, 2 of 8 is not."""
    from support.agentc.experiments import record_token_claims

    for n_fb, expected in [(3, False), (2, True), (0, True)]:
        nb = ClaimRecorder(CLAIMS, "default", tmp_path)
        record_token_claims(nb, _token_rows(8, n_fb))
        assert nb.measurements["token_enforced_compliant"].measured is expected
        assert nb.metrics["token_fallback_rate"] == n_fb / 8


def test_prefill_turn_reuses_a_repeated_turn_bit_identically_and_recomputes_a_new_one():
    """A turn prefilled again after decoding (memo hit) and a different turn (memo miss) leave the cache
    giving exactly the logits of a fresh system-prompt-plus-turn prefill."""
    import numpy as np

    from support.agentc.token_track.episodes import prefill_turn

    model, system = _tiny_llama(), [2, 7, 11, 5]

    def fresh(turn):
        cache = model.new_cache()
        model.forward(system + turn[:-1], cache=cache, logits="none")
        return model.forward(turn[-1:], cache=cache, logits="last")

    cache, memo = model.new_cache(), {}
    model.forward(system, cache=cache, logits="none")
    n_sys = cache.length()
    for turn in ([3, 9, 4, 8], [3, 9, 4, 8], [6, 9, 4, 8], [3, 9, 4, 8]):
        prefill_turn(model, cache, n_sys, turn, memo)
        assert cache.length() == n_sys + len(turn) - 1
        np.testing.assert_array_equal(model.forward(turn[-1:], cache=cache, logits="last"), fresh(turn))
        for t in (15, 16, 23):  # decoding grows the cache past the turn before the next job
            model.forward([t], cache=cache, logits="last")


class _CountingLlama:
    """The tiny Llama with a count of forward passes (prefills and decode steps alike)."""

    def __init__(self):
        self.inner, self.calls = _tiny_llama(), 0
        self.config = self.inner.config

    def new_cache(self):
        return self.inner.new_cache()

    def forward(self, ids, **kw):
        self.calls += 1
        return self.inner.forward(ids, **kw)


class _WordTokenizer:
    """One id per whitespace-separated word, within the tiny model's vocabulary of 40."""

    def encode(self, text):
        import numpy as np

        return np.asarray([2 + len(w) % 38 for w in text.split()], dtype=np.int64)


class _FixedCallDecoder:
    """Stands in for CallDecoder: always the same authentication call, without touching the cache; it records
    which step memo each call got."""

    memos: ClassVar[list] = []

    def __init__(self, *args, **kw):
        _FixedCallDecoder.memos = []

    def generate(self, ids, cache, prefix, rng, enforce, max_tokens=0, memo=None):
        from support.agentc.dsl import Event
        from support.agentc.token_track.decode import Generated

        self.memos.append(memo)
        call = Event("find_user_id_by_email", {"email": "nobody@example.com"})
        return Generated(call, json.dumps({"name": call.name, "arguments": call.args}), 12, 0)


@pytest.mark.parametrize("calls_per_episode, per_job", [(1, 0), (2, 1)])
def test_token_track_prefills_each_turn_once_and_feeds_back_only_calls_that_have_a_next(
        monkeypatch, calls_per_episode, per_job):
    """2 tasks x 2 seeds x {off, on}: one system-prompt prefill, one turn prefill per task, and a call fed
    back only when another call follows in the episode (the decoder here makes no forward passes)."""
    from support.agentc.token_track import episodes

    model = _CountingLlama()
    monkeypatch.setattr(episodes, "smollm2", lambda xp=None: model)
    monkeypatch.setattr(episodes, "smollm2_tokenizer", _WordTokenizer)
    monkeypatch.setattr(episodes, "CallDecoder", _FixedCallDecoder)
    rows = episodes.run_token_track(2, 2, calls_per_episode, 8, seed=0)
    assert len(rows) == 8 * calls_per_episode
    assert model.calls == 1 + 2 + 8 * per_job
    # step logits are shared by the decodes after one prompt: the memo of each call is the one its task's first
    # job (of 4: seeds x {off, on}) got for the same call
    memos = _FixedCallDecoder.memos
    first_use = [next(i for i, x in enumerate(memos) if x is m) for m in memos]
    assert first_use == [(job // 4) * 4 * calls_per_episode + c for job in range(8) for c in range(calls_per_episode)]


def test_step_logits_from_a_shared_memo_equal_plain_one_token_decoding_across_backtracks():
    """Three decodes after one prompt share a memo, with rollbacks (to 0 as well): every step's logits equal, bit for
    bit, those of plain decoding (prefill, then one token at a time), and a replayed path costs no forward pass."""
    import numpy as np

    from support.agentc.token_track.decode import StepLogits

    model, prompt = _CountingLlama(), [2, 7, 11, 5, 3, 9]

    def plain(out):
        cache = model.inner.new_cache()
        model.inner.forward(prompt[:-1], cache=cache, logits="none")
        lg = model.inner.forward(prompt[-1:], cache=cache, logits="last")[0]
        for t in out:
            lg = model.inner.forward([t], cache=cache, logits="last")[0]
        return lg

    memo = {}
    jobs = [[4, 8, 15, 16, ("cut", 2), 30, 31, ("cut", 0), 12, 13],  # each int: a sampled token
            [4, 8, 30, 31],  # a path job 0 took: replayed without a forward pass
            [4, 8, 30, 31, ("cut", 1), 20, 21]]
    calls = []
    for job in jobs:
        cache = model.new_cache()
        model.forward(prompt[:-1], cache=cache, logits="none")
        model.calls = 0
        steps, out = StepLogits(model, cache, prompt[-1], memo), []
        for op in job:
            np.testing.assert_array_equal(steps.at(out), plain(out))
            if isinstance(op, tuple):
                steps.rollback(op[1])
                del out[op[1]:]
            else:
                out.append(op)
        np.testing.assert_array_equal(steps.at(out), plain(out))
        calls.append(model.calls)
    assert calls == [10, 0, 4]  # job 2 feeds 9, 4, 20, 21 (the cache it skipped, then the new tokens)


class _LengthRecordingDecoder(_FixedCallDecoder):
    """The fixed call, recording how many positions the cache holds and the prompt ids at every call."""

    seen: ClassVar[list] = []

    def __init__(self, *args, **kw):
        super().__init__()
        _LengthRecordingDecoder.seen = []

    def generate(self, ids, cache, prefix, rng, enforce, max_tokens=0, memo=None):
        self.seen.append((cache.length(), len(ids)))
        return super().generate(ids, cache, prefix, rng, enforce, max_tokens, memo)


def test_a_fed_back_call_follows_the_whole_previous_prompt_including_its_last_token(monkeypatch):
    """Before each call the cache holds everything but the prompt's last token; the next call's prompt must follow
    that last token too (the decoder returns the cache without it), so the cache grows by all of the new prompt."""
    from support.agentc.token_track import episodes

    monkeypatch.setattr(episodes, "smollm2", lambda xp=None: _CountingLlama())
    monkeypatch.setattr(episodes, "smollm2_tokenizer", _WordTokenizer)
    monkeypatch.setattr(episodes, "CallDecoder", _LengthRecordingDecoder)
    episodes.run_token_track(1, 1, 3, 8, seed=0)
    seen = _LengthRecordingDecoder.seen
    assert len(seen) == 2 * 3  # check off and on, three calls each
    for (held, _), (held_next, n_next) in itertools.pairwise(seen[:3]):  # the check-off job's three calls
        assert held_next == held + n_next  # + the previous prompt's last token + all but the last of the new one


def test_a_cut_off_call_is_not_counted_as_violating_even_if_it_lists_a_violation():
    """``violating`` is complete AND violates: an incomplete row is counted as incomplete only, whatever its
    ``violations`` column holds (hand-made rows: 1 complete violating, 1 incomplete with a listed rule)."""
    import pandas as pd

    from support.agentc.experiments import token_violation_counts

    rows = pd.DataFrame([
        {"enforce": False, "complete": True, "compliant": False, "violations": ["authenticate_first"]},
        {"enforce": False, "complete": False, "compliant": False, "violations": ["authenticate_first"]},
    ])
    assert token_violation_counts(rows) == {"calls": 2, "violating": 1, "incomplete": 1}
