"""Task lists parsed from tau-bench's upstream tasks_*.py (ast, never executed) equal the mirror's JSON conversion.

Unsupported or malicious sources are refused with an error naming file and line, and nothing in them runs.
"""

import json

import pytest

from support import data as D
from support.agentc.taubench import data as TB
from support.agentc.taubench.upstream_tasks import parse_tasks

SPLITS = [("airline", "test"), ("retail", "test"), ("retail", "train"), ("retail", "dev")]


def _mirror_has_taubench() -> bool:
    root = D.mirror_root()
    return root is not None and all((root / f"taubench/{d}/tasks_{s}.json").is_file() for d, s in SPLITS)


@pytest.mark.parametrize("domain,split", SPLITS)
def test_tasks_equal_the_mirror_json_conversion_exactly_when_parsed_from_upstream_py(domain, split):
    if not _mirror_has_taubench():
        pytest.skip("no tau-bench data mirror here (set $PAPER_REPRO_DATA): the JSON oracle exists only there")
    oracle = json.loads(D.fetch(f"taubench/{domain}/tasks_{split}.json").read_text())
    got = TB.tasks(domain, split)
    assert got == oracle
    assert json.dumps(got) == json.dumps(oracle)  # same key order too


def test_tasks_read_only_url_registered_files(monkeypatch, tmp_path):
    fetched = []
    (tmp_path / "tasks_dev.py").write_text(SMALL)

    def recording_fetch(key):
        fetched.append(key)
        return tmp_path / "tasks_dev.py"

    monkeypatch.setattr(TB, "fetch", recording_fetch)
    TB._tasks_py.cache_clear()
    try:
        got = TB.tasks("retail", "dev")
    finally:
        TB._tasks_py.cache_clear()
    reg = D._registry()
    assert fetched == ["taubench/retail/tasks_dev.py"] and reg[fetched[0]].url is not None
    assert got == parse_tasks(SMALL)


SMALL = '''\
"""Small tasks file."""
from tau_bench.types import Action, Task

TASKS = [
    Task(
        annotator="0",
        user_id="u_1",
        instruction="Do it.",
        actions=[
            Action(name="refund", kwargs={"amount": -1.5, "ids": ["a", 2], "ok": True, "note": None}),
        ],
        outputs=["10"],
    ),
]
'''


def test_small_source_gives_the_mirror_json_structure():
    assert parse_tasks(SMALL) == [{"annotator": "0", "user_id": "u_1", "instruction": "Do it.",
                                   "actions": [{"name": "refund",
                                                "kwargs": {"amount": -1.5, "ids": ["a", 2], "ok": True,
                                                           "note": None}}],
                                   "outputs": ["10"]}]


def _with(old: str, new: str) -> str:
    assert old in SMALL
    return SMALL.replace(old, new)


@pytest.mark.parametrize("source,line,what", [
    (_with('user_id="u_1"', "user_id=USER"), 7, "the name 'USER'"),
    (_with('instruction="Do it."', 'instruction=str("Do it.")'), 8, "a call to 'str'"),
    (_with('instruction="Do it."', 'instruction=f"Do {1}."'), 8, "an f-string"),
    (_with('instruction="Do it."', 'instruction="Do " + "it."'), 8, "a BinOp expression"),
    (_with('"ids": ["a", 2]', '"ids": ("a", 2)'), 10, "a Tuple expression"),
    (_with('Action(name="refund", ', 'Reward(name="refund", '), 10, "a call to 'Reward' where Action(...) is expected"),
    (_with('annotator="0",', 'annotator="0", extra=1,'), 6, "the keyword 'extra' of Task"),
    (_with('        outputs=["10"],\n', ""), 5, "a Task without outputs"),
    (SMALL + "TASKS.append(TASKS[0])\n", 15, "the Expr statement"),
])
def test_unsupported_construct_raises_naming_file_and_line(source, line, what):
    with pytest.raises(ValueError) as e:
        parse_tasks(source, filename="tasks_small.py")
    assert f"tasks_small.py:{line}:" in str(e.value) and what in str(e.value)


@pytest.mark.parametrize("where", ["instruction", "kwargs", "statement", "list"])
def test_malicious_source_is_refused_and_never_executed(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    source = {"instruction": _with('"Do it."', evil),
              "kwargs": _with('"note": None', f'"note": {evil}'),
              "statement": SMALL + evil + "\n",
              "list": _with("TASKS = [", f"TASKS = [{evil}, ")}[where]
    with pytest.raises(ValueError, match=r"tasks_evil\.py:\d+: .*__import__"):
        parse_tasks(source, filename="tasks_evil.py")
    assert not marker.exists()


def test_invalid_python_raises_value_error_naming_line():
    with pytest.raises(ValueError, match=r"tasks_bad\.py:7: not valid Python"):
        parse_tasks(_with('user_id="u_1",', 'user_id="u_1" "'), filename="tasks_bad.py")
