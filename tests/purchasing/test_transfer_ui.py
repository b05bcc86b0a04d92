"""Browser: a transfer between stores on the handheld. The sending store accepts, picks and ships it (the stock
leaves once); the receiving store opens the transfer the central relayed, scans a GS1 carton (GS typed as Ctrl+]
like a wedge), confirms, gives a reason for the shortfall in the dialog, and the receipt is posted once."""

from __future__ import annotations

import pytest

from hub.inventory import ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.purchasing import lots, transfers
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser
GS = "\x1d"


def _on_hand(db, item_id: str) -> int:
    conn = db.read()
    return ledger.stock_of(conn, item_id, locations.get_by_code(conn, "STORE")["id"])["on_hand"]


def test_ship_then_receive_a_transfer_on_the_handheld(phone, hub_server, sample):
    db = hub_server.db
    milk = sample["milk"]["id"]
    with db.write() as conn:
        store = locations.get_by_code(conn, "STORE")["id"]
        lots.set_lot_controlled(conn, milk, True, actor="test")
        lots.intend(conn, "ui-recv", "LU1", "2027-06-30")
        ledger.post(conn, MovementRequest("receive", milk, store, 20, "delivery", "test", "ui-recv"))
        out = transfers.propose(
            conn, to_store="store-far", lines=[{"item_id": milk, "qty": 6}], actor="sup", idempotency_key="ui-prop-1"
        )
        here = settings.get(conn, "store_id")
        incoming = {
            "id": "0190bbbb-0000-7000-8000-000000000002",
            "from_store": "store-far",
            "to_store": here,
            "status": "shipped",
            "origin": "store",
            "proposed_by": "sup-far",
            "note": "",
            "lines": [
                {
                    "line_no": 1,
                    "item_id": "x",
                    "sku": "MILK-1L",
                    "qty": 10,
                    "picked": 10,
                    "shipped": 10,
                    "received": 0,
                    "lots": [{"lot": "LF7", "expiry": "2027-07-31", "qty": 10}],
                }
            ],
        }
        transfers.apply_downlink(conn, {"stage": "shipped", "transfer": incoming})
    phone.set_default_timeout(20000)
    login(phone, "supervisor", "2222")
    phone.get_by_test_id("tile-purchasing_transfer").click()
    phone.wait_for_selector(f"[data-testid='xfer-row'][data-id='{out['id']}']")
    shot(phone, "transfer-01-list")

    before = _on_hand(db, milk)
    phone.locator(f"[data-testid='xfer-row'][data-id='{out['id']}']").click()
    phone.get_by_test_id("xfer-accept").click()
    phone.get_by_test_id("xfer-pick").click()
    phone.get_by_test_id("xfer-ship").click()
    phone.get_by_test_id("xfer-status").filter(has_text="In transit").wait_for()
    assert "LU1 ×6" in phone.locator("[data-testid='xfer-line']").inner_text()
    assert _on_hand(db, milk) == before - 6

    phone.go_back()
    phone.wait_for_selector(f"[data-testid='xfer-row'][data-id='{incoming['id']}']")
    phone.locator(f"[data-testid='xfer-row'][data-id='{incoming['id']}']").click()
    phone.wait_for_selector("[data-testid='xfer-prompt']")
    scan(phone, "]C1" + "01" + "05901234123457" + "37" + "8" + GS + "10" + "LF7")  # a carton of 8
    phone.locator("[data-testid='xfer-scanned']").filter(has_text="8").wait_for()
    shot(phone, "transfer-02-receiving")
    before = _on_hand(db, milk)
    phone.get_by_test_id("xfer-confirm").click()
    phone.wait_for_selector("[data-testid='xfer-confirm-dialog'] [data-testid='xfer-reason'][data-sku='MILK-1L']")
    phone.locator("[data-testid='xfer-reason']").select_option("damaged")
    phone.get_by_test_id("xfer-confirm-go").click()
    phone.get_by_test_id("xfer-status").filter(has_text="Received").wait_for()
    assert "MILK-1L: 2 short" in phone.get_by_test_id("xfer-discrepancy").inner_text()
    assert _on_hand(db, milk) == before + 8
    t = transfers.get(db.read(), incoming["id"])
    assert t["discrepancies"] == [{"item_id": milk, "sku": "MILK-1L", "kind": "short", "qty": 2, "reason": "damaged"}]
