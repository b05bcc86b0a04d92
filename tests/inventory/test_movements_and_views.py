"""Manual stock movements (who may post which kind, the audit entry) and the location/item views, at the domain level."""

from __future__ import annotations

import json

import pytest

from hub.inventory import movements, views
from hub.inventory.ledger import MovementRequest
from hub.kernel.errors import Forbidden
from tests.support.common import key


def _audits(conn, action):
    return [dict(r) for r in conn.execute("SELECT * FROM audit_log WHERE action = ?", (action,))]


def test_supervisor_kinds_are_refused_to_associates_and_nothing_is_written(hubctx, sample):
    req = MovementRequest("adjust", sample["milk"]["id"], sample["bin1"]["id"], -1, "broken", "assoc", key())
    with pytest.raises(Forbidden) as e:
        with hubctx.db.write() as conn:
            movements.post_manual(conn, req, role="associate")
    assert e.value.code == "wrong_role" and e.value.message == "adjust needs the supervisor role"
    assert e.value.details == {"needed": "supervisor", "have": "associate", "kind": "adjust"}  # for the message
    conn = hubctx.db.read()
    assert _audits(conn, "stock.adjust") == [] and views.stock_at(conn, sample["bin1"]["id"]) == []
    movements.check_role("receive", "associate")
    movements.check_role("writeoff", "manager")
    with pytest.raises(Forbidden):
        movements.check_role("writeoff", "associate")


def test_a_manual_movement_is_audited_once(hubctx, sample):
    k = key()
    req = MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 6, "delivery", "sup", k, "hh-1")
    with hubctx.db.write() as conn:
        m = movements.post_manual(conn, req, role="associate")
        again = movements.post_manual(conn, req, role="associate")
    assert m["duplicate"] is False and again["duplicate"] is True
    [a] = _audits(hubctx.db.read(), "stock.receive")
    assert (a["actor"], a["device"], a["target"]) == ("sup", "hh-1", m["id"])
    assert json.loads(a["details"]) == {"item_id": sample["milk"]["id"], "location_id": sample["bin1"]["id"], "qty": 6}


def test_transfer_is_audited_once(hubctx, sample):
    with hubctx.db.write() as conn:
        movements.post_manual(
            conn,
            MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 5, "in", "t", key()),
            role="associate",
        )
    args = dict(
        item_id=sample["milk"]["id"],
        from_location_id=sample["bin1"]["id"],
        to_location_id=sample["bin2"]["id"],
        qty=2,
        reason="refill",
        actor="t",
        idempotency_key=key(),
    )
    with hubctx.db.write() as conn:
        out = movements.transfer(conn, **args)
        again = movements.transfer(conn, **args)
    assert out["duplicate"] is False and len(out["movements"]) == 2 and again["duplicate"] is True
    [a] = _audits(hubctx.db.read(), "stock.transfer")
    assert json.loads(a["details"])["to_location_id"] == sample["bin2"]["id"]


def test_location_detail_has_path_and_stock(hubctx, sample):
    with hubctx.db.write() as conn:
        movements.post_manual(
            conn,
            MovementRequest("receive", sample["rice"]["id"], sample["bin2"]["id"], 3, "in", "t", key()),
            role="associate",
        )
    loc = views.location_detail(hubctx.db.read(), sample["bin2"]["id"])
    assert [p["code"] for p in loc["path"]] == ["STORE", "FLOOR", "A01", "A01-02"]
    assert loc["stock"] == [
        {
            "item_id": sample["rice"]["id"],
            "sku": "RICE-5KG",
            "name_en": "Rice 5kg",
            "name_zh": "大米 5公斤",
            "on_hand": 3,
            "reserved": 0,
        }
    ]
    item = views.item_detail(hubctx.db.read(), sample["rice"]["id"])
    assert item["totals"]["on_hand"] == 3 and len(item["movements"]) == 1
