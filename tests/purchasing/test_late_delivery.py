"""Late-delivery alerts (hub/purchasing/alerts.py): an order past its expected day without full receipt raises
one ``po_late`` alert (not twice on later checks), recorded as an ``alert.raised`` fact for the central; partly
received it stays late; received in full it clears. A draft is never late."""

from __future__ import annotations

import json
from datetime import date, timedelta

from click.testing import CliRunner

from hub.identify.barcode import ParseOptions
from hub.purchasing import alerts as po_alerts
from hub.purchasing import days, orders, receiving
from hub.purchasing.cli import purchasing_group
from tests.purchasing.conftest import RICE_CASE, carton

EXPECTED = (date.today() + timedelta(days=5)).isoformat()


def _po(conn, s, *, key: str, send: bool = True, expected: str | None = EXPECTED):
    po, _ = orders.create(
        conn,
        supplier_id=s["supplier"]["id"],
        actor="sup",
        role="supervisor",
        idempotency_key=key,
        expected_date=expected,
        lines=[{"item_id": s["rice"]["id"], "cases": 2}],
    )
    if not send:
        return po
    orders.submit(conn, po["id"], actor="sup", role="supervisor")
    orders.approve(conn, po["id"], actor="mgr", role="manager")
    return orders.send(conn, po["id"], actor="sup", role="supervisor")


def _open_late(conn):
    return conn.execute("SELECT subject, details FROM alerts WHERE kind = 'po_late' AND cleared_at IS NULL").fetchall()


def _facts(conn, kind):
    return [
        json.loads(r[0])
        for r in conn.execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
    ]


def _receive(conn, po_id, cases, key):
    r, _ = receiving.open_receipt(conn, po_id=po_id, actor="assoc", idempotency_key=f"r-{key}")
    receiving.scan(
        conn,
        r["id"],
        code=carton(RICE_CASE),
        actor="assoc",
        idempotency_key=f"s-{key}",
        options=ParseOptions(),
        count=cases,
    )
    return receiving.confirm(conn, r["id"], actor="assoc", idempotency_key=f"c-{key}")


def test_late_po_raises_one_alert_stays_while_partly_received_and_clears_when_received(hubctx, supplied):
    s = supplied
    due = date.fromisoformat(EXPECTED)
    with hubctx.db.write() as conn:
        po = _po(conn, s, key="po-late")
        _po(conn, s, key="po-draft", send=False, expected=(date.today() - timedelta(days=3)).isoformat())
        on_time = _po(conn, s, key="po-ok", expected=(due + timedelta(days=10)).isoformat())
        # the expected day itself is not late
        assert po_alerts.check_late(conn, today=due) == {"late": 0, "raised": 0, "cleared": 0}
        first = po_alerts.check_late(conn, today=due + timedelta(days=2))
        assert first == {"late": 1, "raised": 1, "cleared": 0}
        again = po_alerts.check_late(conn, today=due + timedelta(days=3))
        assert again == {"late": 1, "raised": 0, "cleared": 0}  # not twice
        rows = _open_late(conn)
        assert [r["subject"] for r in rows] == [f"po:{po['id']}"]
        d = json.loads(rows[0]["details"])
        assert d["number"] == po["number"] and d["days_late"] == 2 and d["ordered"] == 12 and d["received"] == 0
        raised = [f for f in _facts(conn, "alert.raised") if f["kind"] == "po_late"]
        assert len(raised) == 1 and raised[0]["subject"] == f"po:{po['id']}" and raised[0]["severity"] == "warning"

        assert _receive(conn, po["id"], 1, "a")["po_status"] == "partly_received"
        assert po_alerts.check_late(conn, today=due + timedelta(days=4)) == {"late": 1, "raised": 0, "cleared": 0}
        assert _receive(conn, po["id"], 1, "b")["po_status"] == "received"
        assert po_alerts.check_late(conn, today=due + timedelta(days=4)) == {"late": 0, "raised": 0, "cleared": 1}
        assert _open_late(conn) == []
        assert [f["subject"] for f in _facts(conn, "alert.cleared") if f["kind"] == "po_late"] == [f"po:{po['id']}"]
        # the other order falls late later on its own day
        assert po_alerts.check_late(conn, today=due + timedelta(days=11))["raised"] == 1
        assert [r["subject"] for r in _open_late(conn)] == [f"po:{on_time['id']}"]


def test_no_expected_date_uses_sent_day_plus_lead_time_and_the_cli(hubctx, supplied, data_dir):
    s = supplied
    with hubctx.db.write() as conn:
        po = _po(conn, s, key="po-nodate", expected=None)
        today = days.today(conn)
        lead = s["supplier"]["lead_time_days"]  # 3 days
        assert po_alerts.check_late(conn, today=today + timedelta(days=lead))["late"] == 0
        assert po["expected_date"] == (today + timedelta(days=lead)).isoformat()  # create fills it in
        # an order without an expected day (made before it was required) is due on its sent day + the lead time
        conn.execute(
            "UPDATE purchase_orders SET expected_date = NULL, sent_at = '2020-01-01T00:00:00Z' WHERE id = ?",
            (po["id"],),
        )
    out = CliRunner().invoke(purchasing_group, ["late-check", "--data-dir", str(data_dir)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1]) == {"late": 1, "raised": 1, "cleared": 0}
    with hubctx.db.read() as conn:
        assert json.loads(_open_late(conn)[0]["details"])["expected_date"] == "2020-01-04"


def test_the_late_check_route(hubctx, supplied, client, auth):
    with hubctx.db.write() as conn:
        po = _po(conn, supplied, key="po-route")
        conn.execute("UPDATE purchase_orders SET expected_date = '2020-01-01' WHERE id = ?", (po["id"],))
    assert client.post("/api/v1/purchasing/late-check", headers=auth("associate")).status_code == 403
    r = client.post("/api/v1/purchasing/late-check", headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json() == {"late": 1, "raised": 1, "cleared": 0}
    r = client.post("/api/v1/purchasing/late-check", headers=auth("supervisor"))
    assert r.get_json() == {"late": 1, "raised": 0, "cleared": 0}
    r = client.get("/api/v1/alerts?kind=po_late", headers=auth("associate"))
    assert r.status_code == 200
    assert [a["subject"] for a in r.get_json()["items"]] == [f"po:{po['id']}"]
