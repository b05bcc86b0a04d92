"""Count sessions over HTTP: scanning, undo, idempotent replays, expected snapshots, variance, recount, approval."""

from __future__ import annotations

import json

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from tests.support.common import key

P = "/api/v1/stocktake"
APPLE_1250G = "]C1" + "0102302148000002" + "3103001250"


def _receive(hubctx, item, loc, qty):
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", item["id"], loc["id"], qty, "delivery", "test", key()))


def _sale(hubctx, item, loc, qty):
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("sale", item["id"], loc["id"], qty, "till", "test", key()))


@pytest.fixture
def stocked(hubctx, sample):
    _receive(hubctx, sample["milk"], sample["bin1"], 10)
    _receive(hubctx, sample["rice"], sample["bin1"], 4)
    _receive(hubctx, sample["rice"], sample["bin2"], 3)
    _receive(hubctx, sample["apples"], sample["bin2"], 5000)  # grams
    return sample


def create(client, auth, role="supervisor", **kw):
    body = {"name": "Aisle 1 count", "idempotency_key": key(), **kw}
    r = client.post(P + "/sessions", json=body, headers=auth(role))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def scan(client, auth, sid, code=None, role="associate", k=None, **kw):
    body = {"idempotency_key": k or key(), **kw}
    if code is not None:
        body["code"] = code
    return client.post(f"{P}/sessions/{sid}/scans", json=body, headers=auth(role))


def ok(r, status=(200, 201)):
    assert r.status_code in (status if isinstance(status, tuple) else (status,)), r.get_json()
    return r.get_json()


def variance(client, auth, sid):
    return ok(client.get(f"{P}/sessions/{sid}/variance?limit=500", headers=auth("supervisor")))


def line(rep, sku, loc_code):
    for x in rep["lines"] + rep["excluded"]:
        if x["sku"] == sku and x["location_code"] == loc_code:
            return x
    raise AssertionError(f"no line {sku}@{loc_code}")


def test_scan_loop_location_switch_qty_weight_and_undo(client, auth, stocked):
    s = create(client, auth)
    sid = s["id"]
    r = scan(client, auth, sid, "5901234123457")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "scan_location_first"
    loc = ok(scan(client, auth, sid, "SHL-A01-01"))
    assert loc["kind"] == "location" and loc["location"]["code"] == "A01-01"
    a = ok(scan(client, auth, sid, "5901234123457"), 201)
    assert a["item"]["sku"] == "MILK-1L" and a["line_qty"] == 1 and a["totals"] == {"scans": 1, "items": 1}
    assert "expected" not in a  # blind count: no book quantity
    b = ok(scan(client, auth, sid, "5901234123457", qty=6), 201)
    assert b["line_qty"] == 7
    ok(scan(client, auth, sid, "96385074"), 201)  # EAN-8 rice
    u = ok(client.post(f"{P}/sessions/{sid}/undo", json={"idempotency_key": key()}, headers=auth()))
    assert u["undone"]["item_id"] == stocked["rice"]["id"] and u["totals"]["scans"] == 2
    ok(scan(client, auth, sid, "SHL-A01-02"))
    w = ok(scan(client, auth, sid, APPLE_1250G), 201)  # weight label adds its grams
    assert w["item"]["sku"] == "APPLE" and w["line_qty"] == 1250
    r = scan(client, auth, sid, "2302148000002")  # kg item without weight
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "weight_required"
    ok(scan(client, auth, sid, item_id=stocked["apples"]["id"], qty=800), 201)  # typed grams
    rep = variance(client, auth, sid)
    assert line(rep, "MILK-1L", "A01-01")["counted"] == 7
    assert line(rep, "APPLE", "A01-02")["counted"] == 2050
    assert all(x["sku"] != "RICE-5KG" or x["source"] == "uncounted" for x in rep["lines"])


