"""Schemathesis over the stocktake operations (as admin, with an open count): no input may cause a 5xx."""

import schemathesis

from hub.stocktake import sessions, sweeps
from tests.support.common import login
from tests.support.fuzz import assert_no_server_errors


def test_stocktake_operations_never_fail_with_a_server_error(app, client, sample, hubctx):
    with hubctx.db.write() as conn:
        s, _ = sessions.create(conn, name="Fuzz", actor="t")
        sweeps.start_sweep(conn, s["id"], reader="fx-1", location_id=sample["bin1"]["id"], actor="t")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex=r"/stocktake/")

    def real_session(case):
        if "session_id" in (case.path_parameters or {}):
            case.path_parameters["session_id"] = s["id"]  # exercise the real session, not only 404s

    assert_no_server_errors(
        schema,
        {"Authorization": f"Bearer {login(client, 'admin')}"},
        min_operations=25,
        max_examples=15,
        prepare=real_session,
    )
