"""Day one on the floor (issue 12, screens): lists say how many there are and page, lookup shows stock, the hub's
refusals read in the user's language, the Pending list names items and quantities, an RFID sweep picks a
registered reader and stopping it stops the reader."""

from __future__ import annotations

import pytest
import requests

from tests.support.orders import order_body, store
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser


def _token(hub_server, role="supervisor", pin="2222"):
    r = requests.post(f"{hub_server.url}/api/v1/auth/login", json={"user": role, "pin": pin}, timeout=30)
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _toast(page, kind: str) -> str:
    page.wait_for_selector(f"#toast.show[data-kind='{kind}']")
    return page.locator("#toast").inner_text()


def test_lookup_counts_pages_and_shows_stock(phone, hub_server):
    from hub.inventory import catalog

    with hub_server.db.write() as conn:
        for n in range(45):  # more than one page of 30
            catalog.create_item(
                conn,
                {
                    "sku": f"TEA-{n:03d}",
                    "name_en": f"Tea {n}",
                    "name_zh": f"茶 {n}",
                    "unit": "each",
                    "price_minor": 100 + n,
                },
                actor="test",
            )
    store(hub_server.app.extensions["storehub"], hub_server.sample)  # stock: 5 milk, 10 rice, 5 kg apples
    login(phone)
    phone.goto("/#/lookup?q=TEA")
    phone.wait_for_selector("[data-testid='lookup-count']")
    assert phone.get_by_test_id("lookup-count").inner_text() == "45 found"
    assert phone.get_by_test_id("lookup-hit").count() == 30
    assert phone.get_by_test_id("lookup-pager-range").inner_text() == "1–30 of 45"
    phone.get_by_test_id("lookup-pager-next").click()
    phone.wait_for_function("document.querySelector('[data-testid=lookup-pager-range]')?.textContent === '31–45 of 45'")
    assert phone.get_by_test_id("lookup-hit").count() == 15
    assert phone.get_by_test_id("lookup-stock").first.inner_text() == "0 in stock"
    # stock on hand in the results, the weighed item in kg
    phone.goto("/#/lookup?q=5901234123457")
    phone.wait_for_selector("[data-testid='lookup-stock']")
    assert phone.get_by_test_id("lookup-stock").inner_text() == "5 in stock"
    phone.goto("/#/lookup?q=APPLE")
    phone.wait_for_function("document.querySelector('[data-testid=lookup-stock]')?.textContent === '5.000 kg in stock'")
    shot(phone, "day1-lookup-stock")
    assert phone.errors == []


def test_orders_list_counts_pages_and_prints_no_null(phone, hub_server):
    store(hub_server.app.extensions["storehub"], hub_server.sample)
    hdr = _token(hub_server)
    for n in range(33):
        r = requests.post(
            f"{hub_server.url}/api/v1/orders",
            headers=hdr,
            timeout=30,
            json=order_body(f"WEB-P{n}", [{"sku": "RICE-5KG", "qty": 20}]),
        )  # more than in stock: back-ordered
        assert r.status_code == 201, r.text
    total = requests.get(
        f"{hub_server.url}/api/v1/orders", headers=hdr, params={"open": "true", "limit": 1}, timeout=30
    ).json()["total"]
    assert total >= 33  # a back-order may split into a child order
    login(phone)
    phone.goto("/#/orders")
    phone.wait_for_selector("[data-testid='orders-count']")
    assert phone.get_by_test_id("orders-count").inner_text() == f"{total} orders"
    assert phone.get_by_test_id("orders-row").count() == 30
    assert "null" not in phone.locator("main").inner_text()
    phone.get_by_test_id("orders-pager-next").click()
    phone.wait_for_function("(n) => document.querySelectorAll('[data-testid=orders-row]').length === n", arg=total - 30)
    assert phone.get_by_test_id("orders-pager-range").inner_text() == f"31–{total} of {total}"
    assert phone.errors == []


