"""Loading the tau-bench files (through :func:`support.data.fetch`, sha256-checked).

Task lists come from the upstream ``tasks_*.py`` (URL-registered), parsed safely by :mod:`.upstream_tasks`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from support.agentc.taubench.upstream_tasks import load_tasks
from support.data import fetch

DOMAINS = ("retail", "airline")
RETAIL_SPLITS = ("test", "train", "dev")


def _check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"unknown tau-bench domain {domain!r}; expected one of {', '.join(DOMAINS)}")


@functools.cache
def _json(key: str) -> Any:
    path = fetch(f"taubench/{key}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"tau-bench file {path} is not valid JSON: {e}") from None


@functools.cache
def _tasks_py(key: str) -> list[dict]:
    return load_tasks(fetch(f"taubench/{key}"))


def tool_schemas(domain: str) -> list[dict]:
    """OpenAI-style function specs of the domain's tools."""
    _check_domain(domain)
    return _json(f"{domain}/tool_schemas.json")


def base_db(domain: str) -> dict[str, dict]:
    """The domain's initial database (shared, read-only: environments copy records on write)."""
    _check_domain(domain)
    if domain == "retail":
        return {"users": _json("retail/users.json"), "orders": _json("retail/orders.json"),
                "products": _json("retail/products.json")}
    return {"users": _json("airline/users.json"), "reservations": _json("airline/reservations.json"),
            "flights": _json("airline/flights.json")}


def tasks(domain: str, split: str = "test") -> list[dict]:
    """Tasks ``{user_id, instruction, actions: [{name, kwargs}], outputs}``: retail test/train/dev, airline test."""
    _check_domain(domain)
    if domain == "airline":
        if split != "test":
            raise ValueError(f"airline has only the 'test' split, not {split!r}")
        return _tasks_py("airline/tasks_test.py")
    if split not in RETAIL_SPLITS:
        raise ValueError(f"unknown retail split {split!r}; expected one of {', '.join(RETAIL_SPLITS)}")
    return _tasks_py(f"retail/tasks_{split}.py")


def wiki(domain: str) -> str:
    _check_domain(domain)
    return fetch(f"taubench/{domain}/wiki.md").read_text()


def airline_trajectories_raw() -> list[dict]:
    """The 200 recorded GPT-4o airline runs (50 tasks x 4 trials)."""
    return _json("historical_trajectories/gpt-4o-airline.json")
