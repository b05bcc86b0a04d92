"""Counts that cannot write off the store: scoped counts exclude what nobody counted unless a manager says zero,
counts are cancelled with a reason, counters sign off their zones, approval above a threshold needs an explicit
confirmation of the figures, and the review reads every line a page at a time."""

from __future__ import annotations

import pytest

from hub.inventory import catalog, ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.kernel.errors import Forbidden, ValidationError
from hub.stocktake import approval, cycle, scans, sessions
from tests.support.common import key

P = "/api/v1/stocktake"
MILK = "5901234123457"


def _receive(hubctx, item, loc, qty):
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", item["id"], loc["id"], qty, "delivery", "test", key()))


@pytest.fixture
def stocked(hubctx, sample):
    _receive(hubctx, sample["milk"], sample["bin1"], 10)
    _receive(hubctx, sample["rice"], sample["bin1"], 4)
    _receive(hubctx, sample["rice"], sample["bin2"], 3)
    _receive(hubctx, sample["apples"], sample["bin2"], 5000)
    return sample


def ok(r, status=(200, 201)):
    assert r.status_code in (status if isinstance(status, tuple) else (status,)), r.get_json()
    return r.get_json()


def err(r, status, code):
    body = r.get_json()
    assert r.status_code == status and body["error"]["code"] == code, (r.status_code, body)
    return body["error"]


def _uid(hubctx, username):
    return hubctx.db.read().execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def scan(client, auth, sid, code, role="associate", **kw):
    return client.post(
        f"{P}/sessions/{sid}/scans", json={"code": code, "idempotency_key": key(), **kw}, headers=auth(role)
    )


def test_an_associate_counts_one_bin_of_an_aisle_and_nothing_else_is_written_off(client, auth, stocked, hubctx):
    s = ok(
        client.post(
            P + "/sessions",
            json={
                "name": "Aisle 1",
                "mode": "guided",
                "idempotency_key": key(),
                "scope": {"location_ids": [stocked["aisle"]["id"]]},
            },
            headers=auth("associate"),
        ),
        201,
    )
    assert s["uncounted"] == "exclude"  # the safe default for a scoped count
    assert s["scope_summary"] == {"whole_store": False, "location_codes": ["A01"], "categories": [], "items": 0}
    ok(scan(client, auth, s["id"], "SHL-A01-01"))
    ok(scan(client, auth, s["id"], MILK, qty=9))  # one shelf: milk 9 of 10
    ok(client.post(f"{P}/sessions/{s['id']}/close", headers=auth("supervisor")))
    rep = ok(client.get(f"{P}/sessions/{s['id']}/variance", headers=auth("supervisor")))
    assert [(x["sku"], x["variance"]) for x in rep["lines"]] == [("MILK-1L", -1)]
    assert rep["totals"]["lines_uncounted_zeroed"] == 0 and rep["totals"]["lines_excluded"] == 3
    assert rep["stake"]["abs_variance_cost_minor"] == 800 and rep["stake"]["needs_confirmation"] is False
    out = ok(
        client.post(f"{P}/sessions/{s['id']}/approve", json={"idempotency_key": key()}, headers=auth("supervisor")), 201
    )
    assert [(m["qty_delta"]) for m in out["movements"]] == [-1]
    conn = hubctx.db.read()
    assert ledger.stock_of(conn, stocked["rice"]["id"], stocked["bin2"]["id"])["on_hand"] == 3  # untouched
    assert ledger.stock_of(conn, stocked["apples"]["id"], stocked["bin2"]["id"])["on_hand"] == 5000


