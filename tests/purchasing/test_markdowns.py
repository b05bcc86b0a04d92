"""Near-expiry markdowns (issue 16): a lot close to its expiry (per-category warning days) gets one suggestion,
live as a fact; a manager approves it into a store-level percent_off promotion the promotions engine accepts and
prices (30 % off the SKU until the end of the expiry day, store-local), sent to the central as a fact."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.kernel.errors import Conflict, Forbidden, ValidationError
from hub.promotions import engine
from hub.promotions.validation import parse_basket, parse_promotion
from hub.purchasing import lots, markdowns

TODAY = date(2026, 6, 1)


def _receive(conn, item_id, location_id, qty, lot, expiry_day, k):
    lots.intend(conn, k, lot, expiry_day)
    ledger.post(conn, MovementRequest("receive", item_id, location_id, qty, "test", "t", k))


def _facts(conn, kind):
    return [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", (kind,))]


def test_suggest_approve_into_a_promotion_the_engine_prices(hubctx, sample):
    milk, bin1 = sample["milk"], sample["bin1"]
    with hubctx.db.write() as conn:
        conn.execute("UPDATE items SET category = 'dairy' WHERE id = ?", (milk["id"],))
        settings.put(conn, "timezone", "Asia/Shanghai")
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        _receive(conn, milk["id"], bin1["id"], 6, "SOON", "2026-06-04", "k1")  # 3 days: dairy warns 5 ahead
        _receive(conn, milk["id"], bin1["id"], 6, "LATER", "2026-06-20", "k2")  # outside the window
        _receive(conn, milk["id"], bin1["id"], 2, "GONE", "2026-05-30", "k3")  # expired: not marked down
        setting = {"default": 1, "categories": {"dairy": 5}}
        made = markdowns.suggest(conn, today=TODAY, setting=setting)
        assert [(m["lot"], m["days_left"], m["qty"], m["percent"]) for m in made] == [("SOON", 3, 6, 30)]
        assert markdowns.suggest(conn, today=TODAY, setting=setting) == []  # once per lot
        assert [f["lot"] for f in _facts(conn, "markdown.suggested")] == ["SOON"]
        sid = made[0]["id"]
        with pytest.raises(Forbidden):
            markdowns.approve(conn, sid, actor="sup", role="supervisor")
        with pytest.raises(ValidationError):
            markdowns.approve(conn, sid, actor="boss", role="manager", percent=95)
        now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
        done = markdowns.approve(conn, sid, actor="boss", role="manager", now=now)
        assert done["status"] == "approved" and done["decided_by"] == "boss"
        promo = done["promotion"]
        # until the end of 2026-06-04 in Shanghai = 2026-06-04T16:00Z
        assert promo["valid"] == {"from": "2026-06-01T02:00:00.000Z", "to": "2026-06-04T16:00:00.000Z"}
        assert promo["scope"] == {"skus": ["MILK-1L"]} and promo["params"] == {"percent": 30}
        fact = _facts(conn, "markdown.approved")
        assert len(fact) == 1 and fact[0]["promotion"] == promo and fact[0]["approved_by"] == "boss"
        with pytest.raises(Conflict) as exc:
            markdowns.approve(conn, sid, actor="boss", role="manager")
        assert exc.value.code == "markdown_decided"
    # the promotion prices a basket: 30 % off the milk (¥12.50 -> saving ¥3.75 each)
    index = engine.PromotionIndex([parse_promotion(promo)])
    basket = parse_basket(
        {
            "at": "2026-06-02T03:00:00Z",
            "lines": [{"sku": "MILK-1L", "qty": 2, "unit_price_minor": 1250, "category": "dairy", "brand": ""}],
        },
        lambda sku: None,
    )
    priced = engine.price(index, basket, "Asia/Shanghai")
    assert priced["discount_minor"] == 750 and priced["total_minor"] == 1750, priced


def test_an_expired_lot_is_not_marked_down_and_dismiss_is_final(hubctx, sample):
    milk, bin1 = sample["milk"], sample["bin1"]
    with hubctx.db.write() as conn:
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        _receive(conn, milk["id"], bin1["id"], 3, "A", "2026-06-02", "k1")
        _receive(conn, milk["id"], bin1["id"], 3, "B", "2026-06-03", "k2")
        made = markdowns.suggest(conn, today=TODAY, setting={"default": 7})
        assert [m["lot"] for m in made] == ["A", "B"]
        late = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)  # lot A's day is over
        with pytest.raises(Conflict) as exc:
            markdowns.approve(conn, made[0]["id"], actor="boss", role="manager", now=late)
        assert exc.value.code == "markdown_lot_expired"
        gone = markdowns.dismiss(conn, made[1]["id"], actor="boss", role="manager")
        assert gone["status"] == "dismissed"
        assert [s["lot"] for s in markdowns.list_suggestions(conn)] == ["A"]
        assert markdowns.suggest(conn, today=TODAY, setting={"default": 7}) == []


def test_the_routes_check_list_and_approve_by_role(client, auth, hubctx, sample):
    from datetime import timedelta

    from hub.purchasing import days

    milk, bin1 = sample["milk"], sample["bin1"]
    with hubctx.db.write() as conn:
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        soon = (days.today(conn) + timedelta(days=2)).isoformat()
        _receive(conn, milk["id"], bin1["id"], 4, "L7", soon, "k1")
    r = client.post("/api/v1/purchasing/expiry/check", headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json()["markdowns_suggested"] == 1, r.get_json()
    items = client.get("/api/v1/purchasing/markdowns", headers=auth()).get_json()["items"]
    assert [(s["sku"], s["lot"], s["expiry"], s["percent"]) for s in items] == [("MILK-1L", "L7", soon, 30)]
    sid = items[0]["id"]
    r = client.post(f"/api/v1/purchasing/markdowns/{sid}/approve", json={}, headers=auth("supervisor"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/purchasing/markdowns/{sid}/approve", json={"percent": 40}, headers=auth("manager"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["promotion"]["params"] == {"percent": 40} and r.get_json()["status"] == "approved"
    r = client.post(f"/api/v1/purchasing/markdowns/{sid}/dismiss", headers=auth("manager"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "markdown_decided"
    assert client.get("/api/v1/purchasing/markdowns", headers=auth()).get_json()["items"] == []
