"""Browser: the pick walk of a lot-controlled item goes to the first-expiring lot's location (not the first in
the walk) and names the lot and its expiry; the wedge scans pick it and the lot book loses that lot."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.purchasing import days, lots
from tests.support.orders import order_body
from tests.support.ui import login, scan

pytestmark = [pytest.mark.browser]


def test_the_pick_walk_goes_to_the_first_expiring_lot(phone, hub_server):
    ctx = hub_server.app.extensions["storehub"]
    s = hub_server.sample
    milk = s["milk"]
    with ctx.db.write() as conn:
        conn.execute("DELETE FROM stock WHERE item_id = ?", (milk["id"],))
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        today = days.today(conn)
        early = (today + timedelta(days=4)).isoformat()
        for k, loc, lot, exp in (
            ("r1", s["bin1"], "LATE", today + timedelta(days=40)),
            ("r2", s["bin2"], "EARLY", None),
        ):
            lots.intend(conn, k, lot, early if exp is None else exp.isoformat())
            ledger.post(conn, MovementRequest("receive", milk["id"], loc["id"], 5, "test", "t", k))
    api = hub_server.url + "/api/v1"
    token = requests.post(f"{api}/auth/login", json={"user": "supervisor", "pin": "2222"}, timeout=30).json()["token"]
    r = requests.post(
        f"{api}/orders",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        json=order_body("WEB-FEFO", [{"sku": "MILK-1L", "qty": 2}], paid_minor=2 * 1250),
    )
    assert r.status_code == 201 and r.json()["status"] == "allocated", r.text
    phone.set_default_timeout(30000)
    login(phone)
    phone.get_by_test_id("tile-pick").click()
    phone.get_by_test_id("pick-next").click()
    phone.wait_for_selector("[data-screen='pick_walk'] [data-testid='walk-location']")
    assert phone.get_by_test_id("walk-loc-code").inner_text() == "A01-02"  # not A01-01, first in the walk
    assert phone.get_by_test_id("walk-lot").inner_text() == f"Take lot EARLY (expires {early})"
    scan(phone, "SHL-A01-02")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "5901234123457")
    phone.get_by_test_id("walk-confirm").click()
    phone.wait_for_selector("[data-testid='walk-done']")
    with ctx.db.read() as conn:
        left = dict(conn.execute("SELECT lot, qty FROM stock_lots WHERE item_id = ? AND qty != 0", (milk["id"],)))
    assert left == {"EARLY": 3, "LATE": 5}
    assert phone.errors == []
