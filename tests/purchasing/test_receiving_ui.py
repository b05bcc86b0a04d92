"""Browser: a delivery received on the handheld by scanning GS1-128 cartons (GS typed as Ctrl+] like a wedge):
the order is opened by scanning its number, cases convert to units, the screen says what is still expected, a
carton without its lot and a code nobody knows are refused in words, confirming lists the shortfall with a
reason and posts the receive movements with the lot and expiry — once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.purchasing import orders
from tests.purchasing.conftest import MILK_CASE, RICE_CASE, carton
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser
EXPIRY = (date.today() + timedelta(days=40)).isoformat()


def test_receiving_journey_with_gs1_cartons(phone, hub_server, supplied):
    s = supplied
    with hub_server.db.write() as conn:
        po, _ = orders.create(
            conn,
            supplier_id=s["supplier"]["id"],
            actor="sup",
            role="supervisor",
            idempotency_key="ui-po-1",
            lines=[{"item_id": s["milk"]["id"], "cases": 2}, {"item_id": s["rice"]["id"], "cases": 2}],
        )
        orders.submit(conn, po["id"], actor="sup", role="supervisor")
        orders.approve(conn, po["id"], actor="sup2", role="supervisor")
        orders.send(conn, po["id"], actor="sup", role="supervisor")
    phone.set_default_timeout(20000)
    login(phone)
    phone.get_by_test_id("tile-purchasing").click()
    phone.wait_for_selector(f"[data-testid='po-row'][data-number='{po['number']}']")
    shot(phone, "purchasing-01-orders")
    scan(phone, po["number"])
    phone.wait_for_selector("[data-screen='purchasing_receive'] [data-testid='rcv-line']")
    assert phone.get_by_test_id("rcv-po").inner_text() == po["number"]

    scan(phone, carton(MILK_CASE, lot="LOT42", expiry=EXPIRY, count=2))  # 2 cases × 12, GS after AI 37
    milk = phone.locator("[data-testid='rcv-line'][data-sku='MILK-1L']")
    milk.locator("[data-testid='rcv-expected']").filter(has_text="still expected 0").wait_for()
    assert "24 / 24" in milk.inner_text()
    assert "LOT42" in phone.get_by_test_id("rcv-last").inner_text()

    scan(phone, "5901234123457")  # a bottle: no lot on it
    phone.wait_for_selector("[data-testid='rcv-refusal'] [data-code='lot_required']")
    assert "lot-controlled" in phone.get_by_test_id("rcv-refusal").inner_text()
    scan(phone, carton("10000000000007", lot="Z1"))
    phone.wait_for_selector("[data-testid='rcv-refusal'] [data-code='unknown_code']")

    scan(phone, carton(RICE_CASE))  # 1 of 2 rice cases arrived
    rice = phone.locator("[data-testid='rcv-line'][data-sku='RICE-5KG']")
    rice.locator("[data-testid='rcv-expected']").filter(has_text="still expected 6").wait_for()
    shot(phone, "purchasing-02-receiving")

    phone.get_by_test_id("rcv-confirm").click()
    phone.wait_for_selector("[data-testid='rcv-confirm-dialog'] [data-testid='rcv-reason'][data-sku='RICE-5KG']")
    phone.locator("[data-testid='rcv-reason'][data-sku='RICE-5KG']").select_option("damaged")
    phone.get_by_test_id("rcv-confirm-go").click()
    phone.wait_for_selector("[data-testid='rcv-done']:not([hidden])")
    assert "Partly received" in phone.get_by_test_id("rcv-done").inner_text()
    shot(phone, "purchasing-03-done")

    conn = hub_server.db.read()
    rows = conn.execute(
        "SELECT m.item_id, m.qty_delta, lm.lot, lm.expiry FROM movements m LEFT JOIN lot_movements lm"
        " ON lm.movement_id = m.id WHERE m.kind = 'receive' ORDER BY m.seq"
    ).fetchall()
    assert [tuple(r) for r in rows] == [(s["milk"]["id"], 24, "LOT42", EXPIRY), (s["rice"]["id"], 6, None, None)]
    disc = conn.execute("SELECT kind, reason, expected, received FROM po_discrepancies").fetchall()
    assert [tuple(r) for r in disc] == [("under", "damaged", 12, 6)]
    assert conn.execute("SELECT COUNT(*) FROM unknown_codes").fetchone()[0] == 1
    assert phone.errors == []
