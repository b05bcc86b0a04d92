"""Browser, end to end: an order comes in through the API, an associate picks it on the handheld with wedge
keystroke scans (a wrong location and a wrong item are refused first), packs it — the pack label and receipt
come out of the simulated ESC/POS printer and are decoded — puts it on the ready shelf and hands it over by
scanning the order code."""

from __future__ import annotations

import pytest
import requests

from tests.support.bus import wait_until
from tests.support.orders import PrintRig, order_body, store
from tests.support.ui import login, scan, shot

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]


@pytest.fixture
def rig(hub_server, tmp_path):
    ctx = hub_server.app.extensions["storehub"]
    shop = store(ctx, hub_server.sample)
    r = PrintRig(hub_server.db, tmp_path)
    r.shop = shop
    yield r
    r.close()


def _toast(page, kind: str, expect: str | None = None) -> str:
    """The toast of ``kind``; with ``expect``, waits for a toast saying it (an earlier one may still be showing)."""
    if expect is not None:
        page.wait_for_function("(t) => document.querySelector('#toast').innerText.includes(t)", arg=expect)
    page.wait_for_selector(f"#toast.show[data-kind='{kind}']")
    return page.locator("#toast").inner_text()


def test_order_picked_packed_printed_and_collected_on_the_handheld(phone, hub_server, rig):
    api = hub_server.url + "/api/v1"
    token = requests.post(f"{api}/auth/login", json={"user": "supervisor", "pin": "2222"}, timeout=30).json()["token"]
    hdr = {"Authorization": f"Bearer {token}"}
    r = requests.post(
        f"{api}/orders",
        headers=hdr,
        timeout=30,
        json=order_body(
            "WEB-7001", [{"sku": "MILK-1L", "qty": 3}, {"sku": "RICE-5KG", "qty": 1}], paid_minor=3 * 1250 + 4990
        ),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "allocated"

    phone.set_default_timeout(30000)  # the shared CI box can be slow; waits end as soon as the UI is there
    login(phone)
    phone.get_by_test_id("tile-pick").click()
    phone.get_by_test_id("pick-next").click()
    phone.wait_for_selector("[data-screen='pick_walk'] [data-testid='walk-location']")
    # walk order: A01-01 (2 milk), A01-02 (1 milk), B01-01 (rice)
    assert phone.get_by_test_id("walk-loc-code").inner_text() == "A01-01"
    scan(phone, "SHL-B01-01")
    assert "go to A01-01" in _toast(phone, "error")
    scan(phone, "SHL-A01-01")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "96385074")  # rice, not milk
    assert "Wrong item" in _toast(phone, "error", "Wrong item")
    scan(phone, "5901234123457")
    qty = phone.get_by_test_id("walk-qty-input")
    assert qty.input_value() == "2"
    shot(phone, "orders-01-pick-qty")
    phone.get_by_test_id("walk-confirm").click()
    phone.wait_for_function("document.querySelector('[data-testid=walk-loc-code]')?.textContent === 'A01-02'")
    scan(phone, "SHL-A01-02")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "5901234123457")  # one left: confirmed by the scan itself
    phone.wait_for_function("document.querySelector('[data-testid=walk-loc-code]')?.textContent === 'B01-01'")
    scan(phone, "SHL-B01-01")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "96385074")
    phone.wait_for_selector("[data-testid='walk-done']")
    shot(phone, "orders-02-walk-done")
    o = requests.get(f"{api}/orders/{order['id']}", headers=hdr, timeout=30).json()
    assert o["status"] == "picked" and [ln["qty_picked"] for ln in o["lines"]] == [3, 1]

    phone.get_by_test_id("walk-to-pack").click()
    phone.wait_for_selector("[data-screen='pack'] [data-testid='pack-prompt']")
    scan(phone, order["code"])
    phone.wait_for_selector("[data-testid='pack-lines']")
    scan(phone, "4006381333931")  # oat drink: not in this order
    assert "not in order" in _toast(phone, "error", "not in order")
    for code in ("5901234123457", "5901234123457", "5901234123457", "96385074"):
        scan(phone, code)
        phone.wait_for_timeout(150)
    phone.wait_for_selector("[data-testid='pack-go']:not([disabled])")
    phone.get_by_test_id("pack-go").click()
    paper = rig.sim.wait_for_jobs(2, timeout=30)
    label = next(p for p in paper if not any("TOTAL" in line for line in p["lines"]))
    receipt = next(p for p in paper if any("TOTAL" in line for line in p["lines"]))
    assert order["code"] in "\n".join(label["lines"])
    assert [b["value"] for b in label["barcodes"]] == [order["code"]]
    assert "CNY 87.40" in "\n".join(receipt["lines"])  # 3 × 12.50 + 49.90
    phone.wait_for_function(
        "[...document.querySelectorAll('[data-testid=pack-print-status]')].map(e => e.textContent)"
        ".join() === 'printed,printed'",
        timeout=20000,
    )
    shot(phone, "orders-03-packed-printed")
    phone.get_by_test_id("pack-ready").click()
    phone.wait_for_function("document.querySelector('[data-testid=pack-status]')?.textContent === 'ready'")

    phone.goto("/#/")
    phone.wait_for_selector("[data-testid='tile-orders']")
    scan(phone, order["code"])  # anywhere: the shell opens the order
    phone.wait_for_selector("[data-screen='orders'] [data-testid='orders-handover']")
    phone.get_by_test_id("orders-handover").click()
    phone.wait_for_function("document.querySelector('[data-testid=orders-status]')?.textContent === 'collected'")
    shot(phone, "orders-04-collected")
    wait_until(
        lambda: requests.get(f"{api}/orders/{order['id']}", headers=hdr, timeout=30).json()["status"] == "collected"
    )
    history = [
        r[0]
        for r in hub_server.db.read().execute(
            "SELECT to_status FROM order_status_history WHERE order_id = ? ORDER BY seq", (order["id"],)
        )
    ]
    assert history == ["new", "allocated", "picking", "picked", "packed", "ready", "collected"]
    assert phone.errors == []


