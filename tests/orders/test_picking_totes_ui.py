"""Browser: a batch of orders is picked into one tote per order — the walk sets the cart up (tote → order), every
pick says which tote it goes in and the walk shows its progress (x of y); packing then lists the orders waiting
to be packed, and one tap opens one."""

from __future__ import annotations

import pytest
import requests

from tests.support.orders import order_body, store
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser


def test_batch_pick_says_the_tote_and_progress_then_packing_lists_the_orders(phone, hub_server):
    store(hub_server.app.extensions["storehub"], hub_server.sample)
    api = hub_server.url + "/api/v1"
    token = requests.post(f"{api}/auth/login", json={"user": "supervisor", "pin": "2222"}, timeout=30).json()["token"]
    hdr = {"Authorization": f"Bearer {token}"}
    a = requests.post(
        f"{api}/orders", headers=hdr, timeout=30, json=order_body("WEB-T1", [{"sku": "RICE-5KG", "qty": 1}])
    ).json()
    b = requests.post(
        f"{api}/orders", headers=hdr, timeout=30, json=order_body("WEB-T2", [{"sku": "OATMILK-1L", "qty": 2}])
    ).json()
    assert a["status"] == b["status"] == "allocated"
    totes = {a["code"]: 1, b["code"]: 2} if a["ref"] < b["ref"] else {a["code"]: 2, b["code"]: 1}

    phone.set_default_timeout(30000)
    login(phone)
    phone.get_by_test_id("tile-pick").click()
    phone.get_by_test_id("pick-next").click()
    phone.wait_for_selector("[data-testid='walk-totes']")
    rows = phone.get_by_test_id("walk-tote-row").all_inner_texts()
    assert sorted(" ".join(r.split()) for r in rows) == sorted(f"Tote {n} {code}" for code, n in totes.items())
    assert phone.get_by_test_id("walk-progress").inner_text() == "0 of 2 picked"
    shot(phone, "orders-totes-01-cart")

    # both picks are at B01-01 (rice, then oat drink by SKU); each says its order's tote
    for _ in range(2):
        name = phone.get_by_test_id("walk-item-name").inner_text()
        order = a if name.startswith("Rice") else b
        assert phone.get_by_test_id("walk-tote").inner_text() == f"→ tote {totes[order['code']]}"
        done = int(phone.get_by_test_id("walk-progress").inner_text().split()[0])
        scan(phone, "SHL-B01-01")
        phone.wait_for_selector("text=Scan the item")
        scan(phone, "96385074" if order is a else "4006381333931")
        if order is b:
            phone.get_by_test_id("walk-confirm").click()
        phone.wait_for_function(
            "(d) => { const p = document.querySelector('[data-testid=walk-progress]');"
            " return p && p.textContent.startsWith(String(d + 1) + ' of 2'); }",
            arg=done,
        )
    phone.wait_for_selector("[data-testid='walk-done']")
    assert phone.get_by_test_id("walk-progress").inner_text() == "2 of 2 picked"

    phone.get_by_test_id("walk-to-pack").click()
    phone.wait_for_selector("[data-testid='pack-waiting-row']")
    assert phone.get_by_test_id("pack-waiting-count").inner_text() == "2 orders to pack"
    # read the rows in one step once both are there (the list may be re-rendered by a live refresh meanwhile)
    codes = phone.wait_for_function(
        "() => { const r = [...document.querySelectorAll('[data-testid=pack-waiting-row]')];"
        " return r.length === 2 ? r.map((e) => e.innerText.trim().split(/\\s+/)[0]) : null; }"
    ).json_value()
    assert sorted(codes) == sorted([a["code"], b["code"]])
    shot(phone, "orders-totes-02-to-pack")
    phone.get_by_test_id("pack-waiting-row").filter(has_text=a["code"]).click()
    phone.wait_for_selector("[data-testid='pack-lines']")
    assert phone.get_by_test_id("pack-ref").inner_text() == a["code"]
    assert phone.errors == []
