"""One way to fuzz API operations with schemathesis: every generated case is sent, none may answer 5xx."""

from __future__ import annotations

from typing import Callable

from hypothesis import HealthCheck, given, settings


def assert_no_server_errors(schema, headers: dict, *, min_operations: int, max_examples: int = 25,
                            prepare: Callable | None = None) -> None:
    """Run every operation of ``schema`` (already include/exclude-filtered) with ``max_examples`` cases.

    ``prepare(case)`` may adjust a case before it is sent (e.g. point path parameters at real records)."""
    errors, operations = [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1

        @given(case=op.as_strategy())
        @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            if prepare is not None:
                prepare(case)
            resp = case.call(headers=headers)
            if resp.status_code >= 500:
                errors.append((op.method.upper(), op.path, case.path_parameters, case.query, case.body,
                               resp.status_code, resp.text[:300]))

        run()
    assert operations >= min_operations
    assert not errors, errors[:5]
