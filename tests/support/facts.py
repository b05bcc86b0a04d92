"""Every fact the test suite records is checked against the schema its domain declares.

Registered for the whole suite by ``tests/conftest.py`` (``pytest_plugins``). ``hub.kernel.outbox.record`` is
wrapped for the session: each fact recorded in this process (routes, domain calls, the bus's writer thread) is
validated against ``hub.domains.facts()[kind].schema``, and an undeclared kind or a payload its schema refuses
fails the test that recorded it (at its teardown, so a caller that catches exceptions cannot hide it). The
kinds seen are written to ``test-artifacts/facts-validated.json``."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hub import domains
from hub.kernel import outbox

_VALIDATORS = {kind: Draft202012Validator(f.schema) for kind, f in domains.facts().items()}
_LOCK = threading.Lock()
_PROBLEMS: list[str] = []
SEEN: Counter[str] = Counter()


def problems_of(kind: str, payload: Any) -> list[str]:
    v = _VALIDATORS.get(kind)
    if v is None:
        return [f"fact kind {kind!r} is not declared by any domain (hub/<domain>/facts.py)"]
    return [f"fact {kind}: /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(payload)][:5]


@pytest.fixture(scope="session", autouse=True)
def _check_every_fact():
    original = outbox.record

    def checked(conn, kind, payload, *, ts=None):
        found = problems_of(kind, json.loads(json.dumps(payload, default=str)))
        with _LOCK:
            SEEN[kind] += 1
            _PROBLEMS.extend(found)
        return original(conn, kind, payload, ts=ts)

    outbox.record = checked
    yield
    outbox.record = original
    out = Path(__file__).resolve().parents[2] / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "facts-validated.json").write_text(json.dumps(dict(sorted(SEEN.items())), indent=1))


@pytest.fixture(autouse=True)
def _no_invalid_fact(_check_every_fact):
    with _LOCK:
        _PROBLEMS.clear()
    yield
    with _LOCK:
        found, _PROBLEMS[:] = list(_PROBLEMS), []
    if found:
        pytest.fail("facts that do not match their declared schema:\n" + "\n".join(found[:20]), pytrace=False)