def test_hub_refusals_read_in_chinese(phone, hub_server):
    with hub_server.db.write() as conn:
        conn.execute("UPDATE users SET language = 'zh-CN' WHERE username = 'associate'")
    login(phone)
    phone.wait_for_function("document.documentElement.lang === 'zh-CN'")
    scan(phone, "5901234123458")  # milk's GTIN with a wrong check digit
    text = _toast(phone, "error")
    assert "校验位错误" in text, text
    assert "check digit" not in text.lower()
    shot(phone, "day1-zh-check-digit")
    assert phone.errors == []


def test_pending_list_names_items_and_quantities(phone, hub_server):
    shop = store(hub_server.app.extensions["storehub"], hub_server.sample)
    hdr = _token(hub_server)
    r = requests.post(
        f"{hub_server.url}/api/v1/orders",
        headers=hdr,
        timeout=30,
        json=order_body("WEB-Q1", [{"sku": "MILK-1L", "qty": 2}]),
    )
    assert r.status_code == 201, r.text
    assert shop["milk"]["sku"] == "MILK-1L"
    login(phone)
    phone.get_by_test_id("tile-pick").click()
    phone.get_by_test_id("pick-next").click()
    phone.wait_for_selector("[data-testid='walk-loc-code']")
    loc = phone.get_by_test_id("walk-loc-code").inner_text()
    hub_server.stop()
    scan(phone, f"SHL-{loc}")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "5901234123457")
    phone.get_by_test_id("walk-confirm").click()
    phone.wait_for_selector("html[data-pending='1']")
    phone.evaluate("location.hash = '#/queue'")
    phone.wait_for_selector("[data-testid='queue-row']")
    assert phone.get_by_test_id("queue-row-name").inner_text() == "Milk 1L"
    qty = int(phone.get_by_test_id("queue-row-qty").inner_text())
    assert qty in (1, 2)  # what was on this shelf of the two ordered
    assert "pick-tasks" not in phone.get_by_test_id("queue-row").inner_text()
    shot(phone, "day1-pending-names")
    hub_server.start()


def test_rfid_sweep_uses_a_registered_reader_and_stopping_stops_it(phone, hub_server):
    from hub.bus import registry
    from hub.protocol.timeutil import now_iso

    with hub_server.db.write() as conn:
        registry.provision(conn, "fx9600-2", "rfid", now_iso())
    hdr = _token(hub_server)
    r = requests.post(
        f"{hub_server.url}/api/v1/stocktake/sessions",
        headers=hdr,
        timeout=30,
        json={"name": "RFID", "idempotency_key": "day1-rfid-count"},
    )
    assert r.status_code in (200, 201), r.text
    sid = r.json()["id"]
    login(phone)
    phone.goto(f"/#/stocktake_sweep?id={sid}")
    pick = phone.get_by_test_id("sweep-reader-pick")
    pick.wait_for(state="visible")
    assert pick.input_value() == "fx9600-2"
    assert not phone.get_by_test_id("sweep-reader").is_visible()  # no id to type for a registered reader
    scan(phone, "SHL-A01-01")
    phone.wait_for_function("document.querySelector('[data-testid=sweep-location]')?.textContent === 'A01-01'")
    phone.get_by_test_id("sweep-start").click()
    phone.wait_for_selector("[data-testid='sweep-stop']:visible")

    def commands():
        return [
            tuple(x)
            for x in hub_server.db.read().execute(
                "SELECT action, device_id FROM device_commands ORDER BY created_at, rowid"
            )
        ]

    assert commands() == [("start_inventory", "fx9600-2")]
    phone.get_by_test_id("sweep-stop").click()
    phone.wait_for_selector("[data-testid='sweep-start']:visible")
    assert commands() == [("start_inventory", "fx9600-2"), ("stop_inventory", "fx9600-2")]
    assert phone.errors == []