def test_only_a_manager_may_count_uncounted_lines_as_zero(client, auth, stocked, hubctx):
    for role in ("associate", "supervisor"):
        r = client.post(
            P + "/sessions", json={"name": "Store", "uncounted": "zero", "idempotency_key": key()}, headers=auth(role)
        )
        assert err(r, 403, "zeroing_needs_manager")["details"]["needed"] == "manager"
    # in the domain too, whoever calls it
    with hubctx.db.write() as conn, pytest.raises(Forbidden) as exc:
        sessions.create(conn, name="Store", uncounted="zero", actor="x", role="supervisor")
    assert exc.value.code == "zeroing_needs_manager"
    # a whole-store count left to its default excludes; a manager may choose zero
    whole = ok(
        client.post(P + "/sessions", json={"name": "Store", "idempotency_key": key()}, headers=auth("supervisor")), 201
    )
    assert whole["uncounted"] == "exclude" and whole["scope_summary"]["whole_store"] is True
    zero = ok(
        client.post(
            P + "/sessions",
            json={"name": "Year end", "uncounted": "zero", "idempotency_key": key()},
            headers=auth("manager"),
        ),
        201,
    )
    assert zero["uncounted"] == "zero"
    # a cycle count from due tasks excludes too, and only a manager zeroes it
    with hubctx.db.write() as conn:
        cycle.classify(conn, days=30, actor="mgr")
        cycle.schedule(conn, actor="sup", horizon_days=400)
    r = client.post(
        P + "/cycle/sessions",
        json={"due_by": "2999-01-01", "uncounted": "zero", "idempotency_key": key()},
        headers=auth("associate"),
    )
    err(r, 403, "zeroing_needs_manager")
    c = ok(
        client.post(
            P + "/cycle/sessions", json={"due_by": "2999-01-01", "idempotency_key": key()}, headers=auth("associate")
        ),
        201,
    )
    assert c["kind"] == "cycle" and c["uncounted"] == "exclude" and c["scope_summary"]["items"] == 3


def test_a_count_is_cancelled_with_a_reason_by_a_supervisor_or_whoever_started_it(client, auth, stocked, hubctx):
    body = {"name": "Bin 1", "scope": {"location_ids": [stocked["bin1"]["id"]]}}
    mine = ok(client.post(P + "/sessions", json={**body, "idempotency_key": key()}, headers=auth("associate")), 201)
    theirs = ok(client.post(P + "/sessions", json={**body, "idempotency_key": key()}, headers=auth("supervisor")), 201)
    r = client.post(f"{P}/sessions/{theirs['id']}/cancel", json={"reason": "mine now"}, headers=auth("associate"))
    err(r, 403, "wrong_role")
    assert client.post(f"{P}/sessions/{mine['id']}/cancel", json={}, headers=auth("associate")).status_code == 400
    with hubctx.db.write() as conn, pytest.raises(ValidationError) as exc:
        sessions.cancel(conn, mine["id"], actor=mine["created_by"], reason="   ")
    assert exc.value.code == "cancel_reason_required"
    done = ok(
        client.post(
            f"{P}/sessions/{mine['id']}/cancel", json={"reason": "started by mistake"}, headers=auth("associate")
        )
    )
    assert done["status"] == "cancelled" and done["cancel_reason"] == "started by mistake"
    ok(scan(client, auth, theirs["id"], "SHL-A01-01"))
    ok(client.post(f"{P}/sessions/{theirs['id']}/close", headers=auth("supervisor")))
    done = ok(
        client.post(
            f"{P}/sessions/{theirs['id']}/cancel", json={"reason": "wrong bin counted"}, headers=auth("supervisor")
        )
    )  # from review, too
    assert done["status"] == "cancelled"
    err(
        client.post(
            f"{P}/sessions/{theirs['id']}/approve", json={"idempotency_key": key()}, headers=auth("supervisor")
        ),
        409,
        "count_session_state",
    )
    conn = hubctx.db.read()
    audit = [(r[0], r[1]) for r in conn.execute("SELECT target, details FROM audit_log WHERE action = 'count.cancel'")]
    assert {t for t, _ in audit} == {mine["id"], theirs["id"]} and any("wrong bin counted" in d for _, d in audit)
    facts = [
        r[0]
        for r in conn.execute("SELECT payload FROM outbox WHERE kind = 'count.session' AND payload LIKE '%cancelled%'")
    ]
    assert len(facts) == 2 and any("started by mistake" in f for f in facts)
    assert not conn.execute(
        "SELECT COUNT(*) FROM movements WHERE ref IN (?, ?)", (mine["id"], theirs["id"])
    ).fetchone()[0]
    # an approved count cannot be cancelled
    other = ok(client.post(P + "/sessions", json={**body, "idempotency_key": key()}, headers=auth("supervisor")), 201)
    ok(client.post(f"{P}/sessions/{other['id']}/close", headers=auth("supervisor")))
    ok(client.post(f"{P}/sessions/{other['id']}/approve", json={"idempotency_key": key()}, headers=auth("supervisor")))
    err(
        client.post(f"{P}/sessions/{other['id']}/cancel", json={"reason": "too late"}, headers=auth("supervisor")),
        409,
        "count_session_state",
    )