def test_bad_codes_are_clear_errors(client, auth, stocked):
    sid = create(client, auth)["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    for code, err in (
        ("5901234123458", "invalid_check_digit"),
        ("SHL-NOPE", "unknown_code"),
        ("4006381333931", "unknown_code"),
        ("SHO-ABC123", "not_countable"),
    ):
        r = scan(client, auth, sid, code)
        assert r.status_code in (404, 422), (code, r.get_json())
        assert r.get_json()["error"]["code"] == err, (code, r.get_json())
    r = client.post(f"{P}/sessions/{sid}/scans", json={"code": "x"}, headers=auth())
    assert r.status_code == 400  # no idempotency key
    r = scan(client, auth, sid, "5901234123457", qty=0)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_qty"
    r = scan(client, auth, sid, "5901234123457", qty=-2)
    assert r.status_code == 400
    r = client.post(f"{P}/sessions/{sid}/undo", json={"idempotency_key": key()}, headers=auth())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "nothing_to_undo"


def test_offline_replay_is_idempotent(client, auth, stocked):
    sid = create(client, auth)["id"]
    k_loc, k1, k2, ku = key(), key(), key(), key()
    for _ in range(3):  # the handheld replays its whole queue three times
        ok(scan(client, auth, sid, "SHL-A01-01", k=k_loc))
        ok(scan(client, auth, sid, "5901234123457", k=k1))
        ok(scan(client, auth, sid, "5901234123457", k=k2, qty=4))
        ok(client.post(f"{P}/sessions/{sid}/undo", json={"idempotency_key": ku}, headers=auth()))
    rep = variance(client, auth, sid)
    assert line(rep, "MILK-1L", "A01-01")["scan_qty"] == 1
    first = scan(client, auth, sid, "5901234123457", k=k1)
    assert first.status_code == 200 and first.get_json()["duplicate"] is True
    # the same key from another counter is refused, not merged
    r = scan(client, auth, sid, "5901234123457", role="supervisor", k=k1)
    assert r.status_code == 409


def test_scope_and_zones(client, auth, stocked, hubctx):
    sid = create(client, auth, scope={"location_ids": [stocked["bin1"]["id"]], "item_ids": [stocked["milk"]["id"]]})[
        "id"
    ]
    r = scan(client, auth, sid, "SHL-A01-02")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "location_out_of_scope"
    ok(scan(client, auth, sid, "SHL-A01-01"))
    r = scan(client, auth, sid, "96385074")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "item_out_of_scope"
    # zones: a counter assigned to bin2 scanning bin1 gets a wrong-zone warning
    sid2 = create(client, auth)["id"]
    ok(client.post(f"{P}/sessions/{sid2}/join", json={"zone_location_id": stocked["bin2"]["id"]}, headers=auth()))
    res = ok(scan(client, auth, sid2, "SHL-A01-01"))
    assert res["warnings"] == ["wrong_zone"]
    res = ok(scan(client, auth, sid2, "5901234123457"))
    assert res["warnings"] == ["wrong_zone"]
    assert ok(scan(client, auth, sid2, "SHL-A01-02"))["warnings"] == []
    # an associate cannot assign others
    r = client.post(f"{P}/sessions/{sid2}/join", json={"user_id": "someone"}, headers=auth())
    assert r.status_code == 403


def test_sales_during_count_do_not_create_variance(client, auth, stocked, hubctx):
    sid = create(client, auth, uncounted="exclude")["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    for _ in range(10):
        ok(scan(client, auth, sid, "5901234123457"))
    _sale(hubctx, stocked["milk"], stocked["bin1"], 3)  # customers buy 3 after the shelf was counted
    _receive(hubctx, stocked["milk"], stocked["bin1"], 12)  # and a delivery lands
    ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    rep = variance(client, auth, sid)
    milk = line(rep, "MILK-1L", "A01-01")
    assert (milk["expected"], milk["counted"], milk["variance"], milk["moved_since"]) == (10, 10, 0, 9)
    # nothing reached the ledger yet
    with hubctx.db.write() as conn:
        assert ledger.stock_of(conn, stocked["milk"]["id"], stocked["bin1"]["id"])["on_hand"] == 19
        assert not ledger.movements_for(conn, ref=sid)
    out = ok(
        client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("supervisor")), 201
    )
    assert out["movements"] == []
    conn = hubctx.db.read()
    assert ledger.stock_of(conn, stocked["milk"]["id"], stocked["bin1"]["id"])["on_hand"] == 19


