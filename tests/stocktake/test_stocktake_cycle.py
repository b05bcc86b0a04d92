"""Cycle counting: ABC classification, the schedule that creates tasks, counts from tasks, reports over time."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hub.inventory import catalog, ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.stocktake import approval, cycle, reports, scans, sessions
from tests.support.common import key

P = "/api/v1/stocktake"


def _items(hubctx, sample, n=10):
    """n extra items with sales: item i sells (n - i) * 10 units at cost 100 (value falls with i)."""
    out = []
    with hubctx.db.write() as conn:
        for i in range(n):
            it = catalog.create_item(
                conn,
                {"sku": f"C{i:02d}", "name_en": f"Cyc {i}", "unit": "each", "price_minor": 200, "cost_minor": 100},
                actor="t",
            )
            ledger.post(conn, MovementRequest("receive", it["id"], sample["bin1"]["id"], 1000, "d", "t", key()))
            ledger.post(conn, MovementRequest("sale", it["id"], sample["bin1"]["id"], (n - i) * 10, "till", "t", key()))
            out.append(it)
    return out


def test_abc_classification_by_value_and_velocity(hubctx, sample):
    items = _items(hubctx, sample)
    with hubctx.db.write() as conn:
        res = cycle.classify(conn, days=30, actor="mgr")
    assert res["items"] == 13 and sum(res["classes"].values()) == 13
    conn = hubctx.db.read()
    cls = {r[0]: r[1] for r in conn.execute("SELECT item_id, abc_class FROM cycle_classes")}
    # values 100,90,...,10 (x cost): total 550; cumulative share before each item:
    # 0 .18 .35 .49 .62 .73 | .82 .89 .945 | .98   (A below 80%, B below 95%, C the rest)
    assert [cls[it["id"]] for it in items] == ["A"] * 6 + ["B"] * 3 + ["C"]
    assert cls[sample["milk"]["id"]] == "C"  # never sold
    value = conn.execute(
        "SELECT annual_value_minor FROM cycle_classes WHERE item_id = ?", (items[0]["id"],)
    ).fetchone()[0]
    assert value == round(100 * 365 / 30 * 100)
    with hubctx.db.write() as conn:
        cycle.classify(conn, days=30, basis="velocity", actor="mgr")
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM cycle_classes WHERE abc_class = 'A'").fetchone()[0] == 6


def test_schedule_spreads_first_counts_and_follows_last_count(hubctx, sample):
    items = _items(hubctx, sample)
    today = date(2026, 11, 2)
    with hubctx.db.write() as conn:
        cycle.classify(conn, days=30, actor="mgr", today=today)
        settings.put(conn, "cycle_count_days", {"A": 30, "B": 90, "C": 360})
        res = cycle.schedule(conn, actor="sup", today=today, horizon_days=0)
    # never counted: the k-th of n items in a class is due on day floor(k * interval / n); horizon 0 = due today
    due_today = {t["item_id"] for t in res["tasks"]}
    assert items[0]["id"] in due_today and items[6]["id"] in due_today  # first A and first B
    assert items[1]["id"] not in due_today  # second A: day 5
    with hubctx.db.write() as conn:
        again = cycle.schedule(conn, actor="sup", today=today, horizon_days=0)
    assert again["created"] == 0  # open tasks are not duplicated
    with hubctx.db.write() as conn:
        res = cycle.schedule(conn, actor="sup", today=today, horizon_days=30)
    assert {t["item_id"] for t in res["tasks"]} >= {it["id"] for it in items[1:6]}

    # count the tasks due today, approve: tasks done, next due one interval after the count
    with hubctx.db.write() as conn:
        s, _ = cycle.session_from_tasks(conn, due_by=today.isoformat(), actor="sup", idempotency_key=key())
        assert s["kind"] == "cycle" and set(s["scope"]["item_ids"]) == due_today
        scans.record_scan(conn, s["id"], counter="u1", client_key=key(), code="SHL-A01-01")
        scans.record_scan(conn, s["id"], counter="u1", client_key=key(), item_id=items[0]["id"], qty=895)
        sessions.close(conn, s["id"], actor="sup")
        approval.approve(conn, s["id"], actor="mgr", role="manager", idempotency_key=key())
    conn = hubctx.db.read()
    statuses = {
        r[0]: r[1] for r in conn.execute("SELECT item_id, status FROM count_tasks WHERE session_id = ?", (s["id"],))
    }
    assert set(statuses.values()) == {"done"}
    last = cycle.last_counted(conn)
    assert items[0]["id"] in last
    later = date.fromisoformat(last[items[0]["id"]]) + timedelta(days=30)
    with hubctx.db.write() as conn:
        res = cycle.schedule(conn, actor="sup", today=later, horizon_days=0)
    assert items[0]["id"] in {t["item_id"] for t in res["tasks"]}


def test_cancelled_cycle_count_reopens_its_tasks(hubctx, sample):
    _items(hubctx, sample, n=3)
    with hubctx.db.write() as conn:
        cycle.classify(conn, days=30, actor="mgr")
        cycle.schedule(conn, actor="sup", horizon_days=400)
        s, _ = cycle.session_from_tasks(conn, due_by="2999-01-01", actor="sup")
        assert conn.execute("SELECT COUNT(*) FROM count_tasks WHERE status='in_session'").fetchone()[0] == 6
        sessions.cancel(conn, s["id"], actor="sup", reason="no time today")
        assert conn.execute("SELECT COUNT(*) FROM count_tasks WHERE status='open'").fetchone()[0] == 6


def test_shrink_and_accuracy_reports_over_time(client, auth, hubctx, sample):
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 10, "d", "t", key()))
        ledger.post(conn, MovementRequest("receive", sample["rice"]["id"], sample["bin1"]["id"], 5, "d", "t", key()))
    for _counted_milk in (8, 8):  # two counts, each loses 2 milk (cost 800) and finds rice exact
        with hubctx.db.write() as conn:
            s, _ = sessions.create(conn, name="Weekly", actor="sup", uncounted="exclude")
            scans.record_scan(conn, s["id"], counter="u1", client_key=key(), code="SHL-A01-01")
            on_hand = ledger.stock_of(conn, sample["milk"]["id"], sample["bin1"]["id"])["on_hand"]
            scans.record_scan(conn, s["id"], counter="u1", client_key=key(), code="5901234123457", qty=on_hand - 2)
            scans.record_scan(conn, s["id"], counter="u1", client_key=key(), code="96385074", qty=5)
            sessions.close(conn, s["id"], actor="sup")
            approval.approve(conn, s["id"], actor="sup", role="supervisor", idempotency_key=key())
    conn = hubctx.db.read()
    rows = reports.shrink(conn, period="year")
    assert len(rows) == 1 and rows[0]["sessions"] == 2 and rows[0]["shrink_cost_minor"] == -3200
    assert rows[0]["gain_cost_minor"] == 0 and rows[0]["net_cost_minor"] == -3200
    acc = reports.accuracy(conn)
    assert [a["line_accuracy_pct"] for a in acc] == [50.0, 50.0]
    r = client.get(f"{P}/reports/shrink?period=month&by=category", headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json()["items"][0]["shrink_cost_minor"] == -3200
    r = client.get(f"{P}/reports/accuracy", headers=auth("supervisor"))
    assert len(r.get_json()["items"]) == 2
    assert client.get(f"{P}/reports/accuracy", headers=auth("associate")).status_code == 403


def test_cycle_api(client, auth, hubctx, sample):
    _items(hubctx, sample, n=4)
    assert client.post(f"{P}/cycle/classify", json={"days": 30}, headers=auth("supervisor")).status_code == 403
    r = client.post(f"{P}/cycle/classify", json={"days": 30, "basis": "value"}, headers=auth("manager"))
    assert r.status_code == 200 and r.get_json()["items"] == 7
    r = client.post(f"{P}/cycle/schedule", json={"horizon_days": 365}, headers=auth("supervisor"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["created"] == 7
    tasks = client.get(f"{P}/cycle/tasks?limit=100", headers=auth()).get_json()
    assert tasks["total"] == 7
    k = key()
    body = {"task_ids": [t["id"] for t in tasks["items"][:2]], "idempotency_key": k}
    a = client.post(f"{P}/cycle/sessions", json=body, headers=auth("supervisor"))
    b = client.post(f"{P}/cycle/sessions", json=body, headers=auth("supervisor"))
    assert (a.status_code, b.status_code) == (201, 200) and a.get_json()["id"] == b.get_json()["id"]
    assert len(a.get_json()["scope"]["item_ids"]) == 2
    assert client.get(f"{P}/cycle/tasks", headers=auth()).get_json()["total"] == 5


def test_cli_classify_and_schedule(tmp_path):
    from click.testing import CliRunner

    from hub.cli import main
    from hub.store import initialise, open_db

    _cfg, db = open_db(tmp_path)
    initialise(db, store_id="cli-store")
    with db.write() as conn:
        catalog.create_item(conn, {"sku": "X1", "name_en": "X", "unit": "each", "price_minor": 1}, actor="t")
    db.close()
    r = CliRunner().invoke(main, ["stocktake", "classify", "--data-dir", str(tmp_path), "--days", "30"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["classes"] == {"A": 0, "B": 0, "C": 1}
    r = CliRunner().invoke(main, ["stocktake", "schedule", "--data-dir", str(tmp_path), "--horizon-days", "0"])
    assert r.exit_code == 0 and json.loads(r.output) == {"created": 1}
    r = CliRunner().invoke(main, ["stocktake", "classify", "--data-dir", str(tmp_path), "--days", "3"])
    assert r.exit_code == 2 and json.loads(r.output)["error"]["code"] == "invalid_days"