def test_approval_above_the_threshold_needs_the_figures_confirmed(client, auth, stocked, hubctx):
    with hubctx.db.write() as conn:
        settings.put(conn, "stocktake_confirm_above_minor", 2000)
    sid = ok(
        client.post(
            P + "/sessions",
            json={"name": "Bin 1", "idempotency_key": key(), "scope": {"location_ids": [stocked["bin1"]["id"]]}},
            headers=auth("supervisor"),
        ),
        201,
    )["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    ok(scan(client, auth, sid, MILK, qty=6))  # 4 milk lost: 3,200 at cost
    ok(scan(client, auth, sid, "96385074", qty=4))  # rice exact
    ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    rep = ok(client.get(f"{P}/sessions/{sid}/variance", headers=auth("supervisor")))
    assert rep["stake"]["needs_confirmation"] is True and rep["stake"]["confirm_above_minor"] == 2000
    r = client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("supervisor"))
    e = err(r, 409, "approval_needs_confirmation")
    assert {
        k: e["details"][k]
        for k in (
            "net_variance_cost_minor",
            "abs_variance_cost_minor",
            "lines_with_variance",
            "lines",
            "confirm_above_minor",
        )
    } == {
        "net_variance_cost_minor": -3200,
        "abs_variance_cost_minor": 3200,
        "lines_with_variance": 1,
        "lines": 2,
        "confirm_above_minor": 2000,
    }
    r = client.post(
        f"{P}/sessions/{sid}/approve", json={"idempotency_key": key(), "confirm": False}, headers=auth("supervisor")
    )
    err(r, 409, "approval_needs_confirmation")
    assert not hubctx.db.read().execute("SELECT COUNT(*) FROM movements WHERE ref = ?", (sid,)).fetchone()[0]
    out = ok(
        client.post(
            f"{P}/sessions/{sid}/approve", json={"idempotency_key": key(), "confirm": True}, headers=auth("supervisor")
        ),
        201,
    )
    assert [m["qty_delta"] for m in out["movements"]] == [-4]
    # the setting is declared with its default and schema
    from hub.kernel import settings as st

    decl = st.declared()["stocktake_confirm_above_minor"]
    assert decl.default == approval.DEFAULT_CONFIRM_ABOVE_MINOR and decl.schema["type"] == "integer"
    with hubctx.db.write() as conn, pytest.raises(ValidationError):
        settings.put(conn, "stocktake_confirm_above_minor", -1)


def test_counters_mark_their_zone_done(client, auth, stocked, hubctx):
    sid = ok(
        client.post(
            P + "/sessions",
            json={"name": "Aisle 1", "idempotency_key": key(), "scope": {"location_ids": [stocked["aisle"]["id"]]}},
            headers=auth("supervisor"),
        ),
        201,
    )["id"]
    r = client.post(f"{P}/sessions/{sid}/zones/done", json={}, headers=auth("associate"))
    err(r, 422, "scan_location_first")  # no zone and no bin yet
    ok(
        client.post(
            f"{P}/sessions/{sid}/join", json={"zone_location_id": stocked["bin1"]["id"]}, headers=auth("associate")
        )
    )
    ok(scan(client, auth, sid, "SHL-A01-02", role="supervisor"))
    out = ok(client.post(f"{P}/sessions/{sid}/zones/done", json={}, headers=auth("associate")))
    assert out["location_id"] == stocked["bin1"]["id"]
    ok(client.post(f"{P}/sessions/{sid}/zones/done", json={}, headers=auth("supervisor")))  # their bin: A01-02
    err(
        client.post(
            f"{P}/sessions/{sid}/zones/done", json={"location_id": stocked["store"]["id"]}, headers=auth("associate")
        ),
        422,
        "location_out_of_scope",
    )
    s = ok(client.get(f"{P}/sessions/{sid}", headers=auth("supervisor")))
    assert [(z["location_code"], z["user_id"]) for z in s["zones_done"]] == [
        ("A01-01", _uid(hubctx, "associate")),
        ("A01-02", _uid(hubctx, "supervisor")),
    ]
    prog = ok(client.get(f"{P}/sessions/{sid}/progress", headers=auth("supervisor")))
    assert [z["location_code"] for z in prog["zones_done"]] == ["A01-01", "A01-02"]
    ok(client.post(f"{P}/sessions/{sid}/zones/done", json={"done": False}, headers=auth("associate")))
    s = ok(client.get(f"{P}/sessions/{sid}", headers=auth("supervisor")))
    assert [z["location_code"] for z in s["zones_done"]] == ["A01-02"]
    assert "count.zone_done" in {r[0] for r in hubctx.db.read().execute("SELECT action FROM audit_log")}
    ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    err(client.post(f"{P}/sessions/{sid}/zones/done", json={}, headers=auth("associate")), 409, "count_session_state")


