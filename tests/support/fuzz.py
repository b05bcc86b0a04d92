"""One way to fuzz API operations with schemathesis: every generated case is sent, none may answer 5xx — and,
when asked, none that the schema calls valid may be refused (schemathesis's ``positive_data_acceptance``: a
schema-valid request answered 400 or 422 means the document promises more than the server accepts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance


def assert_no_server_errors(
    schema,
    headers: dict,
    *,
    min_operations: int,
    max_examples: int = 25,
    prepare: Callable | None = None,
    valid_accepted: bool = False,
    known_refusals: Mapping[str, str] | None = None,
) -> None:
    """Run every operation of ``schema`` (already include/exclude-filtered) with ``max_examples`` cases.

    ``prepare(case)`` may adjust a case before it is sent (e.g. point path parameters at real records).
    ``valid_accepted`` also runs ``positive_data_acceptance`` on every case (all are generated schema-valid),
    except on the operations of ``known_refusals`` (label -> why a schema cannot say what the server refuses)."""
    errors, rejected, operations = [], {}, 0
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
                errors.append(
                    (
                        op.method.upper(),
                        op.path,
                        case.path_parameters,
                        case.query,
                        case.body,
                        resp.status_code,
                        resp.text[:300],
                    )
                )
            elif valid_accepted and op.label not in rejected and op.label not in (known_refusals or {}):
                try:
                    case.validate_response(resp, checks=[positive_data_acceptance], headers=headers)
                except (Failure, FailureGroup):  # keep the first refusal of each operation
                    rejected[op.label] = (
                        case.path_parameters,
                        case.query,
                        case.body,
                        resp.status_code,
                        resp.text[:300],
                    )

        run()
    assert operations >= min_operations
    assert not errors, errors[:5]
    assert not rejected, f"{len(rejected)} operation(s) refuse schema-valid requests: {rejected}"