def test_variance_review_recount_approval_posts_once(client, auth, stocked, hubctx):
    sid = create(client, auth, role="manager", uncounted="zero")["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    ok(scan(client, auth, sid, "5901234123457", qty=8))  # 10 expected: lose 2 milk
    ok(scan(client, auth, sid, "96385074", qty=5))  # 4 expected: gain 1 rice
    ok(scan(client, auth, sid, "SHL-A01-02"))
    ok(scan(client, auth, sid, APPLE_1250G))  # 5000 g expected: lose 3750 g
    # rice in A01-02 (3) is never counted -> zero policy
    r = client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("supervisor"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "count_session_state"
    closed = ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    assert closed["status"] == "review"
    r = scan(client, auth, sid, "5901234123457")
    assert r.status_code == 409  # counting is over
    rep = variance(client, auth, sid)
    costs = [x["variance_cost_minor"] for x in rep["lines"]]
    assert costs == sorted(costs)  # largest losses first
    assert rep["lines"][0]["sku"] == "RICE-5KG" and rep["lines"][0]["source"] == "uncounted"  # 3 x 3500 lost
    milk = line(rep, "MILK-1L", "A01-01")
    assert (milk["variance"], milk["variance_cost_minor"]) == (-2, -1600)
    apples = line(rep, "APPLE", "A01-02")
    assert (apples["variance"], apples["variance_cost_minor"]) == (-3750, -2625)
    t = rep["totals"]
    assert t["shrink_cost_minor"] == -(10500 + 1600 + 2625) and t["gain_cost_minor"] == 3500
    assert t["lines"] == 4 and t["lines_exact"] == 0 and t["line_accuracy_pct"] == 0.0

    # recount of the milk line by another counter (not the associate who counted it)
    me = client.get("/api/v1/auth/me", headers=auth()).get_json()
    assoc_id = (me.get("user") or me)["id"]
    sup = client.get("/api/v1/auth/me", headers=auth("supervisor")).get_json()
    sup_id = (sup.get("user") or sup)["id"]
    lines = [{"item_id": stocked["milk"]["id"], "location_id": stocked["bin1"]["id"]}]
    r = client.post(
        f"{P}/sessions/{sid}/recounts", json={"lines": lines, "assigned_to": assoc_id}, headers=auth("supervisor")
    )
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "recount_same_counter"
    ok(
        client.post(
            f"{P}/sessions/{sid}/recounts", json={"lines": lines, "assigned_to": sup_id}, headers=auth("supervisor")
        )
    )
    r = client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("supervisor"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "recount_pending"
    waiting = ok(client.get(f"{P}/recounts", headers=auth("supervisor")))["items"]
    assert [w["sku"] for w in waiting] == ["MILK-1L"]
    assert ok(client.get(f"{P}/recounts", headers=auth()))["items"] == []
    r = scan(client, auth, sid, "5901234123457", role="associate", recount=True, location_id=stocked["bin1"]["id"])
    assert r.status_code in (409, 422)
    ok(
        scan(
            client,
            auth,
            sid,
            "5901234123457",
            role="supervisor",
            recount=True,
            qty=9,
            location_id=stocked["bin1"]["id"],
        )
    )
    ok(client.post(f"{P}/sessions/{sid}/recounts/finish", json=lines[0], headers=auth("supervisor")))
    rep = variance(client, auth, sid)
    milk = line(rep, "MILK-1L", "A01-01")
    assert (milk["source"], milk["counted"], milk["variance"]) == ("recount", 9, -1)

    before = hubctx.db.read().execute("SELECT COUNT(*) FROM movements").fetchone()[0]
    k = key()
    first = ok(client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": k}, headers=auth("supervisor")), 201)
    assert len(first["movements"]) == 4
    assert {m["kind"] for m in first["movements"]} == {"count"}
    assert all(m["ref"] == sid and sid in m["reason"] for m in first["movements"])
    again = ok(client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": k}, headers=auth("supervisor")), 200)
    assert again["duplicate"] is True
    r = client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("manager"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_approved"
    conn = hubctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM movements").fetchone()[0] == before + 4
    assert ledger.stock_of(conn, stocked["milk"]["id"], stocked["bin1"]["id"])["on_hand"] == 9
    assert ledger.stock_of(conn, stocked["rice"]["id"], stocked["bin1"]["id"])["on_hand"] == 5
    assert ledger.stock_of(conn, stocked["rice"]["id"], stocked["bin2"]["id"])["on_hand"] == 0
    assert ledger.stock_of(conn, stocked["apples"]["id"], stocked["bin2"]["id"])["on_hand"] == 1250
    assert ledger.fold(conn) == ledger.projection(conn)
    # the approved report keeps its frozen figures
    rep2 = variance(client, auth, sid)
    assert rep2["session"]["status"] == "approved" and line(rep2, "MILK-1L", "A01-01")["variance"] == -1
    # audit + outbox facts
    kinds = [r[0] for r in conn.execute("SELECT kind FROM outbox ORDER BY seq")]
    assert "count.scan" in kinds and "count.approved" in kinds and "count.recount" in kinds
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log")]
    assert "count.approve" in actions and "count.close" in actions


def test_large_variance_needs_a_manager(client, auth, stocked, hubctx):
    from hub.kernel import settings

    with hubctx.db.write() as conn:
        settings.put(conn, "stocktake_supervisor_limit_minor", 1000)
    sid = create(client, auth, uncounted="exclude")["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    ok(scan(client, auth, sid, "5901234123457", qty=5))  # 5 x 800 = 4000 > 1000
    ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    r = client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("supervisor"))
    assert r.status_code == 403 and r.get_json()["error"]["details"]["needed"] == "manager"
    r = client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("associate"))
    assert r.status_code == 403
    ok(client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("manager")), 201)


def test_uncounted_exclude_lists_lines_and_posts_nothing_for_them(client, auth, stocked, hubctx):
    sid = create(client, auth, uncounted="exclude")["id"]
    ok(scan(client, auth, sid, "SHL-A01-01"))
    ok(scan(client, auth, sid, "5901234123457", qty=10))
    ok(client.post(f"{P}/sessions/{sid}/close", headers=auth("supervisor")))
    rep = variance(client, auth, sid)
    assert {(x["sku"], x["location_code"]) for x in rep["excluded"]} == {
        ("RICE-5KG", "A01-01"),
        ("RICE-5KG", "A01-02"),
        ("APPLE", "A01-02"),
    }
    assert rep["totals"]["lines"] == 1 and rep["totals"]["line_accuracy_pct"] == 100.0
    out = ok(client.post(f"{P}/sessions/{sid}/approve", json={"idempotency_key": key()}, headers=auth("supervisor")))
    assert out["movements"] == []
    rep = variance(client, auth, sid)
    assert len(rep["excluded"]) == 3


def test_roles_blind_guided_and_cancel(client, auth, stocked):
    r = client.post(
        P + "/sessions", json={"name": "x", "uncounted": "zero", "idempotency_key": key()}, headers=auth("associate")
    )
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "zeroing_needs_manager"
    k = key()
    a = client.post(
        P + "/sessions", json={"name": "Guided", "mode": "guided", "idempotency_key": k}, headers=auth("supervisor")
    )
    b = client.post(
        P + "/sessions", json={"name": "Guided", "mode": "guided", "idempotency_key": k}, headers=auth("supervisor")
    )
    assert (a.status_code, b.status_code) == (201, 200) and a.get_json()["id"] == b.get_json()["id"]
    gid = a.get_json()["id"]
    loc = ok(scan(client, auth, gid, "SHL-A01-01"))
    assert {x["sku"]: x["expected"] for x in loc["expected_here"]} == {"MILK-1L": 10, "RICE-5KG": 4}
    assert ok(scan(client, auth, gid, "5901234123457"))["expected"] == 10
    blind = create(client, auth)["id"]
    r = client.get(f"{P}/sessions/{blind}/expected?location_id={stocked['bin1']['id']}", headers=auth())
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "blind_count"
    assert client.get(f"{P}/sessions/{blind}/variance", headers=auth()).status_code == 403
    assert client.post(f"{P}/sessions/{blind}/cancel", json={}, headers=auth("supervisor")).status_code == 400
    assert (
        ok(client.post(f"{P}/sessions/{blind}/cancel", json={"reason": "wrong aisle"}, headers=auth("supervisor")))[
            "status"
        ]
        == "cancelled"
    )
    r = client.post(f"{P}/sessions/{blind}/close", headers=auth("supervisor"))
    assert r.status_code == 409
    r = client.post(
        P + "/sessions",
        json={"name": "bad", "scope": {"categories": ["Nope"]}, "idempotency_key": key()},
        headers=auth("supervisor"),
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unknown_category"


def test_supervisor_sees_live_scans(client, auth, stocked, hubctx):
    sid = create(client, auth)["id"]
    start = hubctx.events.latest_seq()
    ok(scan(client, auth, sid, "SHL-A01-01"))
    ok(scan(client, auth, sid, "5901234123457"))
    events = [e for e in hubctx.events.since(start) if e["kind"].startswith("count.")]
    assert [e["kind"] for e in events] == ["count.location", "count.scan"]
    assert events[1]["payload"]["session_id"] == sid and events[1]["payload"]["line_qty"] == 1
    prog = ok(client.get(f"{P}/sessions/{sid}/progress", headers=auth("supervisor")))
    assert prog["counters"][0]["scans"] == 1 and prog["counters"][0]["current_location_code"] == "A01-01"
    all_scans = ok(client.get(f"{P}/sessions/{sid}/scans", headers=auth("supervisor")))["items"]
    assert len(all_scans) == 1 and all_scans[0]["sku"] == "MILK-1L"
    assert client.get(f"{P}/sessions/{sid}/progress", headers=auth()).status_code == 403
    json.dumps(all_scans)


def test_chinese_scale_label_counts_its_weight(client, auth, stocked, hubctx):
    """A CN in-store label (23 + PLU 04131 + price 015.00 CNY): apples at 12.00/kg → 1,250 g counted."""
    from hub.kernel import settings

    with hubctx.db.write() as conn:
        settings.put(conn, "barcode_region", "CN")
    sid = create(client, auth)["id"]
    ok(scan(client, auth, sid, "SHL-A01-02"))
    r = ok(scan(client, auth, sid, "2304131015000"), 201)
    assert r["item"]["sku"] == "APPLE" and r["line_qty"] == 1250 and r["scan"]["qty"] == 1250


def test_parallel_counters_in_their_zones_lose_nothing(client, auth, stocked, hubctx):
    """Two counters scan their own bins at the same time (two threads, real write transactions)."""
    import threading

    from hub.stocktake import scans as scans_mod

    sid = create(client, auth)["id"]
    for who, zone in (("counter-a", stocked["bin1"]), ("counter-b", stocked["bin2"])):
        with hubctx.db.write() as conn:
            from hub.stocktake import sessions as sessions_mod

            sessions_mod.join(conn, sid, user_id=who, zone_location_id=zone["id"], actor="sup")
    errors = []

    def work(who, label, code, n):
        try:
            with hubctx.db.write() as conn:
                scans_mod.record_scan(conn, sid, counter=who, client_key=f"{who}-loc", code=label)
            for i in range(n):
                with hubctx.db.write() as conn:
                    scans_mod.record_scan(conn, sid, counter=who, client_key=f"{who}-{i}", code=code)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=("counter-a", "SHL-A01-01", "5901234123457", 40)),
        threading.Thread(target=work, args=("counter-b", "SHL-A01-02", "96385074", 30)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    prog = ok(client.get(f"{P}/sessions/{sid}/progress", headers=auth("supervisor")))
    assert {c["user_id"]: (c["scans"], c["zone_code"]) for c in prog["counters"]} == {
        "counter-a": (40, "A01-01"),
        "counter-b": (30, "A01-02"),
    }
    rep = variance(client, auth, sid)
    assert line(rep, "MILK-1L", "A01-01")["counted"] == 40 and line(rep, "RICE-5KG", "A01-02")["counted"] == 30