def test_guided_book_list_shows_what_was_counted_here_even_off_the_books(client, auth, stocked, hubctx):
    sid = ok(
        client.post(
            P + "/sessions",
            json={
                "name": "g",
                "mode": "guided",
                "idempotency_key": key(),
                "scope": {"location_ids": [stocked["aisle"]["id"]]},
            },
            headers=auth("associate"),
        ),
        201,
    )["id"]
    ok(scan(client, auth, sid, "SHL-A01-02"))
    ok(scan(client, auth, sid, MILK, qty=2))  # milk is not booked in A01-02
    got = ok(client.get(f"{P}/sessions/{sid}/expected?location_id={stocked['bin2']['id']}", headers=auth()))["items"]
    assert {x["sku"]: (x["scan_qty"], x["expected"]) for x in got} == {
        "MILK-1L": (2, 0),
        "RICE-5KG": (0, 3),
        "APPLE": (0, 5000),
    }


def test_review_pages_through_every_line_and_recounts_in_bulk(client, auth, stocked, hubctx):
    with hubctx.db.write() as conn:
        for i in range(540):
            it = catalog.create_item(
                conn,
                {"sku": f"BULK-{i:04d}", "name_en": f"Bulk {i}", "unit": "each", "price_minor": 200, "cost_minor": 100},
                actor="t",
            )
            ledger.post(conn, MovementRequest("receive", it["id"], stocked["bin2"]["id"], 2, "d", "t", key()))
    sid = ok(
        client.post(
            P + "/sessions",
            json={"name": "Year end", "uncounted": "zero", "idempotency_key": key()},
            headers=auth("manager"),
        ),
        201,
    )["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    ok(scan(client, auth, sid, MILK, qty=10))
    ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    first = ok(client.get(f"{P}/sessions/{sid}/lines?limit=500", headers=auth("supervisor")))
    assert first["total"] == 544 and len(first["items"]) == 500 and first["next_offset"] == 500
    rest = ok(client.get(f"{P}/sessions/{sid}/lines?limit=500&offset=500", headers=auth("supervisor")))
    assert len(rest["items"]) == 44 and rest["next_offset"] is None
    seen = {(x["sku"], x["location_code"]) for x in first["items"] + rest["items"]}
    assert len(seen) == 544 and ("MILK-1L", "A01-01") in seen
    off = ok(client.get(f"{P}/sessions/{sid}/lines?which=variance&limit=1", headers=auth("supervisor")))
    assert off["total"] == 543 and off["items"][0]["variance"] < 0
    exact = ok(client.get(f"{P}/sessions/{sid}/lines?which=exact", headers=auth("supervisor")))
    assert [x["sku"] for x in exact["items"]] == ["MILK-1L"]
    rep = ok(client.get(f"{P}/sessions/{sid}/variance?limit=10", headers=auth("supervisor")))
    assert len(rep["lines"]) == 10 and rep["lines_total"] == 544
    # every line with a variance goes to recount in one request (more than the 500 a line list may hold)
    out = ok(client.post(f"{P}/sessions/{sid}/recounts", json={"which": "variance"}, headers=auth("supervisor")))
    assert out["requested"] == 543
    n = (
        hubctx.db.read()
        .execute("SELECT COUNT(*) FROM count_lines WHERE session_id = ? AND recount_status = 'requested'", (sid,))
        .fetchone()[0]
    )
    assert n == 543
    assert client.post(f"{P}/sessions/{sid}/recounts", json={}, headers=auth("supervisor")).status_code == 400


def test_domain_scope_summary_and_zone_done_need_an_open_count(hubctx, stocked):
    with hubctx.db.write() as conn:
        s, _ = sessions.create(
            conn, name="Cat", scope={"categories": [], "item_ids": [stocked["milk"]["id"]]}, actor="t"
        )
        assert s["uncounted"] == "exclude" and s["scope_summary"]["items"] == 1
        uid = _uid(hubctx, "associate")
        scans.record_scan(conn, s["id"], counter=uid, client_key=key(), code="SHL-A01-01")
        assert sessions.mark_zone_done(conn, s["id"], user_id=uid)["zones_done"][0]["location_code"] == "A01-01"