def test_short_pick_substitute_offline_replay_and_sla_alerts(phone, hub_server, tmp_path):
    from datetime import timedelta

    from hub.inventory import ledger
    from hub.protocol.timeutil import iso, utcnow

    ctx = hub_server.app.extensions["storehub"]
    shop = store(ctx, hub_server.sample)
    api = hub_server.url + "/api/v1"
    token = requests.post(f"{api}/auth/login", json={"user": "supervisor", "pin": "2222"}, timeout=30).json()["token"]
    hdr = {"Authorization": f"Bearer {token}"}
    order = requests.post(
        f"{api}/orders",
        headers=hdr,
        timeout=30,
        json=order_body("WEB-8001", [{"sku": "MILK-1L", "qty": 1}, {"sku": "RICE-5KG", "qty": 1}]),
    ).json()
    late = requests.post(
        f"{api}/orders", headers=hdr, timeout=30, json=order_body("WEB-8002", [{"sku": "RICE-5KG", "qty": 1}])
    ).json()
    with hub_server.db.write() as conn:
        conn.execute(
            "UPDATE orders SET status_since = ? WHERE id = ?", (iso(utcnow() - timedelta(minutes=50)), late["id"])
        )

    phone.set_default_timeout(30000)
    login(phone, "supervisor", "2222")
    phone.get_by_test_id("tile-orders_alerts").click()
    row = phone.wait_for_selector("[data-testid='sla-row']")
    assert late["code"] in row.inner_text() and row.get_attribute("data-severity") == "warning"
    shot(phone, "orders-05-sla")

    me = requests.get(f"{api}/auth/me", headers=hdr, timeout=30).json()
    pl = requests.post(
        f"{api}/pick-lists", headers=hdr, timeout=30, json={"order_ids": [order["id"]], "picker_id": me["id"]}
    ).json()
    phone.goto("/#/pick")
    # a locator, not a handle: the list re-renders when the hub's pick_list.created event arrives
    phone.get_by_test_id("pick-list").first.click()
    phone.wait_for_selector("[data-screen='pick_walk'] [data-testid='walk-location']")
    assert phone.get_by_test_id("walk-loc-code").inner_text() == "A01-01"
    # the milk is not on the shelf: take the suggested substitute
    phone.get_by_test_id("walk-short").click()
    sub = phone.wait_for_selector("[data-testid='short-substitute']")
    assert "Oat drink" in sub.inner_text()
    shot(phone, "orders-06-short")
    sub.click()
    phone.wait_for_function("document.querySelector('[data-testid=walk-item-name]')?.textContent === 'Rice 5kg'")
    scan(phone, "SHL-B01-01")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "96385074")
    phone.wait_for_function("document.querySelector('[data-testid=walk-item-name]')?.textContent === 'Oat drink 1L'")
    # the hub goes away: the last pick is kept on the device and replayed, once, when it is back
    hub_server.stop()
    scan(phone, "SHL-B01-01")
    phone.wait_for_selector("text=Scan the item")
    scan(phone, "4006381333931")
    phone.wait_for_selector("html[data-pending='1']", timeout=20000)
    assert (
        hub_server.db.read().execute("SELECT COUNT(*) FROM picks WHERE order_id = ?", (order["id"],)).fetchone()[0] == 2
    )
    hub_server.start()
    phone.wait_for_selector("html[data-pending='0']", timeout=30000)
    o = requests.get(f"{api}/orders/{order['id']}", headers=hdr, timeout=30).json()
    assert o["status"] == "picked"
    lines = {ln["sku"]: ln for ln in o["lines"]}
    assert lines["MILK-1L"]["status"] == "short" and lines["OATMILK-1L"]["qty_picked"] == 1
    assert lines["RICE-5KG"]["qty_picked"] == 1
    assert ledger.stock_of(hub_server.db.read(), shop["rice"]["id"], shop["bin3"]["id"])["on_hand"] == 9
    assert (
        hub_server.db.read()
        .execute("SELECT COUNT(*) FROM picks WHERE order_id = ? AND kind = 'pick'", (order["id"],))
        .fetchone()[0]
        == 2
    )
    assert requests.get(f"{api}/pick-lists/{pl['id']}", headers=hdr, timeout=30).json()["status"] == "done"
    assert phone.errors == []


def test_supervisor_reviews_an_order_on_the_handheld(phone, hub_server):
    ctx = hub_server.app.extensions["storehub"]
    store(ctx, hub_server.sample)
    api = hub_server.url + "/api/v1"
    token = requests.post(f"{api}/auth/login", json={"user": "associate", "pin": "1111"}, timeout=30).json()["token"]
    big = requests.post(
        f"{api}/orders",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        json=order_body("WEB-9001", [{"sku": "RICE-5KG", "qty": 1, "unit_price_minor": 999_900}]),
    ).json()
    assert big["review_status"] == "pending"
    phone.set_default_timeout(30000)
    login(phone, "supervisor", "2222")
    phone.get_by_test_id("tile-orders").click()
    phone.get_by_test_id("orders-filter-new").click()
    phone.wait_for_selector("[data-testid='orders-row']").click()
    review = phone.wait_for_selector("[data-testid='orders-review']")
    assert "amount over the limit" in review.inner_text()
    phone.get_by_test_id("orders-approve").click()
    phone.wait_for_function("document.querySelector('[data-testid=orders-status]')?.textContent === 'reserved'")
    assert phone.query_selector("[data-testid='orders-review']") is None
    assert phone.errors == []
